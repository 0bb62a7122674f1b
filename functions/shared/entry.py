"""The same entry-point wiring for every HTTP function: environment validated at cold start, then the
logger context with the API Gateway request id as correlation id, then the resolver.

No Tracer import: X-Ray tracing is switched on per function in the stack (``Tracing.ACTIVE``); importing
Powertools' Tracer alone costs ~310 ms of cold start here (docs/decision_log.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths


def http_entry(
    app: Any, env_loader: Callable[[], Any], logger: Logger
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        env_loader()  # validated once per cold start (cached), fails loudly on a broken deployment
        return app.resolve(event, context)

    return handler

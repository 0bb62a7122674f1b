"""The same entry-point wiring for every HTTP function: environment validated at cold start, then the
logger context with the API Gateway request id as correlation id, then the resolver.

No Tracer import: X-Ray tracing is switched on per function in the stack (``Tracing.ACTIVE``); importing
Powertools' Tracer alone costs ~310 ms of cold start here (docs/decision_log.md).
"""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.shared import ratelimit
from functions.shared.auth import PENDING_ROUTES, pending_error
from functions.shared.errors import BadRequest, Unauthorized, UnsupportedMediaType, problem_result
from functions.shared.jsontypes import LambdaEvent
from functions.shared.limits import json_limit_violation


def _utf8(b64: str) -> bool:
    import base64
    import binascii

    try:
        base64.b64decode(b64, validate=True).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return False
    return True


def _text(event: LambdaEvent) -> str:
    import base64

    body = str(event["body"])
    return base64.b64decode(body).decode("utf-8") if event.get("isBase64Encoded") else body


def _json_content_type(headers: dict[str, str]) -> bool:
    ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    media = ctype.split(";")[0].strip().lower()
    return media in ("", "application/json") or media.endswith("+json")


def http_entry(
    app: APIGatewayHttpResolver, env_loader: Callable[[], object], logger: Logger
) -> Callable[[LambdaEvent, LambdaContext], LambdaEvent]:
    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    def handler(event: LambdaEvent, context: LambdaContext) -> LambdaEvent:
        env_loader()  # validated once per cold start (cached), fails loudly on a broken deployment
        ctx = ((event.get("requestContext") or {}).get("authorizer") or {}).get("lambda")
        if ctx is not None and "account_id" not in ctx:
            # The route has the authoriser and it found no valid key: 401 before any body validation.
            return Unauthorized("The API key is missing, not valid, revoked, or its account is suspended.").result()
        if ctx is not None and ctx.get("status") == "pending" and event.get("routeKey") not in PENDING_ROUTES:
            # an account awaiting approval reads itself and nothing else (issue 19): 403 before any body validation
            return problem_result(pending_error())
        limited = ratelimit.refused(event)  # per account, or per source IP without a key: 429 + Retry-After
        if limited is not None:
            return limited
        if event.get("body") and event.get("isBase64Encoded") and not _utf8(event["body"]):
            return BadRequest("The request body is not UTF-8 JSON.", code="malformed_json").result()
        if event.get("body") and not _json_content_type(event.get("headers") or {}):
            return UnsupportedMediaType("Send the request body as application/json.").result()
        if event.get("body"):
            too_big = json_limit_violation(_text(event))
            if too_big is not None:  # before any parse: Python's parser recurses per level (docs/api.md)
                return BadRequest(too_big, code="json_limits").result()
        return app.resolve(event, context)

    return handler

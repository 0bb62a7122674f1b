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


def _utf8(b64: str) -> bool:
    import base64
    import binascii

    try:
        base64.b64decode(b64, validate=True).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return False
    return True


def _json_content_type(headers: dict[str, str]) -> bool:
    ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    media = ctype.split(";")[0].strip().lower()
    return media in ("", "application/json") or media.endswith("+json")


def _problem_dict(status: int, title: str, detail: str, code: str) -> dict[str, Any]:
    import json

    body = {
        "type": f"https://imprimatur.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/problem+json"},
        "body": json.dumps(body, separators=(",", ":")),
    }


def _unauthorized() -> dict[str, Any]:
    body = (
        '{"type":"https://imprimatur.dev/problems/unauthorized","title":"Unauthorized","status":401,'
        '"detail":"The API key is missing, not valid, revoked, or its account is suspended.","code":"unauthorized"}'
    )
    return {"statusCode": 401, "headers": {"Content-Type": "application/problem+json"}, "body": body}


def http_entry(
    app: Any, env_loader: Callable[[], Any], logger: Logger
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        env_loader()  # validated once per cold start (cached), fails loudly on a broken deployment
        ctx = ((event.get("requestContext") or {}).get("authorizer") or {}).get("lambda")
        if ctx is not None and "account_id" not in ctx:
            # The route has the authoriser and it found no valid key: 401 before any body validation.
            return _unauthorized()
        if event.get("body") and event.get("isBase64Encoded") and not _utf8(event["body"]):
            return _problem_dict(400, "Malformed JSON", "The request body is not UTF-8 JSON.", "malformed_json")
        if event.get("body") and not _json_content_type(event.get("headers") or {}):
            return _problem_dict(
                415, "Unsupported media type", "Send the request body as application/json.", "unsupported_media_type"
            )
        return app.resolve(event, context)

    return handler

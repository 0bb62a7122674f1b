"""Typed API errors. Routes raise these; the resolver (``functions.shared.api``) maps each one to an
RFC 9457 ``application/problem+json`` response. Nothing matches on message strings."""

from __future__ import annotations

import json
from typing import Any

PROBLEM_JSON = "application/problem+json"


def problem_body(status: int, title: str, detail: str, code: str, extra: dict[str, Any] | None = None) -> str:
    """The RFC 9457 body every error of the API uses."""
    body: dict[str, Any] = {
        "type": f"https://imprimatur.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **(extra or {}),
    }
    return json.dumps(body, separators=(",", ":"))


class ApiError(Exception):
    status: int = 500
    code: str = "internal_error"
    title: str = "Internal error"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.extra = extra or {}
        self.headers = headers or {}

    def result(self) -> dict[str, Any]:
        """As a Lambda proxy result, for code that answers without the Powertools resolver."""
        return {
            "statusCode": self.status,
            "headers": {"Content-Type": PROBLEM_JSON, **self.headers},
            "body": problem_body(self.status, self.title, self.detail, self.code, self.extra),
        }


class BadRequest(ApiError):
    status, code, title = 400, "bad_request", "Bad request"


class Unauthorized(ApiError):
    status, code, title = 401, "unauthorized", "Unauthorized"


class PaymentRequired(ApiError):
    status, code, title = 402, "payment_required", "Payment required"


class Forbidden(ApiError):
    status, code, title = 403, "forbidden", "Forbidden"


class NotFound(ApiError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(ApiError):
    status, code, title = 409, "conflict", "Conflict"


class Gone(ApiError):
    status, code, title = 410, "gone", "Gone"


class UnsupportedMediaType(ApiError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


class Unprocessable(ApiError):
    status, code, title = 422, "unprocessable", "Unprocessable content"


class TooManyRequests(ApiError):
    status, code, title = 429, "too_many_requests", "Too many requests"

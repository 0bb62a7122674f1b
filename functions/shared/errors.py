"""The edge of the error model: domain faults (``functions.shared.faults``) to HTTP, in one table.

- ``HTTP`` maps each fault family to its status and title; ``status_of`` finds the nearest family of any fault.
- Handlers may raise the HTTP-named classes below (``NotFound``, ``Conflict``...): each *is* its domain family
  (``NotFound`` is a ``Missing``) and may add response headers, which only the edge knows about. Logic and data
  access never import this module (an import-linter contract in ``make lint``).
- The resolver (``functions.shared.api``) answers every fault with ``problem_body``; code that answers without the
  resolver (the entry wrapper, the delivery route) uses ``problem_result``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from functions.shared.faults import (
    Fault,
    InvalidInput,
    Missing,
    NotAllowed,
    PaymentNeeded,
    RateLimited,
    RuleViolated,
    StateConflict,
    Unauthenticated,
    Unavailable,
    UnsupportedContent,
    Withdrawn,
)

PROBLEM_JSON = "application/problem+json"

HTTP: dict[type[Fault], tuple[int, str]] = {
    InvalidInput: (400, "Bad request"),
    Unauthenticated: (401, "Unauthorized"),
    PaymentNeeded: (402, "Payment required"),
    NotAllowed: (403, "Forbidden"),
    Missing: (404, "Not found"),
    StateConflict: (409, "Conflict"),
    Withdrawn: (410, "Gone"),
    UnsupportedContent: (415, "Unsupported media type"),
    RuleViolated: (422, "Unprocessable content"),
    RateLimited: (429, "Too many requests"),
    Unavailable: (503, "Service unavailable"),
    Fault: (500, "Internal error"),
}


def status_of(exc: Fault) -> tuple[int, str]:
    """Status and title of the nearest family in the table (every fault has one: ``Fault`` itself is 500)."""
    for family, answer in HTTP.items():  # the families are disjoint; ``Fault`` comes last
        if isinstance(exc, family):
            return answer
    return HTTP[Fault]


def headers_of(exc: Fault) -> dict[str, str]:
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.retry_after_s is not None:
        headers.setdefault("Retry-After", str(max(1, int(exc.retry_after_s))))
    return headers


def problem_body(status: int, title: str, detail: str, code: str, extra: Mapping[str, object] | None = None) -> str:
    """The RFC 9457 body every error of the API uses."""
    body: dict[str, object] = {
        "type": f"https://imprimatur.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **(extra or {}),
    }
    return json.dumps(body, separators=(",", ":"))


def problem_result(exc: Fault) -> dict[str, object]:
    """A fault as a Lambda proxy result, for code that answers without the Powertools resolver."""
    status, title = status_of(exc)
    return {
        "statusCode": status,
        "headers": {"Content-Type": PROBLEM_JSON, **headers_of(exc)},
        "body": problem_body(status, title, exc.detail, exc.code, exc.extra),
    }


class ApiError(Fault):
    """A fault raised at the edge, which may carry response headers (a 402's payment offers)."""

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        extra: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
        retry_after_s: int | None = None,
    ) -> None:
        super().__init__(detail, code=code, extra=extra, retry_after_s=retry_after_s)
        self.headers = dict(headers or {})

    @property
    def status(self) -> int:
        return status_of(self)[0]

    @property
    def title(self) -> str:
        return status_of(self)[1]

    def result(self) -> dict[str, object]:
        return problem_result(self)


class BadRequest(ApiError, InvalidInput):
    pass


class Unauthorized(ApiError, Unauthenticated):
    pass


class PaymentRequired(ApiError, PaymentNeeded):
    pass


class Forbidden(ApiError, NotAllowed):
    pass


class NotFound(ApiError, Missing):
    pass


class Conflict(ApiError, StateConflict):
    pass


class Gone(ApiError, Withdrawn):
    pass


class UnsupportedMediaType(ApiError, UnsupportedContent):
    pass


class Unprocessable(ApiError, RuleViolated):
    pass


class TooManyRequests(ApiError, RateLimited):
    pass

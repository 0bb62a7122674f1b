"""Typed exceptions built from the API's RFC 9457 problem responses."""

from __future__ import annotations

from typing import Any


class ImprimaturError(Exception):
    """Any failure talking to the marketplace. ``status`` is 0 for network errors."""

    status: int = 0

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        code: str = "error",
        title: str = "",
        errors: list[dict[str, Any]] | None = None,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        if status is not None:
            self.status = status
        self.detail, self.code, self.title = detail, code, title
        self.errors = errors or []
        self.body = body or {}
        self.headers = headers or {}

    def __str__(self) -> str:
        extra = "".join(f"\n  - {e.get('field') or e.get('location')}: {e.get('message')}" for e in self.errors)
        return f"{self.detail} ({self.status} {self.code}){extra}"


class TransportError(ImprimaturError):
    """The marketplace could not be reached (connection refused, timeout, DNS)."""


class BadRequest(ImprimaturError):
    status = 400


class Unauthorized(ImprimaturError):
    status = 401


class PaymentRequired(ImprimaturError):
    status = 402

    @property
    def offers(self) -> list[dict[str, Any]]:
        return list(self.body.get("offers", []))

    @property
    def crawler_price(self) -> str | None:
        return self.headers.get("crawler-price")


class Forbidden(ImprimaturError):
    status = 403


class NotFound(ImprimaturError):
    status = 404


class Conflict(ImprimaturError):
    status = 409


class Gone(ImprimaturError):
    status = 410


class ValidationFailed(ImprimaturError):
    status = 422


class RateLimited(ImprimaturError):
    status = 429


class ServerError(ImprimaturError):
    status = 500


class VerificationFailed(ImprimaturError):
    """A downloaded file or a certificate did not verify."""


_BY_STATUS: dict[int, type[ImprimaturError]] = {
    400: BadRequest,
    401: Unauthorized,
    402: PaymentRequired,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: ValidationFailed,
    429: RateLimited,
}


def from_response(status: int, body: Any, headers: dict[str, str]) -> ImprimaturError:
    data = body if isinstance(body, dict) else {}
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else ImprimaturError)
    detail = str(data.get("detail") or data.get("message") or f"HTTP {status}")
    return cls(
        detail,
        status=status,
        code=str(data.get("code") or "error"),
        title=str(data.get("title") or ""),
        errors=data.get("errors"),
        body=data,
        headers=headers,
    )

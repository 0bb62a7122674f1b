"""Typed exceptions built from the API's RFC 9457 problem responses."""

from __future__ import annotations

from typing import Any


class ImprimaturError(Exception):
    """Any failure talking to the marketplace. ``status`` is 0 for network errors.

    ``request_id`` identifies the request: the id the server answered with (``apigw-requestid`` in AWS,
    ``x-request-id`` or ``x-amzn-requestid``) when it sent one, else the ``X-Request-Id`` the SDK sent. It is part of
    the message, so a pasted error is enough for an operator to find the request in the logs.
    """

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
        request_id: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.request_id = request_id
        if status is not None:
            self.status = status
        self.detail, self.code, self.title = detail, code, title
        self.errors = errors or []
        self.body = body or {}
        self.headers = headers or {}

    def __str__(self) -> str:
        extra = "".join(f"\n  - {e.get('field') or e.get('location')}: {e.get('message')}" for e in self.errors)
        rid = f", request {self.request_id}" if self.request_id else ""
        return f"{self.detail} ({self.status} {self.code}{rid}){extra}"


class TransportError(ImprimaturError):
    """The marketplace could not be reached (connection refused, timeout, DNS)."""


class MissingExtra(ImportError):
    """An optional part of the SDK was used without its extra installed; the message names the ``pip`` line."""

    def __init__(self, feature: str, extra: str, module: str) -> None:
        super().__init__(
            f"{feature} needs the '{extra}' extra ({module} is not installed): pip install 'imprimatur-client[{extra}]'"
        )
        self.extra = extra


class BadRequest(ImprimaturError):
    """400: malformed JSON, a tampered cursor, a bad header."""

    status = 400


class Unauthorized(ImprimaturError):
    """401: the API key is missing, wrong, revoked, or its account is suspended."""

    status = 401


class PaymentRequired(ImprimaturError):
    """402: no licence covers this use; ``offers`` lists what would, ``crawler_price`` the per-access price."""

    status = 402

    @property
    def offers(self) -> list[dict[str, Any]]:
        """The offers that would license this use."""
        return list(self.body.get("offers", []))

    @property
    def crawler_price(self) -> str | None:
        """The per-access price (``USD 0.010000``) when pay per crawl applies, else None."""
        return self.headers.get("crawler-price")


class Forbidden(ImprimaturError):
    """403: the role is wrong, or the licence is revoked, cancelled, expired or out of budget (see ``code``)."""

    status = 403


class NotFound(ImprimaturError):
    """404: no such resource, or it belongs to someone else."""

    status = 404


class Conflict(ImprimaturError):
    """409: the request conflicts with the current state (retired offer, licence not active, ...)."""

    status = 409


class Gone(ImprimaturError):
    """410: the asset was withdrawn."""

    status = 410


class ValidationFailed(ImprimaturError):
    """422: invalid fields; ``errors`` lists them."""

    status = 422


class RateLimited(ImprimaturError):
    """429: too many requests (retried automatically before this is raised)."""

    status = 429


class ServerError(ImprimaturError):
    """5xx: the marketplace failed (retried automatically before this is raised)."""

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


def from_response(status: int, body: Any, headers: dict[str, str], request_id: str | None = None) -> ImprimaturError:
    """The typed exception for a problem+json answer."""
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
        request_id=request_id,
    )

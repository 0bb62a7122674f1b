"""Typed exceptions built from the API's RFC 9457 problem responses."""

from __future__ import annotations

from typing import Any, ClassVar


class ImprimaturError(Exception):
    """Any failure talking to the marketplace. ``status`` is 0 for network errors.

    ``request_id`` identifies the request: the id the server answered with (``apigw-requestid`` in AWS,
    ``x-request-id`` or ``x-amzn-requestid``) when it sent one, else the ``X-Request-Id`` the SDK sent. It is part of
    the message, so a pasted error is enough for an operator to find the request in the logs.
    """

    status: int = 0
    code_name: ClassVar[str] = ""  # the problem ``code`` a subclass stands for (see ``BY_CODE``)

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
    """403: the role is wrong, or the licence cannot serve. The licence cases have their own subclasses:
    ``BudgetExhausted`` and ``LicenseEnded`` (``LicenseRevoked``, ``LicenseCancelled``, ``LicenseLapsed``,
    ``LicenseExpired``)."""

    status = 403


class NotFound(ImprimaturError):
    """404: no such resource, or it belongs to someone else."""

    status = 404


class Conflict(ImprimaturError):
    """409: the request conflicts with the current state (retired offer, ...); ``LicenseNotActive``,
    ``BudgetReserved`` and ``PeriodOpen`` are subclasses."""

    status = 409


class Gone(ImprimaturError):
    """410: the asset was withdrawn."""

    status = 410


class ValidationFailed(ImprimaturError):
    """422: invalid fields (``errors`` lists them), or a rule on the values: ``BudgetBelowPrice`` and
    ``CapBelowSpent`` are subclasses."""

    status = 422


class RateLimited(ImprimaturError):
    """429: too many requests (retried automatically before this is raised)."""

    status = 429


class ServerError(ImprimaturError):
    """5xx: the marketplace failed (retried automatically before this is raised)."""

    status = 500


class VerificationFailed(ImprimaturError):
    """A downloaded file or a certificate did not verify."""


# ------------------------------------------------------------------------------------------------- by code
# API 1.1: one class per problem ``code`` a program may want to handle on its own. Each subclasses the class of its
# HTTP status, so ``except Forbidden`` still catches ``BudgetExhausted``.


class BudgetExhausted(Forbidden):
    """403 ``budget_exhausted``: the charge would take the licence past its ``budget_cap_micros``; nothing was charged.
    Raise the cap (``Client.set_budget_cap``) or use another licence. ``license_id`` names the licence when the server
    says which."""

    code_name = "budget_exhausted"

    @property
    def license_id(self) -> str | None:
        """The licence whose budget ran out, when the answer names it."""
        value = self.body.get("license_id")
        return str(value) if value else None


class LicenseEnded(Forbidden):
    """403: the only licence covering this asset and use is no longer active (the base of ``LicenseRevoked``,
    ``LicenseCancelled``, ``LicenseLapsed`` and ``LicenseExpired``). Nothing was charged."""

    code_name = ""

    @property
    def license_id(self) -> str | None:
        """The licence that ended, when the answer names it."""
        value = self.body.get("license_id")
        return str(value) if value else None


class LicenseRevoked(LicenseEnded):
    """403 ``license_revoked``: the publisher revoked the licence; pay per crawl never replaces it."""

    code_name = "license_revoked"


class LicenseCancelled(LicenseEnded):
    """403 ``license_cancelled``: the buyer cancelled the licence; take a new one (or pay per crawl)."""

    code_name = "license_cancelled"


class LicenseLapsed(LicenseEnded):
    """403 ``license_lapsed``: a subscription renewal would have exceeded the budget cap, so the licence lapsed instead
    of charging. Raising the cap (``Client.set_budget_cap``) makes it active again."""

    code_name = "license_lapsed"


class LicenseExpired(LicenseEnded):
    """403 ``license_expired``: the licence's term is over; take a new one (or pay per crawl)."""

    code_name = "license_expired"


class LicenseNotActive(Conflict):
    """409 ``license_not_active``: certificates are issued only for active licences."""

    code_name = "license_not_active"


class BudgetReserved(Conflict):
    """409 ``budget_reserved``: the new cap is below what deliveries in flight have reserved. Reservations expire
    within a minute: ``retry_after`` says when to try again (``set_budget_cap`` already retries within ``max_wait``)."""

    code_name = "budget_reserved"

    @property
    def retry_after(self) -> float | None:
        """Seconds the server asked to wait (its ``Retry-After``), if it said."""
        value = {k.lower(): v for k, v in self.headers.items()}.get("retry-after", "")
        try:
            return float(value)
        except ValueError:
            return None


class PeriodOpen(Conflict):
    """409 ``period_open``: a pool's revenue is distributed only for a closed period (``Client.close_period``, or the
    monthly job on the 1st); nothing was distributed."""

    code_name = "period_open"


class BudgetBelowPrice(ValidationFailed):
    """422 ``budget_below_price``: a flat or subscription offer costs more than the ``budget_cap_micros`` asked for,
    so no licence was taken and nothing was charged. Give a cap of at least the price, or none."""

    code_name = "budget_below_price"


class CapBelowSpent(ValidationFailed):
    """422 ``cap_below_spent``: a budget cap cannot be set below what was already charged on the licence
    (its ``spent_micros``)."""

    code_name = "cap_below_spent"

    @property
    def spent_micros(self) -> int | None:
        """What the licence has spent, when the answer says (the lowest cap it accepts)."""
        value = self.body.get("spent_micros")
        return int(value) if isinstance(value, int) else None


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
BY_CODE: dict[str, type[ImprimaturError]] = {
    cls.code_name: cls
    for cls in (
        BudgetExhausted,
        LicenseRevoked,
        LicenseCancelled,
        LicenseLapsed,
        LicenseExpired,
        LicenseNotActive,
        BudgetReserved,
        PeriodOpen,
        BudgetBelowPrice,
        CapBelowSpent,
    )
}
"""The class of each problem ``code`` that has its own (used only when the status is the class's own)."""


def from_response(status: int, body: Any, headers: dict[str, str], request_id: str | None = None) -> ImprimaturError:
    """The typed exception for a problem+json answer: the class of its ``code`` when it has one (and the status
    agrees), else the class of its status."""
    data = body if isinstance(body, dict) else {}
    code = str(data.get("code") or "error")
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else ImprimaturError)
    if status == 403 and "code" not in data and data.get("message") == "Forbidden":
        # API Gateway's own answer when the authoriser denies a key (a deny is cached, so a bad key never reaches
        # a function twice in a minute): the key is the problem, as with our 401 (docs/api.md)
        cls, code = Unauthorized, "unauthorized"
    by_code = BY_CODE.get(code)
    if by_code is not None and by_code.status == status:
        cls = by_code
    detail = str(data.get("detail") or data.get("message") or f"HTTP {status}")
    return cls(
        detail,
        status=status,
        code=code,
        title=str(data.get("title") or ""),
        errors=data.get("errors"),
        body=data,
        headers=headers,
        request_id=request_id,
    )

"""The caller, as the authoriser (or an ``optional`` route) established it, and role checks."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from functions.shared.faults import NotAllowed, Unauthenticated
from functions.shared.jsontypes import LambdaEvent

Role = Literal["publisher", "buyer", "admin"]
ROLES: tuple[Role, ...] = ("publisher", "buyer", "admin")
KEY_PREFIX = "imp_"


def hash_key(api_key: str) -> str:
    """API keys are 256-bit random secrets, so one SHA-256 is enough (no password stretching needed)."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def bearer(headers: dict[str, str] | None) -> str | None:
    value = (headers or {}).get("authorization") or (headers or {}).get("Authorization")
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


@dataclass(frozen=True)
class Principal:
    account_id: str
    roles: frozenset[str]
    key_id: str
    pending: bool = False
    """The account awaits an operator's approval (issue 19): its key may read its own account and nothing else."""

    def has(self, role: Role) -> bool:
        return role in self.roles

    def require(self, *roles: Role) -> Principal:
        """Raise 403 unless the caller holds at least one of ``roles``."""
        if not any(r in self.roles for r in roles):
            raise NotAllowed(f"This call needs the {' or '.join(roles)} role.", code="insufficient_role")
        return self

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def to_context(self) -> dict[str, str]:
        ctx = {"account_id": self.account_id, "roles": ",".join(sorted(self.roles)), "key_id": self.key_id}
        if self.pending:
            ctx["status"] = "pending"
        return ctx

    @classmethod
    def from_context(cls, ctx: LambdaEvent) -> Principal:
        return cls(
            account_id=str(ctx["account_id"]),
            roles=frozenset(r for r in str(ctx.get("roles", "")).split(",") if r),
            key_id=str(ctx.get("key_id", "")),
            pending=ctx.get("status") == "pending",
        )


def principal_from_event(event: LambdaEvent) -> Principal | None:
    """The caller named by the gateway authoriser's context, or None on an unauthenticated route."""
    ctx = ((event.get("requestContext") or {}).get("authorizer") or {}).get("lambda")
    if not ctx or "account_id" not in ctx:
        return None
    return Principal.from_context(ctx)


def require_principal(event: LambdaEvent, *, allow_pending: bool = False) -> Principal:
    """The caller; 401 without one. A pending (not yet approved) account gets 403 ``account_pending`` unless the
    route allows it (reading its own account: ``GET /v1/me``)."""
    p = principal_from_event(event)
    if p is None:
        raise Unauthenticated("A valid API key is required: send 'Authorization: Bearer <api_key>'.")
    if p.pending and not allow_pending:
        raise_pending()
    return p


PENDING_ROUTES = frozenset({"GET /v1/me"})
"""The only routes a pending account's key may call (the HTTP entry refuses the others before reading the body)."""


def pending_error() -> NotAllowed:
    return NotAllowed(
        "This account awaits an operator's approval; until then its key can only read the account (GET /v1/me).",
        code="account_pending",
    )


def raise_pending() -> None:
    raise pending_error()

"""Self sign-up rules (issue 19): no enumeration, links that work once, mail rate limits, approval.

- ``signup`` answers the same for a known and a new address: both count against the same rate limits and both send
  exactly one mail (a verification link to a new address; a "you already have an account" note to a known one), so
  neither the status, the body nor the work done tells them apart.
- The link carries a 256-bit random token in its fragment (``/v1/signup/verify#token=...``): the fragment is never sent
  to a server, so neither access logs nor a mail scanner's pre-fetch see it, and ``GET`` of the page never activates
  anything (the page's button POSTs the token). Only its SHA-256 is stored; it expires after ``LINK_HOURS``.
- Rate limits: at most ``per_address_per_day`` mails to one address and ``per_day`` mails in all per UTC day;
  beyond, ``429`` with ``Retry-After`` (seconds to the next UTC midnight).
- Approval: when one of the account's roles is in ``approval_roles``, the account is created ``pending``: its key
  reads ``GET /v1/me`` and nothing else until an admin approves it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import urlencode

from functions.accounts.logic.accounts import _new_key
from functions.accounts.logic.mail import Locale, Mail, already_registered_mail, verification_mail
from functions.accounts.models.domain import Account, ApiKey
from functions.accounts.models.signup import SignupRequest, Verification
from functions.shared import clock
from functions.shared.faults import Missing, RateLimited, StateConflict, Withdrawn
from functions.shared.ids import new_id

LINK_HOURS = 24
VERIFY_PATH = "/v1/signup/verify"


@dataclass(frozen=True)
class SignupConfig:
    base_url: str
    approval_roles: frozenset[str] = frozenset()
    per_address_per_day: int = 3
    per_day: int = 200


class Counters(Protocol):
    def increment_below(self, key: str, limit: int, ttl: int) -> bool: ...


class MailPort(Protocol):
    def send(self, mail: Mail) -> None: ...


class SignupStorePort(Counters, Protocol):
    def email_taken(self, email: str) -> bool: ...
    def put_verification(self, v: Verification, ttl: int) -> None: ...
    def get_verification(self, token_hash: str) -> Verification | None: ...
    def activate(
        self, v: Verification, account: Account, first_key: ApiKey, now_iso: str, extra: dict[str, object]
    ) -> str: ...


# --- tokens
def new_token() -> str:
    return secrets.token_urlsafe(32)  # 256 bits, 43 characters


def token_hash(token: str) -> str:
    """One SHA-256 is enough for a 256-bit random secret (as for API keys); the token itself is never stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def verify_link(base_url: str, token: str, locale: Locale) -> str:
    return f"{base_url}{VERIFY_PATH}?{urlencode({'lang': locale})}#token={token}"


# --- rate limits
def next_midnight(now: datetime) -> datetime:
    return datetime(now.year, now.month, now.day, tzinfo=now.tzinfo) + timedelta(days=1)


def retry_after_seconds(now: datetime) -> int:
    return max(1, int((next_midnight(now) - now).total_seconds() + 0.999))


def take_mail_quota(counters: Counters, email: str, now: datetime, config: SignupConfig) -> None:
    """Count one mail to ``email`` today, or raise 429 when the address's or the day's quota is used up. The address is
    counted first: when the day's cap then refuses, that address has used one of its mails (a refusal never lets more
    mail through than the caps)."""
    day = now.strftime("%Y-%m-%d")
    ttl = int(next_midnight(now).timestamp()) + 86400
    address = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    refused = None
    if not counters.increment_below(f"signup#{address}#{day}", config.per_address_per_day, ttl):
        refused = f"At most {config.per_address_per_day} sign-up mails per address and day."
    elif not counters.increment_below(f"signup#all#{day}", config.per_day, ttl):
        refused = "This marketplace has sent all the sign-up mails it sends in a day."
    if refused:
        raise RateLimited(
            f"{refused} Try again after midnight UTC.",
            code="rate_limited",
            retry_after_s=retry_after_seconds(now),
        )


# --- sign-up and activation
def signup(store: SignupStorePort, mailer: MailPort, req: SignupRequest, locale: Locale, config: SignupConfig) -> None:
    now = clock.now()
    take_mail_quota(store, req.email, now, config)
    if store.email_taken(req.email):
        mailer.send(already_registered_mail(locale, req.email))
        return
    token = new_token()
    expires = now + timedelta(hours=LINK_HOURS)
    v = Verification(
        token_hash=token_hash(token),
        name=req.name,
        email=req.email,
        roles=sorted(set(req.roles)),
        organisation=req.organisation,
        website=req.website,
        locale=locale,
        created_at=clock.iso(now),
        expires_at=clock.iso(expires),
    )
    store.put_verification(v, ttl=int(expires.timestamp()) + 86400)
    mailer.send(
        verification_mail(locale, req.email, req.name, v.roles, verify_link(config.base_url, token, locale), LINK_HOURS)
    )


def _link_invalid() -> Withdrawn:
    return Withdrawn(
        "This link is not valid: it was already used, it expired, or it was mistyped. Sign up again to get a new one.",
        code="link_invalid",
    )


def activate(store: SignupStorePort, token: str, config: SignupConfig) -> tuple[Account, str]:
    """Consume the link's token: the account (``active``, or ``pending`` when one of its roles needs approval) and its
    first API key, shown this once."""
    now = clock.now()
    v = store.get_verification(token_hash(token)) if 20 <= len(token) <= 100 else None
    if v is None or clock.parse_iso(v.expires_at) <= now:
        raise _link_invalid()
    pending = bool(set(v.roles) & config.approval_roles)
    account = Account(
        id=new_id("acct"),
        name=v.name,
        email=v.email,
        roles=sorted(set(v.roles)),
        status="pending" if pending else "active",
        created_at=clock.iso(now),
    )
    key, secret = _new_key(account.id)
    extra: dict[str, object] = {"organisation": v.organisation, "website": v.website, "locale": v.locale}
    profile = {k: val for k, val in (("display_name", v.organisation), ("website", v.website)) if val}
    if "publisher" in v.roles and profile:  # a publisher's public profile starts from what the sign-up said
        extra["profile"] = profile
    outcome = store.activate(v, account, key, clock.iso(now), extra)
    if outcome == "link_invalid":
        raise _link_invalid()
    if outcome == "email_taken":
        raise StateConflict("This address already has an account.", code="email_taken")
    return account, secret


class ApproveStore(Protocol):
    def approve_pending(self, account_id: str, by: str, at: str) -> Account | None: ...

    def get_account(self, account_id: str, *, consistent: bool = False) -> Account | None: ...


def approve(store: ApproveStore, admin_id: str, account_id: str) -> Account:
    """``pending`` -> ``active``, recording which admin approved it; 404 for no such account, 409 ``not_pending`` for an
    account in another status (approval never undoes a suspension)."""
    account = store.approve_pending(account_id, admin_id, clock.now_iso())
    if account is not None:
        return account
    current = store.get_account(account_id, consistent=True)
    if current is None:
        raise Missing("No such account.")
    raise StateConflict(
        f"The account is {current.status}, not pending.", code="not_pending", extra={"status": current.status}
    )

"""Certificate rules (API v1.1, "Certificates tell the truth").

- Only an ``active`` licence whose term has not passed gets a certificate; otherwise ``409 license_not_active``
  (a revoked licence's certificate is never signed again).
- Every certificate carries ``exp``: at most ``LIFETIME`` after it was issued, never past the licence's end; and
  ``status.status_list {idx, uri}``, the licence's one index in a Token Status List.
- Fetching a certificate renews it: a fresh one is signed unless the stored one still has more than
  ``REUSE_MIN_REMAINING`` to run, is signed by the current key, names the configured issuer and carries its status
  claim (docs/decision_log.md, 2026-11-29: a crawler fetching its certificate on every request must not turn into one
  KMS ``Sign`` per request; a reused certificate still has more than six of its seven days).
- The JWKS publishes a retired key until every certificate it could have signed has expired.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Protocol

from functions.licensing.logic import jws
from functions.licensing.logic.statuslist import status_claim
from functions.licensing.models.domain import License
from functions.licensing.models.keys import RetiredKey
from functions.shared.clock import parse_iso
from functions.shared.faults import StateConflict

LIFETIME = timedelta(days=7)
REUSE_MIN_REMAINING = timedelta(days=6)
RETIRED_KEY_GRACE = timedelta(days=1)
"""Beyond ``LIFETIME``: the deploy that retires a key takes time and clocks drift; a day covers both."""


class CertSigner(Protocol):
    @property
    def kid(self) -> str: ...

    def sign_digest(self, digest: bytes) -> bytes: ...


def is_active(lic: License, at: datetime) -> bool:
    return lic.status == "active" and not (lic.expires_at and at >= parse_iso(lic.expires_at))


def require_active(lic: License, at: datetime) -> None:
    if not is_active(lic, at):
        state = lic.status if lic.status != "active" else "expired"
        raise StateConflict(
            f"The licence is {state}: only an active licence has a certificate.", code="license_not_active"
        )


def expiry(lic: License, issued_at: datetime) -> datetime:
    end = issued_at + LIFETIME
    if lic.expires_at:
        end = min(end, parse_iso(lic.expires_at))
    return end


def claims(lic: License, issuer: str, ref: tuple[int, int], issued_at: datetime) -> dict[str, object]:
    iat = int(issued_at.timestamp())
    n, idx = ref
    return {
        "iss": issuer,
        "sub": lic.id,
        "jti": f"{lic.id}.{iat}",
        "license_id": lic.id,
        "buyer_id": lic.buyer_id,
        "publisher_id": lic.publisher_id,
        "offer_id": lic.offer_id,
        "scope": lic.scope,
        "use": lic.use,
        "terms_sha256": lic.terms_sha256,
        "iat": iat,
        "nbf": int(parse_iso(lic.starts_at).timestamp()),
        "exp": int(expiry(lic, issued_at).timestamp()),
        "status": status_claim(issuer, n, idx),
    }


def sign(lic: License, signer: CertSigner, issuer: str, ref: tuple[int, int], issued_at: datetime) -> str:
    require_active(lic, issued_at)
    return jws.sign_compact_digest(claims(lic, issuer, ref, issued_at), signer.kid, signer.sign_digest)


def reusable(stored: str, *, kid: str, issuer: str, at: datetime) -> bool:
    """May a stored certificate be handed out again instead of a fresh one?"""
    if not stored:
        return False
    try:
        header, body = jws.unverified_parts(stored)
    except ValueError:
        return False
    if header.get("kid") != kid or body.get("iss") != issuer or "status" not in body:
        return False
    exp = body.get("exp", 0)
    return isinstance(exp, int | float) and exp - at.timestamp() > REUSE_MIN_REMAINING.total_seconds()


def published_key_ids(current: str, retired: Iterable[RetiredKey], at: datetime) -> list[str]:
    """The keys the JWKS lists: the current one, then each retired one whose certificates may still be in term."""
    keep = [k.key_id for k in retired if at < k.retired_at + LIFETIME + RETIRED_KEY_GRACE and k.key_id != current]
    return [current, *dict.fromkeys(keep)]

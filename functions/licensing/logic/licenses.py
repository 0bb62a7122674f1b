"""Licence rules: grant (freezing the offer's terms, signing a certificate), read by the two parties, cancel, revoke."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from functions.catalog.dal import reader as catalog
from functions.licensing.dal.keys import Signer
from functions.licensing.dal.store import LicensingStore
from functions.licensing.logic import jws
from functions.licensing.models.domain import License
from functions.shared.auth import Principal
from functions.shared.clock import iso, now, parse_iso
from functions.shared.errors import Conflict, NotFound, Unprocessable
from functions.shared.ids import is_id, new_id
from functions.shared.uses import covers

TERMS_FIELDS = (
    "scope",
    "uses",
    "pricing",
    "term_days",
    "attribution_required",
    "territories",
    "user_types",
    "max_licenses",
)


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    return value


def frozen_terms(offer: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The offer's terms as frozen into a licence (absent fields omitted), and the SHA-256 of their canonical
    JSON (sorted keys, no spaces): anyone can recompute ``terms_sha256`` from ``license.terms``."""
    terms = _drop_none({"offer_id": offer["id"], **{k: offer.get(k) for k in TERMS_FIELDS}})
    return terms, hashlib.sha256(jws.canonical(terms)).hexdigest()


def certificate_claims(lic: License, issuer: str) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": lic.id,
        "jti": lic.id,
        "license_id": lic.id,
        "buyer_id": lic.buyer_id,
        "publisher_id": lic.publisher_id,
        "offer_id": lic.offer_id,
        "scope": lic.scope,
        "use": lic.use,
        "terms_sha256": lic.terms_sha256,
        "iat": int(parse_iso(lic.created_at).timestamp()),
        "nbf": int(parse_iso(lic.starts_at).timestamp()),
    }
    if lic.expires_at:
        claims["exp"] = int(parse_iso(lic.expires_at).timestamp())
    return claims


def sign_certificate(lic: License, signer: Signer, issuer: str) -> str:
    return jws.sign_compact(certificate_claims(lic, issuer), signer.jwk()["kid"], signer.sign_raw)


def check_offer(offer: dict[str, Any] | None, use: str) -> dict[str, Any]:
    if offer is None:
        raise NotFound("No such offer.")
    if offer["status"] != "active":
        raise Conflict("This offer is retired.", code="offer_retired")
    if not covers(offer["uses"], use):
        raise Unprocessable(
            f"The offer does not grant the use {use!r}; it grants {', '.join(offer['uses'])}.", code="use_not_granted"
        )
    if offer["scope"]["type"] == "asset":
        asset = catalog.get_asset(offer["scope"]["id"])
        if asset is None or asset["status"] == "withdrawn":
            raise Conflict("The offered asset was withdrawn.", code="asset_withdrawn")
        if asset["status"] != "available":
            raise Conflict("The offered asset is not available.", code="asset_unavailable")
    return offer


def build_license(
    buyer_id: str, offer: dict[str, Any], use: str, budget_cap: int | None, *, pay_per_crawl: bool = False
) -> License:
    created = now()
    terms, terms_hash = frozen_terms(offer)
    expires = iso(created + timedelta(days=offer["term_days"])) if offer.get("term_days") else None
    return License(
        id=new_id("lic"),
        buyer_id=buyer_id,
        publisher_id=offer["publisher_id"],
        offer_id=offer["id"],
        scope=offer["scope"],
        use=use,
        terms=terms,
        terms_sha256=terms_hash,
        status="active",
        budget_cap_micros=budget_cap,
        starts_at=iso(created),
        expires_at=expires,
        created_at=iso(created),
        pay_per_crawl=pay_per_crawl,
        certificate="",
    )


def charge_message(lic: License) -> dict[str, Any] | None:
    """The charge a grant books: the price of a flat licence, or the first period of a subscription."""
    pricing = lic.terms["pricing"]
    if pricing["model"] not in ("flat", "subscription") or not pricing.get("amount_micros"):
        return None
    charge_id = f"grant:{lic.id}" if pricing["model"] == "flat" else f"sub:{lic.id}:0"
    return {
        "kind": "charge",
        "charge_id": charge_id,
        "buyer_id": lic.buyer_id,
        "publisher_id": lic.publisher_id,
        "license_id": lic.id,
        "asset_id": lic.scope["id"] if lic.scope["type"] == "asset" else None,
        "pool_id": lic.scope["id"] if lic.scope["type"] == "pool" else None,
        "amount_micros": int(pricing["amount_micros"]),
        "currency": pricing["currency"],
        "reason": pricing["model"],
        "occurred_at": lic.created_at,
    }


def for_party(store: LicensingStore, caller: Principal, license_id: str) -> License:
    lic = store.get(license_id, consistent=True) if is_id(license_id, "lic") else None
    if lic is None or caller.account_id not in (lic.buyer_id, lic.publisher_id):
        raise NotFound("No such licence.")
    return lic


def cancel(store: LicensingStore, caller: Principal, license_id: str) -> License:
    lic = for_party(store, caller, license_id)
    if lic.buyer_id != caller.account_id:
        raise NotFound("No such licence.")  # the publisher revokes; only the buyer cancels
    return _end(store, lic, "cancelled", None)


def revoke(store: LicensingStore, caller: Principal, license_id: str, reason: str) -> License:
    lic = for_party(store, caller, license_id)
    if lic.publisher_id != caller.account_id:
        raise NotFound("No such licence.")
    return _end(store, lic, "revoked", reason)


def _end(store: LicensingStore, lic: License, status: str, reason: str | None) -> License:
    """End an active licence. Ending it again the same way (a retry) answers like the first time, so cancel and
    revoke are safe to repeat; ending it another way is a 409 naming its status."""
    if lic.status == status:
        return lic
    if lic.status != "active":
        raise Conflict(f"The licence is already {lic.status}.", code=f"license_{lic.status}")
    ended = store.end(lic.id, status, iso(now()), reason)
    if ended is None:  # ended concurrently: the same way is still a success
        again = store.get(lic.id, consistent=True)
        if again is not None and again.status == status:
            return again
        raise Conflict("The licence is no longer active.", code="license_not_active")
    return ended

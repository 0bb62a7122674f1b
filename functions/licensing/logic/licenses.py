"""Licence rules: grant (freezing the offer's terms, signing a certificate), read by the two parties, cancel, revoke."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from functions.catalog.dal import reader as catalog
from functions.licensing.dal import budget, outbox
from functions.licensing.dal.statuslist import mark_invalid, mark_valid
from functions.licensing.dal.store import LicensingStore
from functions.licensing.logic import jws
from functions.licensing.logic.budget import LEASE_TTL_S, reclaim
from functions.licensing.models.domain import License
from functions.shared.auth import Principal
from functions.shared.clock import iso, now, parse_iso
from functions.shared.faults import Missing, RuleViolated, StateConflict
from functions.shared.ids import is_id, new_id
from functions.shared.jsontypes import TransactItem
from functions.shared.uses import covers

if TYPE_CHECKING:
    from functions.catalog.dal.reader import OfferRecord
    from functions.metering.contracts import ChargeMessage

log = logging.getLogger("imprimatur.licensing")

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


def _drop_none(value: Mapping[str, object]) -> dict[str, object]:
    return {k: _drop_none(v) if isinstance(v, Mapping) else v for k, v in value.items() if v is not None}


def frozen_terms(offer: OfferRecord) -> tuple[dict[str, object], str]:
    """The offer's terms as frozen into a licence (absent fields omitted), and the SHA-256 of their canonical
    JSON (sorted keys, no spaces): anyone can recompute ``terms_sha256`` from ``license.terms``."""
    terms = _drop_none({"offer_id": offer["id"], **{k: offer.get(k) for k in TERMS_FIELDS}})
    return terms, hashlib.sha256(jws.canonical(terms)).hexdigest()


def check_offer(offer: OfferRecord | None, use: str) -> OfferRecord:
    if offer is None:
        raise Missing("No such offer.")
    if offer["status"] != "active":
        raise StateConflict("This offer is retired.", code="offer_retired")
    if not covers(offer["uses"], use):
        raise RuleViolated(
            f"The offer does not grant the use {use!r}; it grants {', '.join(offer['uses'])}.", code="use_not_granted"
        )
    if offer["scope"]["type"] == "asset":
        asset = catalog.get_asset(offer["scope"]["id"])
        if asset is None or asset["status"] == "withdrawn":
            raise StateConflict("The offered asset was withdrawn.", code="asset_withdrawn")
        if asset["status"] != "available":
            raise StateConflict("The offered asset is not available.", code="asset_unavailable")
    return offer


def build_license(
    buyer_id: str, offer: OfferRecord, use: str, budget_cap: int | None, *, pay_per_crawl: bool = False
) -> License:
    created = now()
    terms, terms_hash = frozen_terms(offer)
    term_days = offer.get("term_days")
    expires = iso(created + timedelta(days=term_days)) if term_days else None
    return License(
        id=new_id("lic"),
        buyer_id=buyer_id,
        publisher_id=offer["publisher_id"],
        offer_id=offer["id"],
        scope={"type": offer["scope"]["type"], "id": offer["scope"]["id"]},
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


def charge_message(lic: License, period: int = 0) -> ChargeMessage | None:
    """The charge a grant books: the price of a flat licence, or the first period of a subscription (``period``: the
    running period of a subscription reactivated after it lapsed, booked at that period's start)."""
    pricing = lic.pricing
    if pricing["model"] not in ("flat", "subscription") or not pricing.get("amount_micros"):
        return None
    charge_id = f"grant:{lic.id}" if pricing["model"] == "flat" else f"sub:{lic.id}:{period}"
    occurred = lic.created_at
    if period:
        days = int(pricing.get("period_days") or 0)
        occurred = iso(parse_iso(lic.starts_at) + timedelta(days=days * period))
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
        "occurred_at": occurred,
    }


def for_party(store: LicensingStore, caller: Principal, license_id: str) -> License:
    lic = store.get(license_id, consistent=True) if is_id(license_id, "lic") else None
    if lic is None or caller.account_id not in (lic.buyer_id, lic.publisher_id):
        raise Missing("No such licence.")
    return lic


def cancel(store: LicensingStore, caller: Principal, license_id: str) -> License:
    lic = for_party(store, caller, license_id)
    if lic.buyer_id != caller.account_id:
        raise Missing("No such licence.")  # the publisher revokes; only the buyer cancels
    return _end(store, lic, "cancelled", None)


def revoke(store: LicensingStore, caller: Principal, license_id: str, reason: str) -> License:
    lic = for_party(store, caller, license_id)
    if lic.publisher_id != caller.account_id:
        raise Missing("No such licence.")
    return _end(store, lic, "revoked", reason)


def _end(store: LicensingStore, lic: License, status: str, reason: str | None) -> License:
    """End an active licence. Ending it again the same way (a retry) answers like the first time, so cancel and
    revoke are safe to repeat; ending it another way is a 409 naming its status. Either way the licence's status-list
    bit is set (a retry also repairs a crash between the end and the bit)."""
    if lic.status == status:
        mark_invalid(store.table, lic.id)
        return lic
    if lic.status != "active":
        raise StateConflict(f"The licence is already {lic.status}.", code=f"license_{lic.status}")
    ended = store.end(lic.id, status, iso(now()), reason, buyer_id=lic.buyer_id)
    if ended is None:  # ended concurrently: the same way is still a success
        again = store.get(lic.id, consistent=True)
        if again is not None and again.status == status:
            mark_invalid(store.table, lic.id)
            return again
        raise StateConflict("The licence is no longer active.", code="license_not_active")
    mark_invalid(store.table, lic.id)
    return ended


# ----------------------------------------------------------------------------- budget caps (API v1.1)
def budget_record(table: str, lic: License) -> list[TransactItem]:
    """The grant's budget record (transaction items) for a capped licence, reserving a flat price or a
    subscription's first period: ``budget_below_price`` when the cap cannot cover it."""
    cap = lic.budget_cap_micros
    if cap is None:
        return []
    pricing = lic.pricing
    upfront = int(pricing.get("amount_micros") or 0) if pricing["model"] in ("flat", "subscription") else 0
    if upfront > cap:
        raise RuleViolated(
            f"The offer costs {upfront} micros up front, above the budget cap of {cap}.", code="budget_below_price"
        )
    charge = charge_message(lic)
    return [budget.budget_put(table, lic.id, cap, upfront, charge["charge_id"] if charge else None)]


def current_period(lic: License, at: datetime) -> int:
    """Index of the subscription period running at ``at`` (0 before the first ends)."""
    days = int(lic.pricing.get("period_days") or 0)
    if days <= 0:
        return 0
    return max(0, int((at - parse_iso(lic.starts_at)).total_seconds() // (days * 86400)))


def set_cap(store: LicensingStore, lic: License, new_cap: int, spent: int, usage_queue_url: str) -> License:
    """PATCH a cap: never below what has been charged (``cap_below_spent``) nor below what live reservations hold
    (``budget_reserved``, retry after the lease TTL); raising the cap of a licence lapsed by it reactivates it."""
    old = lic.budget_cap_micros
    if old is None:
        raise RuleViolated("This licence has no budget cap; a cap is set when the licence is taken.", code="uncapped")
    if lic.status not in ("active", "lapsed"):
        raise StateConflict(f"The licence is {lic.status}.", code=f"license_{lic.status}")
    if new_cap < spent:
        raise RuleViolated(
            f"The cap cannot go below what has been charged ({spent} micros).",
            code="cap_below_spent",
            extra={"spent_micros": spent},
        )
    reactivate = lic.status == "lapsed" and new_cap > old
    when = now()
    reclaim(budget.DynamoBudgetStore(store.table), lic.id, when.timestamp())  # expired leases give back first
    period = current_period(lic, when) if reactivate else None
    # a reactivated subscription pays for the running period at once: the raised cap must cover it (else it would
    # deliver unpaid until the next renewal run lapsed it again)
    charge = charge_message(lic, period) if reactivate and period is not None else None
    created_at = iso(when)
    result = store.set_cap(
        lic,
        new_cap,
        reactivate=reactivate,
        renew_from=period,
        charge=(charge["charge_id"], int(charge["amount_micros"])) if charge else None,
        # the reserved charge's message is written with the reservation (as a grant's is): a send failing after the
        # transaction leaves it to the outbox relay instead of losing it (the period would be delivered unpaid)
        also=[outbox.put_item(store.table, charge, created_at, charge["charge_id"])] if charge else None,
    )
    if result == "insufficient":
        raise RuleViolated(
            f"To reactivate this licence the cap must also cover the running period "
            f"({charge['amount_micros'] if charge else 0} micros).",
            code="budget_below_price",
        )
    if result == "reserved":
        raise StateConflict(
            "Part of the budget is held by deliveries in flight; lower the cap again in a minute.",
            code="budget_reserved",
            retry_after_s=LEASE_TTL_S,
        )
    if result == "changed":
        raise StateConflict(
            "The licence changed while its cap was being set; read it and retry.", code="license_changed"
        )
    assert isinstance(result, License)
    if reactivate:
        mark_valid(store.table, lic.id)
    if charge is not None:
        try:
            outbox.relay(
                store.table, usage_queue_url, outbox.Pending(outbox.sort_key(created_at, charge["charge_id"]), charge)
            )
        except Exception:  # the cap, the reservation and the outbox item are committed: the relay sends the charge
            log.exception("reactivation charge left to the outbox relay", extra={"license_id": lic.id})
    return result

"""Buyer-reported usage: which events are accepted, duplicates, or rejected (and why), before they are queued."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from functions.licensing.logic.entitlement import covers_asset
from functions.metering.contracts import UsageMessage
from functions.metering.models.input import UsageEvent
from functions.shared import money
from functions.shared.clock import iso, now, parse_iso
from functions.shared.uses import covers

if TYPE_CHECKING:
    from functions.catalog.dal.reader import AssetRecord
    from functions.licensing.dal.reader import LicenseRecord

FUTURE_SKEW = timedelta(minutes=5)


def triage(
    buyer_id: str,
    events: list[UsageEvent],
    licences: dict[str, LicenseRecord],
    asset_of: Callable[[str], AssetRecord | None],
    known: set[str],
) -> tuple[list[UsageEvent], int, list[dict[str, str]]]:
    """Split events into (accepted, duplicate count, rejected [{event_id, code}]). ``known``: the event ids this buyer
    has already reported."""
    accepted: list[UsageEvent] = []
    rejected: list[dict[str, str]] = []
    duplicates = 0
    seen: set[str] = set()
    limit = iso(now() + FUTURE_SKEW)
    for ev in events:
        if ev.event_id in seen or ev.event_id in known:
            duplicates += 1
            continue
        seen.add(ev.event_id)
        occurred = iso(parse_iso(ev.occurred_at))
        lic = licences.get(ev.license_id)
        code = None
        if lic is None or lic["buyer_id"] != buyer_id:
            code = "unknown_license"
        elif occurred > limit:
            code = "in_future"
        elif occurred < lic["starts_at"] or ((expires_at := lic.get("expires_at")) and occurred >= expires_at):
            code = "outside_term"
        elif lic["status"] != "active" and occurred >= (
            lic.get("cancelled_at") or lic.get("revoked_at") or lic.get("lapsed_at") or ""
        ):
            code = "license_inactive"
        elif lic["terms"]["pricing"]["model"] != "per_unit":
            code = "not_unit_priced"  # API v1.1: reported units are priced units
        elif not covers([lic["use"]], ev.use):
            code = "use_not_covered"
        else:
            asset = asset_of(ev.asset_id)
            if asset is None or not covers_asset(lic, asset):
                code = "asset_not_covered"
        if code:
            rejected.append({"event_id": ev.event_id, "code": code})
        else:
            accepted.append(ev.model_copy(update={"occurred_at": occurred}))
    return accepted, duplicates, rejected


def message(buyer_id: str, ev: UsageEvent, publisher_id: str | None, pool_id: str | None) -> UsageMessage:
    return {
        "kind": "usage",
        "event_id": ev.event_id,
        "source": "report",
        "buyer_id": buyer_id,
        "license_id": ev.license_id,
        "asset_id": ev.asset_id,
        "publisher_id": publisher_id,
        "pool_id": pool_id,
        "use": ev.use,
        "units": ev.units,
        "occurred_at": ev.occurred_at,
    }


def charge_of(ev: UsageEvent, lic: LicenseRecord) -> int:
    """What the event will be charged: units x unit price (the metering consumer prices it the same way)."""
    return money.times(int(lic["terms"]["pricing"].get("amount_micros") or 0), ev.units)

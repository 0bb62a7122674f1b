"""Turning a usage or charge message into a priced ledger entry (pure: no I/O).

Prices come from the licence's frozen terms (docs/data-contracts.md): ``per_access`` prices each delivery,
``per_unit`` prices reported units, ``flat`` and ``subscription`` are charged by ``charge`` messages, ``free``
never. The platform fee is ``money.fee_split`` at the one configured rate. A pool licence pays the pool's
account (``pool_…``), which the monthly distribution passes on to its members.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, cast

from functions.metering.contracts import ChargeMessage, UsageMessage, UsageQueueMessage
from functions.metering.dal.keys import charge_key, event_key
from functions.metering.models.entry import PLATFORM, Entry
from functions.metering.models.records import Posting
from functions.shared import money
from functions.shared.typeddict import missing

if TYPE_CHECKING:
    from functions.licensing.dal.reader import LicenseRecord


RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|\+00:00)")
"""How every producer writes ``occurred_at`` (``functions.shared.clock.iso``; reported events are normalised at
``POST /v1/usage``): the entry's day and period are its first 10 and 7 characters."""


class PoisonMessage(ValueError):
    """A message that can never be processed (malformed, unknown licence): it goes to the DLQ after retries."""


def parse(raw: Mapping[str, object]) -> UsageQueueMessage:
    """The message as its contract (``functions.metering.contracts``): a known kind with every required field
    present, not null and not empty; otherwise poison."""
    kind = raw.get("kind")
    if kind not in ("usage", "charge"):
        raise PoisonMessage(f"unknown message kind {kind!r}")
    absent = missing(raw, UsageMessage if kind == "usage" else ChargeMessage)
    if absent:
        raise PoisonMessage(f"missing fields: {', '.join(absent)}")
    at = raw.get("occurred_at")
    if not isinstance(at, str) or not RFC3339.fullmatch(at):
        raise PoisonMessage(f"occurred_at is not an RFC 3339 UTC time: {at!r}")  # it names the day and the period
    return cast(UsageQueueMessage, raw)


def price(raw: Mapping[str, object], lic: LicenseRecord | None, fee_bps: int) -> Entry:
    msg = parse(raw)
    kind = msg["kind"]
    if lic is None:
        raise PoisonMessage(f"unknown licence {msg['license_id']}")
    if lic["buyer_id"] != msg["buyer_id"]:
        raise PoisonMessage("licence does not belong to the buyer")
    pricing = lic["terms"]["pricing"]
    currency = pricing.get("currency", "USD")
    pool_id = lic["scope"]["id"] if lic["scope"]["type"] == "pool" else None
    credited = pool_id or lic["publisher_id"]
    lease_id = None
    if msg["kind"] == "usage":
        units = int(msg.get("units") or 0)
        if units < 1:
            raise PoisonMessage("units must be >= 1")
        source: str = msg.get("source") or "report"
        model = pricing["model"]
        unit_price = int(pricing.get("amount_micros") or 0)
        if model == "per_access" and source == "delivery":
            gross = unit_price
        elif model == "per_unit" and source == "report":
            gross = money.times(unit_price, units)
        else:
            gross = 0
        dedup = event_key(msg["buyer_id"], str(msg["event_id"]))
        accesses = 1 if source == "delivery" else 0
        event_id, use = str(msg["event_id"]), str(msg["use"])
        asset_id: str | None = str(msg["asset_id"])
        asset_publisher = msg.get("publisher_id")
        lease_id = str(msg["lease_id"]) if msg.get("lease_id") and gross else None
    else:
        gross = int(msg["amount_micros"])
        if gross < 0:
            raise PoisonMessage("negative charge")
        dedup = charge_key(str(msg["charge_id"]))
        units, accesses, source = 0, 0, "charge"
        event_id, use = str(msg["charge_id"]), str(lic["use"])
        asset_id = msg.get("asset_id")
        asset_publisher = None
    fee, net = money.fee_split(gross, fee_bps)
    postings: list[Posting] = []
    if gross:
        postings = [
            {"account": msg["buyer_id"], "amount_micros": -gross},
            {"account": credited, "amount_micros": net},
            {"account": PLATFORM, "amount_micros": fee},
        ]
    return Entry(
        dedup_key=dedup,
        kind=kind,
        buyer_id=msg["buyer_id"],
        publisher_id=credited,
        asset_publisher_id=asset_publisher,
        license_id=lic["id"],
        asset_id=asset_id,
        pool_id=pool_id,
        use=use,
        units=units,
        accesses=accesses,
        occurred_at=str(msg["occurred_at"]),
        currency=currency,
        gross=gross,
        fee=fee,
        net=net,
        fee_bps=fee_bps,
        source=source,
        event_id=event_id,
        postings=postings,
        lease_id=lease_id,
    )

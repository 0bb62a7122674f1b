"""A priced ledger entry: the one record the metering consumer, the store and the archive pass between them (a
domain model, so the data access layer needs nothing from the logic that prices it)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from functions.metering.models.records import Posting

PLATFORM = "platform"
"""The account that receives the platform fee."""


@dataclass(frozen=True)
class Entry:
    """One de-duplicated effect: a metered use and/or a charge, with its ledger postings."""

    dedup_key: str
    kind: str  # usage | charge
    buyer_id: str
    publisher_id: str  # the account credited: the publisher, or the pool for a pool licence
    asset_publisher_id: str | None  # whose asset was used (usage reads)
    license_id: str
    asset_id: str | None
    pool_id: str | None
    use: str
    units: int
    accesses: int
    occurred_at: str
    currency: str
    gross: int
    fee: int
    net: int
    fee_bps: int
    source: str
    event_id: str
    postings: list[Posting] = field(default_factory=list)
    lease_id: str | None = None  # the budget lease a capped delivery was reserved in (functions.licensing.logic.budget)
    written_off: bool = False  # metered after its lease was released, and the cap could not cover it: booked at zero
    booked: str | None = None  # the open period it is booked in when its own period was closed (API v1.1)

    @property
    def day(self) -> str:
        return self.occurred_at[:10]

    @property
    def period(self) -> str:
        """The period the entry is booked in: its own (``occurred_at``), unless that one was closed."""
        return self.booked or self.occurred_at[:7]


def rebooked(e: Entry, period: str) -> Entry:
    """The entry booked in ``period`` (the open one) because its own period is closed; it keeps its ``occurred_at``."""
    return replace(e, booked=period)


def written_off(e: Entry) -> Entry:
    """The entry booked at zero: a delivery metered after its lease was released that the cap can no longer cover
    (API v1.1: the sum charged on a licence never exceeds its cap)."""
    return replace(e, gross=0, fee=0, net=0, postings=[], written_off=True)

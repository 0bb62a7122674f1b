from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from functions.shared.model import DeferredModel


class Rejected(DeferredModel):
    event_id: str
    code: str


class ReportUsageResponse(DeferredModel):
    accepted: int
    duplicates: int
    rejected: list[Rejected]


class UsageItem(DeferredModel):
    key: str
    units: int
    accesses: int
    amount_micros: int


class UsageReport(DeferredModel):
    model_config = ConfigDict(defer_build=True, populate_by_name=True)

    items: list[UsageItem]
    group_by: str
    from_: str | None = Field(default=None, alias="from")  # the query parameter's name; ``from`` is a Python keyword
    to: str | None = None


class Balance(DeferredModel):
    account_id: str
    currency: str
    balance_micros: int


class StatementLine(DeferredModel):
    license_id: str
    asset_id: str | None = None
    use: str
    units: int
    gross_micros: int
    fee_micros: int
    net_micros: int
    fee_rate_bps: int
    currency: str
    pool_id: str | None = None


class DistributionLine(DeferredModel):
    """A pool distribution booked in this statement's period (API v1.1): a member's share (positive), or on the
    pool's own statement what it paid out (negative) with what it carried in and carries forward."""

    pool_id: str
    distributed_period: str  # the (closed) period whose pool revenue this distributes
    currency: str
    share_micros: int
    accesses: int = 0  # member: accesses to its assets under the pool's licences in the distributed period
    charged_micros: int = 0  # member: what those uses were charged
    pool_net_micros: int = 0  # the pool's net revenue of the distributed period, in this currency
    carried_in_micros: int = 0  # pool: unattributed revenue of earlier periods brought into this distribution
    carried_forward_micros: int = 0  # pool: revenue with no use yet, kept in the pool for a later period


class Totals(DeferredModel):
    """One currency's totals (API v1.1: never a sum across currencies)."""

    currency: str
    gross_micros: int
    fee_micros: int
    net_micros: int
    distributions_micros: int  # distributions booked in this statement's own period


class Party(DeferredModel):
    """An account a statement involves (its own, and each licence's buyer and publisher), by the name buyers and
    publishers see (a publisher's display name when it set one)."""

    account_id: str
    name: str


class Statement(DeferredModel):
    id: str | None = None
    account_id: str
    period: str
    status: Literal["open", "closed"]
    closed_at: str | None = None
    sha256: str | None = None  # closed: SHA-256 (hex) of the RFC 8785 (JCS) body without sha256 and closed_at
    fee_rate_bps: int
    lines: list[StatementLine]
    distributions: list[DistributionLine]
    totals: list[Totals]
    # who is involved, by name: frozen at close (so covered by sha256 like the money), read live while open; null
    # only on a statement closed before names were recorded (its hash was computed without them)
    parties: list[Party] | None = None


class MemberShare(DeferredModel):
    """One member asset's part of a pool distribution, paid to its publisher."""

    asset_id: str
    publisher_id: str
    accesses: int  # accesses under the pool's licences in the period
    charged_micros: int  # what its uses were charged (per_access: accesses x price; per_unit: units x unit price)
    attributed_micros: int  # share of the revenue of the licences it was used under
    carried_share_micros: int  # share of carried revenue released after three periods without use
    share_micros: int  # attributed + carried share


class Carried(DeferredModel):
    """Revenue kept in the pool for a later period (API v1.1: never lost)."""

    license_id: str
    amount_micros: int
    since_period: str  # the period that earned it
    reason: Literal["unattributed"]


class CurrencyDistribution(DeferredModel):
    currency: str
    net_revenue_micros: int  # the pool's net revenue of the period in this currency
    carried_in_micros: int  # unattributed revenue of earlier periods brought in
    shares_micros: int  # paid to members
    carried_forward_micros: int  # kept in the pool: shares + carried forward = net + carried in
    members: list[MemberShare]
    carried: list[Carried]


class Distribution(DeferredModel):
    pool_id: str
    period: str  # the closed period distributed
    booked_period: str  # the period its postings are booked in (the one in which it ran)
    created_at: str
    currencies: list[CurrencyDistribution]
    remainder_rule: str


class PeriodClose(DeferredModel):
    period: str
    status: Literal["closed"]
    closed_at: str
    statements: int  # statements frozen (accounts with activity in the period)

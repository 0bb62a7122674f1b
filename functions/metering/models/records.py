"""The metering table's records as ``functions.metering.dal.store`` returns them (one definition each; the keys are
described in the store's docstring). Rows read back carry ``pk``/``sk`` too; aggregates may lack a counter never
incremented, hence ``total=False`` where the store writes a record piecemeal."""

from __future__ import annotations

from functions.shared.typeddict import TypedDict


class Posting(TypedDict):
    """One ledger posting of a journal entry or a distribution: ``amount_micros`` to ``account``."""

    account: str
    amount_micros: int


class UsageRow(TypedDict, total=False):
    """A usage aggregate (``USAGE#B#<buyer>`` / ``USAGE#P#<publisher>`` / ``USAGE#ALL``)."""

    pk: str
    sk: str
    day: str
    license_id: str
    asset_id: str | None
    use: str
    buyer_id: str
    publisher_id: str | None
    currency: str
    units: int
    accesses: int
    amount_micros: int


class StatementRow(TypedDict, total=False):
    """A statement line (``STMT#<account>#<period>``): a use line, or a distribution line (``distributed_period``)."""

    pk: str
    sk: str
    license_id: str
    asset_id: str | None
    use: str
    currency: str
    fee_rate_bps: int
    pool_id: str | None
    units: int
    gross_micros: int
    fee_micros: int
    net_micros: int
    distributed_period: str
    share_micros: int
    accesses: int
    charged_micros: int
    pool_net_micros: int
    carried_in_micros: int
    carried_forward_micros: int


class PeriodRecord(TypedDict, total=False):
    """A closed period (``PERIOD#<YYYY-MM>``)."""

    period: str
    closed_at: str
    closed_by: str | None


class PartyRecord(TypedDict):
    """An account a statement involves, with its name (``functions.metering.models.output.Party``)."""

    account_id: str
    name: str


class StatementClose(TypedDict, total=False):
    """A statement frozen at its period's close (``STMTCLOSE#<account>#<period>``), or, merged with the period's
    record, what ``functions.metering.logic.reads.statement`` takes as ``closed``."""

    id: str
    closed_at: str
    sha256: str
    fee_rate_bps: int
    account_id: str
    period: str
    parties: list[PartyRecord]  # the names at close (absent on statements closed before names were recorded)


class PoolRevenueRow(TypedDict, total=False):
    """A pool's revenue in a period (``POOLREV#<pool>#<period>``): a licence's net (``L#``) or a member asset's use
    (``U#``)."""

    pk: str
    sk: str
    license_id: str
    currency: str
    usage_net_micros: int
    charge_net_micros: int
    asset_id: str
    publisher_id: str | None
    charged_micros: int
    accesses: int


class CarryRecord(TypedDict):
    """Revenue a pool carries (unattributed) from ``since_period``."""

    license_id: str
    currency: str
    amount_micros: int
    since_period: str


class CarriedRecord(CarryRecord):
    reason: str


class MemberShare(TypedDict):
    asset_id: str
    publisher_id: str
    accesses: int
    charged_micros: int
    attributed_micros: int
    carried_share_micros: int
    share_micros: int


class CurrencyRecord(TypedDict):
    """One currency of a pool distribution."""

    currency: str
    net_revenue_micros: int
    carried_in_micros: int
    shares_micros: int
    carried_forward_micros: int
    members: list[MemberShare]
    carried: list[CarriedRecord]
    postings: list[Posting]


class DistributionRecord(TypedDict):
    """A pool's distribution of a closed period (``DIST#<pool>#<period>``)."""

    pool_id: str
    period: str
    booked_period: str
    created_at: str
    currencies: list[CurrencyRecord]

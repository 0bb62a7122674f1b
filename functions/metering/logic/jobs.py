"""Scheduled jobs: subscription renewals, the monthly statement close, and pool distributions. Each is idempotent:
the scheduler may run it twice (bounded retries), and a crashed run is completed by the next."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from functions.licensing.contracts import LapseMessage
from functions.licensing.logic.budget import Reservation
from functions.metering.contracts import ChargeMessage
from functions.metering.dal.keys import charge_key
from functions.metering.dal.store import CLOSE_MARGIN_S, MeteringStore, closable
from functions.metering.logic import pools
from functions.metering.logic.reads import statement, statement_hash
from functions.metering.models.output import CurrencyDistribution, Distribution, PeriodClose, Statement
from functions.metering.models.records import (
    CarryRecord,
    CurrencyRecord,
    DistributionRecord,
    PartyRecord,
    StatementClose,
    StatementRow,
)
from functions.shared.clock import iso, now, now_iso, parse_iso
from functions.shared.faults import RuleViolated, StateConflict
from functions.shared.ids import new_id

if TYPE_CHECKING:
    from functions.licensing.dal.reader import LicenseRecord


def period_end(period: str) -> str:
    """The first instant after ``period`` (``2026-11`` ends at ``2026-12-01T00:00:00Z``)."""
    year, month = (int(x) for x in period.split("-"))
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return f"{year:04d}-{month:02d}-01T00:00:00Z"


def previous_period(when: datetime | None = None) -> str:
    n = when or now()
    year, month = (n.year - 1, 12) if n.month == 1 else (n.year, n.month - 1)
    return f"{year:04d}-{month:02d}"


def due_subscription_charges(subs: Iterable[LicenseRecord], at: datetime) -> list[ChargeMessage]:
    """Every started period of every active subscription, as charge messages (``sub:<licence>:<n>``)."""
    out: list[ChargeMessage] = []
    for lic in subs:
        pricing = lic["terms"]["pricing"]
        days = int(pricing.get("period_days") or 0)
        if pricing.get("model") != "subscription" or days <= 0:
            continue
        start = parse_iso(lic["starts_at"])
        expires_at = lic.get("expires_at")
        end = parse_iso(expires_at) if expires_at else None
        n = int(lic.get("renew_from") or 0)  # a licence reactivated after lapsing is not charged for the gap
        while True:
            period_start = start.timestamp() + n * days * 86400
            if period_start > at.timestamp() or (end is not None and period_start >= end.timestamp()):
                break
            out.append(
                {
                    "kind": "charge",
                    "charge_id": f"sub:{lic['id']}:{n}",
                    "buyer_id": lic["buyer_id"],
                    "publisher_id": lic["publisher_id"],
                    "license_id": lic["id"],
                    "asset_id": None,
                    "pool_id": lic["scope"]["id"] if lic["scope"]["type"] == "pool" else None,
                    "amount_micros": int(pricing["amount_micros"]),
                    "currency": pricing["currency"],
                    "reason": "subscription",
                    "occurred_at": iso(datetime.fromtimestamp(period_start, UTC)),
                }
            )
            n += 1
    return out


def renew(
    store: MeteringStore,
    subs: Iterable[LicenseRecord],
    send: Callable[[list[ChargeMessage]], None],
    at: datetime | None = None,
    *,
    reserve: Callable[[str, int, str], Reservation] | None = None,
    lapse: Callable[[list[LapseMessage]], None] | None = None,
) -> int:
    """Queue every due subscription charge once. A capped licence's charge is reserved on its budget first (once per
    charge id); one its cap cannot cover is not charged: the licence lapses (a message to licensing)."""
    subs = list(subs)
    capped = {lic["id"] for lic in subs if lic.get("budget_cap_micros") is not None}
    charges = due_subscription_charges(subs, at or now())
    known = store.known([charge_key(c["charge_id"]) for c in charges])
    missing = [c for c in charges if charge_key(c["charge_id"]) not in known]
    to_send: list[ChargeMessage] = []
    lapses: list[LapseMessage] = []
    lapsed: set[str] = set()
    for c in missing:
        if c["license_id"] in lapsed:
            continue
        if c["license_id"] in capped and reserve is not None:
            got = reserve(c["license_id"], int(c["amount_micros"]), c["charge_id"])
            if got == "insufficient":
                lapsed.add(c["license_id"])
                lapses.append({"kind": "lapse", "license_id": c["license_id"], "charge_id": c["charge_id"]})
                continue
        to_send.append(c)
    if to_send:
        send(to_send)
    if lapses and lapse is not None:
        lapse(lapses)
    return len(to_send)


Parties = Callable[[str, Sequence[StatementRow]], list[PartyRecord]]
"""The accounts a statement involves, with their names (``functions.metering.dal.parties.parties``)."""


def close_period(
    store: MeteringStore, period: str, fee_bps: int, by: str | None = None, parties: Parties | None = None
) -> PeriodClose:
    """Close ``period`` for good (API v1.1), then freeze each of its statements: a ``stm_`` id, ``closed_at``, the
    names of the accounts it involves (``parties``, when given) and the ``sha256`` of its body. Idempotent: a second
    run (or one completing a crashed run) changes nothing already frozen."""
    if not closable(period, now().timestamp()):
        raise RuleViolated(
            f"{period} has not ended (a period can be closed from {CLOSE_MARGIN_S // 60} minutes after its end).",
            code="period_not_ended",
        )
    for pool_id, distributed in store.pending_distributions(period):  # a crashed run: complete it, then close
        record = store.distribution(pool_id, distributed)
        if record is not None:
            store.apply_distribution(record)
    closed_at = store.close_period(period, now_iso(), by)
    accounts = store.statement_accounts(period)
    for account in accounts:
        if store.statement_close(account, period) is not None:
            continue
        rows = store.statement_rows(account, period)
        frozen: StatementClose = {"id": new_id("stm"), "closed_at": closed_at, "fee_rate_bps": fee_bps}
        if parties is not None:
            frozen["parties"] = parties(account, rows)
        st = statement(account, period, rows, frozen, fee_bps)
        store.save_statement_close(account, period, {**frozen, "sha256": statement_hash(st)})
    return PeriodClose(period=period, status="closed", closed_at=closed_at, statements=len(accounts))


def read_statement(
    store: MeteringStore, account_id: str, period: str, fee_bps: int, parties: Parties | None = None
) -> Statement:
    """A statement as the API answers it: frozen when its period is closed; while open, with the names ``parties``
    reads now (none without it)."""
    closed = store.period(period)
    frozen: StatementClose | None = None
    if closed is not None:
        frozen = {"closed_at": closed["closed_at"], **(store.statement_close(account_id, period) or {})}
    rows = store.statement_rows(account_id, period)
    live = parties(account_id, rows) if parties is not None and frozen is None else None
    st = statement(account_id, period, rows, frozen, fee_bps, live)
    if frozen is not None and not st.sha256:  # no activity in the period (nothing was frozen): still final
        st = st.model_copy(update={"sha256": statement_hash(st)})
    return st


def distribute(
    store: MeteringStore, pool_id: str, period: str, members: Callable[[], list[tuple[str, str]]]
) -> Distribution:
    """Distribute a closed period's pool revenue (``logic.pools``), booked in the running period. Once per pool and
    period: a second call returns the same distribution (and completes its booking if a run crashed)."""
    if store.period(period) is None:
        raise StateConflict(
            f"{period} is not closed: close it first (POST /v1/periods/{period}/close).", code="period_open"
        )
    record = store.distribution(pool_id, period)
    for _ in range(10):
        if record is not None:
            break
        version, open_carries = store.carry_state(pool_id)
        revenue, uses = store.pool_revenue(pool_id, period)
        splits, carries = pools.split(
            period,
            [
                pools.Revenue(
                    r["license_id"],
                    r["currency"],
                    int(r.get("usage_net_micros", 0)),
                    int(r.get("charge_net_micros", 0)),
                )
                for r in revenue
            ],
            [
                pools.Use(
                    u["license_id"],
                    u["asset_id"],
                    u.get("publisher_id") or "",
                    u["currency"],
                    int(u.get("charged_micros", 0)),
                    int(u.get("accesses", 0)),
                )
                for u in uses
            ],
            [
                pools.Carry(c["license_id"], c["currency"], int(c["amount_micros"]), c["since_period"])
                for c in open_carries
            ],
            lambda cur, since: store.attributed(pool_id, cur, _periods(since, period)),
            members(),
        )
        candidate: DistributionRecord = {
            "pool_id": pool_id,
            "period": period,
            "booked_period": now_iso()[:7],
            "created_at": now_iso(),
            "currencies": [_currency_record(pool_id, cs) for cs in splits],
        }
        if store.save_distribution(candidate, [_carry_record(c) for c in carries], version):
            record = candidate
        else:
            record = store.distribution(pool_id, period)  # None: another period's distribution moved the carries
    if record is None:
        raise StateConflict("The pool's carried revenue kept changing; retry.", code="concurrent_update")
    store.apply_distribution(record)
    return Distribution(
        pool_id=pool_id,
        period=period,
        booked_period=record["booked_period"],
        created_at=record["created_at"],
        currencies=[
            CurrencyDistribution.model_validate({k: v for k, v in cur.items() if k != "postings"})
            for cur in record["currencies"]
        ],
        remainder_rule=pools.REMAINDER_RULE,
    )


def _periods(first: str, before: str) -> list[str]:
    """The periods from ``first`` up to, not including, ``before``."""
    out: list[str] = []
    year, month = (int(x) for x in first.split("-"))
    while (p := f"{year:04d}-{month:02d}") < before:
        out.append(p)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _carry_record(c: pools.Carry) -> CarryRecord:
    return {"license_id": c.license_id, "currency": c.currency, "amount_micros": c.amount, "since_period": c.since}


def _currency_record(pool_id: str, cs: pools.CurrencySplit) -> CurrencyRecord:
    return {
        "currency": cs.currency,
        "net_revenue_micros": cs.net,
        "carried_in_micros": cs.carried_in,
        "shares_micros": cs.shares,
        "carried_forward_micros": cs.carried_forward,
        "members": [
            {
                "asset_id": m.asset_id,
                "publisher_id": m.publisher_id,
                "accesses": m.accesses,
                "charged_micros": m.charged,
                "attributed_micros": m.attributed,
                "carried_share_micros": m.carried_share,
                "share_micros": m.share,
            }
            for _, m in sorted(cs.members.items())
        ],
        "carried": [
            {**_carry_record(c), "reason": "unattributed"}
            for c in sorted(cs.carried, key=lambda c: (c.since, c.license_id))
        ],
        "postings": [{"account": a, "amount_micros": v} for a, v in cs.postings(pool_id)],
    }


def pools_to_distribute(store: MeteringStore) -> list[str]:
    return store.pools()

"""Reads over the aggregates: usage grouped, statements (JSON and CSV)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence

from functions.metering.models.output import DistributionLine, Party, Statement, StatementLine, Totals, UsageItem
from functions.metering.models.records import PartyRecord, StatementClose, StatementRow, UsageRow
from functions.shared import jcs

GROUP_FIELDS = {
    "day": "day",
    "asset": "asset_id",
    "license": "license_id",
    "buyer": "buyer_id",
    "publisher": "publisher_id",
}


def group_usage(
    rows: Sequence[UsageRow], group_by: str, license_id: str | None, asset_id: str | None
) -> list[UsageItem]:
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in rows:
        if license_id and r.get("license_id") != license_id:
            continue
        if asset_id and r.get("asset_id") != asset_id:
            continue
        key = str(r.get(GROUP_FIELDS[group_by]) or "-")
        s = sums[key]
        s[0] += int(r.get("units", 0))
        s[1] += int(r.get("accesses", 0))
        s[2] += int(r.get("amount_micros", 0))
    return [UsageItem(key=k, units=u, accesses=a, amount_micros=m) for k, (u, a, m) in sorted(sums.items())]


def statement(
    account_id: str,
    period: str,
    rows: Sequence[StatementRow],
    closed: StatementClose | None,
    fee_bps: int,
    parties: Sequence[PartyRecord] | None = None,
) -> Statement:
    """The statement of a period from its lines. ``closed``: the period's close (``closed_at``) merged with the
    statement's close record (``id``, ``sha256``, ``fee_rate_bps`` and ``parties`` frozen at close), or None while
    it is open. ``parties``: the names read now, used only while the statement is open (a closed one keeps its
    own)."""
    lines = [
        StatementLine(
            license_id=r["license_id"],
            asset_id=r.get("asset_id"),
            use=r["use"],
            units=int(r.get("units", 0)),
            gross_micros=int(r.get("gross_micros", 0)),
            fee_micros=int(r.get("fee_micros", 0)),
            net_micros=int(r.get("net_micros", 0)),
            fee_rate_bps=int(r.get("fee_rate_bps", fee_bps)),
            currency=r["currency"],
            pool_id=r.get("pool_id"),
        )
        for r in rows
        if "distributed_period" not in r
    ]
    dists = [
        DistributionLine(
            pool_id=r["pool_id"] or "",  # a distribution line always names its pool
            distributed_period=r["distributed_period"],
            currency=r["currency"],
            share_micros=int(r.get("share_micros", 0)),
            accesses=int(r.get("accesses", 0)),
            charged_micros=int(r.get("charged_micros", 0)),
            pool_net_micros=int(r.get("pool_net_micros", 0)),
            carried_in_micros=int(r.get("carried_in_micros", 0)),
            carried_forward_micros=int(r.get("carried_forward_micros", 0)),
        )
        for r in rows
        if "distributed_period" in r
    ]
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for x in lines:
        t = sums[x.currency]
        t[0] += x.gross_micros
        t[1] += x.fee_micros
        t[2] += x.net_micros
    for d in dists:
        sums[d.currency][3] += d.share_micros
    totals = [
        Totals(currency=c, gross_micros=g, fee_micros=f, net_micros=n, distributions_micros=d)
        for c, (g, f, n, d) in sorted(sums.items())
    ]
    return Statement(
        id=(closed or {}).get("id"),
        account_id=account_id,
        period=period,
        status="closed" if closed else "open",
        closed_at=(closed or {}).get("closed_at"),
        sha256=(closed or {}).get("sha256"),
        fee_rate_bps=int((closed or {}).get("fee_rate_bps", fee_bps)),
        lines=lines,
        distributions=dists,
        totals=totals,
        parties=_parties(closed["parties"] if closed is not None and "parties" in closed else None)
        if closed is not None
        else _parties(parties),
    )


def _parties(found: Sequence[PartyRecord] | None) -> list[Party] | None:
    if found is None:
        return None
    return [Party(account_id=p["account_id"], name=p["name"]) for p in sorted(found, key=lambda p: p["account_id"])]


def statement_hash(st: Statement) -> str:
    """API v1.1: the SHA-256 (hex) of the RFC 8785 (JCS) serialisation of the statement body without its ``sha256``
    and ``closed_at`` members."""
    return jcs.sha256_hex(public_body(st, exclude={"sha256", "closed_at"}))


def public_body(st: Statement, exclude: set[str] | None = None) -> dict[str, object]:
    """The statement as the API answers it: ``parties`` left out where none were recorded (a statement closed before
    names were kept), so that its hash, computed then, still matches its body."""
    drop = set(exclude or ()) | ({"parties"} if st.parties is None else set())
    return st.model_dump(mode="json", exclude=drop)


def statement_csv(st: Statement) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        [
            "account_id",
            "period",
            "license_id",
            "asset_id",
            "use",
            "units",
            "gross_micros",
            "fee_micros",
            "net_micros",
            "fee_rate_bps",
            "currency",
            "pool_id",
            "distributed_period",
        ]
    )
    for x in st.lines:
        w.writerow(
            [
                st.account_id,
                st.period,
                x.license_id,
                x.asset_id or "",
                x.use,
                x.units,
                x.gross_micros,
                x.fee_micros,
                x.net_micros,
                x.fee_rate_bps,
                x.currency,
                x.pool_id or "",
                "",
            ]
        )
    for d in st.distributions:
        w.writerow(
            [
                st.account_id,
                st.period,
                "",
                "",
                "pool-distribution",
                d.accesses,
                "",
                "",
                d.share_micros,
                "",
                d.currency,
                d.pool_id,
                d.distributed_period,
            ]
        )
    for t in st.totals:  # one TOTAL row per currency (API v1.1); net includes the distributions booked here
        w.writerow(
            [
                st.account_id,
                st.period,
                "TOTAL",
                "",
                "",
                "",
                t.gross_micros,
                t.fee_micros,
                t.net_micros + t.distributions_micros,
                "",
                t.currency,
                "",
                "",
            ]
        )
    return buf.getvalue()

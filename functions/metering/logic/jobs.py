"""Scheduled jobs: subscription renewals, the monthly statement close, and pool distributions. Each is idempotent:
the scheduler may run it twice (bounded retries), and a crashed run is completed by the next."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from functions.licensing.contracts import LapseMessage
from functions.licensing.logic.budget import Reservation
from functions.metering.contracts import ChargeMessage
from functions.metering.dal.store import MeteringStore
from functions.metering.models.output import Distribution, MemberShare
from functions.shared import money
from functions.shared.clock import iso, now, now_iso, parse_iso
from functions.shared.ddb import to_item
from functions.shared.errors import Conflict
from functions.shared.ids import new_id

if TYPE_CHECKING:
    from functions.licensing.dal.reader import LicenseRecord

REMAINDER_RULE = (
    "largest remainder: each member gets floor(net * units / total units); the micros left over go "
    "one each to the largest remainders, ties broken by publisher id"
)


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
    known = store.known([f"CHG#{c['charge_id']}" for c in charges])
    missing = [c for c in charges if f"CHG#{c['charge_id']}" not in known]
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


def close_period(store: MeteringStore, period: str) -> int:
    """Freeze every statement of a period: a ``stm_`` id and the totals at close."""
    closed = 0
    for row in store.query_all(f"STMTIDX#{period}"):
        account = row["sk"]
        lines = [r for r in store.query_all(f"STMT#{account}#{period}") if not r["sk"].startswith("DIST#")]
        totals = {
            k: sum(int(r.get(k, 0)) for r in lines) for k in ("units", "gross_micros", "fee_micros", "net_micros")
        }
        if store.put_once(
            {
                "pk": f"STMTCLOSE#{account}#{period}",
                "sk": "STM",
                "id": new_id("stm"),
                "account_id": account,
                "period": period,
                "closed_at": now_iso(),
                **totals,
            }
        ):
            closed += 1
    return closed


def distribute(store: MeteringStore, pool_id: str, period: str) -> Distribution:
    """Split the pool's net revenue of ``period`` between members pro rata to metered units on their assets."""
    existing = store.get(f"DIST#{pool_id}#{period}", "DIST")
    if existing is None:
        lines = [r for r in store.query_all(f"STMT#{pool_id}#{period}") if not r["sk"].startswith("DIST#")]
        nets: dict[str, int] = defaultdict(int)
        for r in lines:
            nets[r["currency"]] += int(r.get("net_micros", 0))
        if len([c for c, v in nets.items() if v]) > 1:
            raise Conflict("The pool earned in several currencies; distribute per currency.", code="multi_currency")
        currency, net = max(nets.items(), key=lambda kv: kv[1]) if nets else ("USD", 0)
        units: dict[str, int] = defaultdict(int)
        for r in store.query_all(f"POOLUSE#{pool_id}#{period}"):
            if r.get("publisher_id"):
                units[r["publisher_id"]] += int(r.get("units", 0))
        shares = money.pro_rata(net, units)
        members = [{"publisher_id": p, "units": units[p], "share_micros": shares[p]} for p in sorted(units)]
        postings = [{"account": pool_id, "amount_micros": -net}] + [
            {"account": m["publisher_id"], "amount_micros": m["share_micros"]} for m in members
        ]
        record: dict[str, Any] = {
            "pk": f"DIST#{pool_id}#{period}",
            "sk": "DIST",
            "pool_id": pool_id,
            "period": period,
            "currency": currency,
            "net_revenue_micros": net,
            "total_units": sum(units.values()),
            "members": members,
            "postings": postings,
            "created_at": now_iso(),
        }
        existing = record if store.put_once(record) else store.get(f"DIST#{pool_id}#{period}", "DIST")
    assert existing is not None
    _apply(store, existing)
    return Distribution(
        pool_id=pool_id,
        period=period,
        currency=existing["currency"],
        net_revenue_micros=int(existing["net_revenue_micros"]),
        total_units=int(existing["total_units"]),
        members=[MemberShare(**m) for m in existing["members"]],
        remainder_rule=REMAINDER_RULE,
    )


def _apply(store: MeteringStore, dist: dict[str, Any]) -> None:
    """Book each posting of the distribution once (a crashed run is completed by the next)."""
    pool_id, period, cur = dist["pool_id"], dist["period"], dist["currency"]
    units_of = {m["publisher_id"]: m["units"] for m in dist["members"]}
    table = store.table
    for p in dist["postings"]:
        account, amount = p["account"], int(p["amount_micros"])
        line = {
            "pool_id": pool_id,
            "currency": cur,
            "units": units_of.get(account, 0),
            "share_micros": amount,
            "pool_units": int(dist["total_units"]),
            "pool_net_micros": int(dist["net_revenue_micros"]),
        }
        names = {f"#k{i}": k for i, k in enumerate(line)}
        values = {f":v{i}": to_item({"v": v})["v"] for i, v in enumerate(line.values())}
        store.transact(
            [
                {
                    "Put": {
                        "TableName": table,
                        "Item": to_item({"pk": f"DISTM#{pool_id}#{period}#{account}", "sk": "D"}),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": {"S": f"BAL#{account}#{cur}"}, "sk": {"S": "BAL"}},
                        "UpdateExpression": "ADD balance_micros :a SET currency = :c",
                        "ExpressionAttributeValues": {":a": {"N": str(amount)}, ":c": {"S": cur}},
                    }
                },
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": {"S": f"STMT#{account}#{period}"}, "sk": {"S": f"DIST#{pool_id}#{cur}"}},
                        "UpdateExpression": "SET " + ", ".join(f"#k{i} = :v{i}" for i in range(len(line))),
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    }
                },
                {"Put": {"TableName": table, "Item": to_item({"pk": f"STMTIDX#{period}", "sk": account})}},
            ]
        )


def pools_with_revenue(store: MeteringStore, period: str) -> list[str]:
    return [r["sk"] for r in store.query_all(f"STMTIDX#{period}") if r["sk"].startswith("pool_")]

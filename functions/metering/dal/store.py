"""Metering table access (table ``metering``; only the metering service writes it).

| record | key | written |
|---|---|---|
| journal entry = de-duplication record of one event or charge, with its ledger postings | pk=``EVT#<buyer>#<event_id>`` or ``CHG#<charge_id>``, sk=``E`` (TTL 400 days) | once per event, conditionally |
| usage aggregates (``GET /v1/usage``) | pk=``USAGE#B#<buyer>`` / ``USAGE#P#<publisher>`` / ``USAGE#ALL``, sk=``<day>#<licence>#<asset>#<use>`` | once per key per chunk |
| statement lines | pk=``STMT#<account>#<YYYY-MM>``, sk=``<licence>#<asset>#<use>#<currency>`` | once per key per chunk |
| accounts with a statement in a period | pk=``STMTIDX#<YYYY-MM>``, sk=``<account>`` | once per key per chunk |
| balances | pk=``BAL#<account>#<currency>``, sk=``BAL`` | once per key per chunk |
| spend per licence (read by delivery for budget caps) | pk=``SPEND#<licence>``, sk=``SPEND`` | once per key per chunk |
| pool units per member asset and period | pk=``POOLUSE#<pool>#<YYYY-MM>``, sk=``<asset>`` | once per key per chunk |
| pool distribution | pk=``DIST#<pool>#<YYYY-MM>``, sk=``DIST`` and per member ``DISTM#…`` | once |
| closed statement | pk=``STMTCLOSE#<account>#<YYYY-MM>``, sk=``STM`` | once |

Exactly once: a chunk of new entries is ONE ``TransactWriteItems``: each entry's journal put (condition: not there
yet) together with the aggregate increments of the whole chunk (one update per aggregate key, P3). Either all of it
commits or none does; a replay finds the journal entries and adds nothing. A concurrent duplicate makes its put's
condition fail: that entry is dropped and the chunk retried without it.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from functions.metering.logic.pricing import PLATFORM, Entry
from functions.shared import aws
from functions.shared.ddb import from_item, to_item, to_value

JOURNAL_TTL_S = 400 * 86400
MAX_TX_ITEMS = 100


class _Agg:
    """Accumulates ADD/SET updates per item key, to write each key once per transaction."""

    def __init__(self) -> None:
        self.adds: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.sets: dict[tuple[str, str], dict[str, Any]] = defaultdict(dict)

    def add(self, pk: str, sk: str, sets: dict[str, Any] | None = None, **adds: int) -> None:
        key = (pk, sk)
        for name, value in adds.items():
            self.adds[key][name] += value
        if sets:
            self.sets[key].update({k: v for k, v in sets.items() if v is not None})
        if not adds:
            self.adds[key]

    def keys(self) -> set[tuple[str, str]]:
        return set(self.adds) | set(self.sets)

    def updates(self, table: str) -> list[dict[str, Any]]:
        out = []
        for pk, sk in sorted(self.keys()):
            names: dict[str, str] = {}
            values: dict[str, Any] = {}
            add_parts, set_parts = [], []
            for i, (name, value) in enumerate(sorted(self.adds.get((pk, sk), {}).items())):
                names[f"#a{i}"] = name
                values[f":a{i}"] = {"N": str(value)}
                add_parts.append(f"#a{i} :a{i}")
            for i, (name, value) in enumerate(sorted(self.sets.get((pk, sk), {}).items())):
                names[f"#s{i}"] = name
                values[f":s{i}"] = to_value(value)
                set_parts.append(f"#s{i} = :s{i}")
            expr = " ".join(
                p
                for p in (
                    f"SET {', '.join(set_parts)}" if set_parts else "",
                    f"ADD {', '.join(add_parts)}" if add_parts else "",
                )
                if p
            )
            update: dict[str, Any] = {"TableName": table, "Key": {"pk": {"S": pk}, "sk": {"S": sk}}}
            if expr:
                update.update(UpdateExpression=expr, ExpressionAttributeNames=names)
                if values:
                    update["ExpressionAttributeValues"] = values
            else:
                update.update(
                    UpdateExpression="SET #t = :t",
                    ExpressionAttributeNames={"#t": "touched"},
                    ExpressionAttributeValues={":t": {"N": "1"}},
                )
            out.append({"Update": update})
        return out


def aggregate(entries: Iterable[Entry]) -> _Agg:
    agg = _Agg()
    for e in entries:
        asset = e.asset_id or "-"
        usage_sk = f"{e.day}#{e.license_id}#{asset}#{e.use}"
        usage_sets = {
            "day": e.day,
            "license_id": e.license_id,
            "asset_id": e.asset_id,
            "use": e.use,
            "buyer_id": e.buyer_id,
            "publisher_id": e.asset_publisher_id or e.publisher_id,
            "currency": e.currency,
        }
        for pk in (f"USAGE#B#{e.buyer_id}", f"USAGE#P#{e.asset_publisher_id or e.publisher_id}", "USAGE#ALL"):
            agg.add(pk, usage_sk, usage_sets, units=e.units, accesses=e.accesses, amount_micros=e.gross)
        line_sk = f"{e.license_id}#{asset}#{e.use}#{e.currency}"
        line_sets = {
            "license_id": e.license_id,
            "asset_id": e.asset_id,
            "use": e.use,
            "currency": e.currency,
            "fee_rate_bps": e.fee_bps,
            "pool_id": e.pool_id,
        }
        parties = [e.buyer_id, e.publisher_id] + ([PLATFORM] if e.fee else [])
        for account in dict.fromkeys(parties):
            agg.add(
                f"STMT#{account}#{e.period}",
                line_sk,
                line_sets,
                units=e.units,
                gross_micros=e.gross,
                fee_micros=e.fee,
                net_micros=e.net,
            )
            agg.add(f"STMTIDX#{e.period}", account)
        for p in e.postings:
            agg.add(
                f"BAL#{p['account']}#{e.currency}", "BAL", {"currency": e.currency}, balance_micros=p["amount_micros"]
            )
        if e.gross:
            agg.add(f"SPEND#{e.license_id}", "SPEND", None, spent_micros=e.gross)
        if e.pool_id and e.kind == "usage" and e.asset_id:
            agg.add(
                f"POOLUSE#{e.pool_id}#{e.period}", e.asset_id, {"publisher_id": e.asset_publisher_id}, units=e.units
            )
    return agg


def journal_item(e: Entry, now: float) -> dict[str, Any]:
    return {
        "pk": e.dedup_key,
        "sk": "E",
        "kind": e.kind,
        "event_id": e.event_id,
        "buyer_id": e.buyer_id,
        "publisher_id": e.publisher_id,
        "asset_publisher_id": e.asset_publisher_id,
        "license_id": e.license_id,
        "asset_id": e.asset_id,
        "pool_id": e.pool_id,
        "use": e.use,
        "units": e.units,
        "accesses": e.accesses,
        "occurred_at": e.occurred_at,
        "currency": e.currency,
        "gross_micros": e.gross,
        "fee_micros": e.fee,
        "net_micros": e.net,
        "fee_rate_bps": e.fee_bps,
        "source": e.source,
        "postings": e.postings,
        "ttl": int(now) + JOURNAL_TTL_S,
    }


class MeteringStore:
    def __init__(self, table: str) -> None:
        self.table = table

    @property
    def _ddb(self) -> Any:
        return aws.client("dynamodb")

    def known(self, dedup_keys: list[str]) -> set[str]:
        """Which of these journal keys exist already (a read, one call per 100 keys)."""
        found: set[str] = set()
        unique = list(dict.fromkeys(dedup_keys))
        for i in range(0, len(unique), 100):
            request: dict[str, Any] = {
                self.table: {
                    "Keys": [{"pk": {"S": k}, "sk": {"S": "E"}} for k in unique[i : i + 100]],
                    "ProjectionExpression": "pk",
                    "ConsistentRead": True,
                }
            }
            for _ in range(8):
                got = self._ddb.batch_get_item(RequestItems=request)
                found |= {it["pk"]["S"] for it in got.get("Responses", {}).get(self.table, [])}
                request = got.get("UnprocessedKeys") or {}
                if not request:
                    break
        return found

    @staticmethod
    def chunks(entries: list[Entry]) -> list[list[Entry]]:
        """Split entries so that journal puts + distinct aggregate updates fit one transaction."""
        out: list[list[Entry]] = []
        current: list[Entry] = []
        keys: set[tuple[str, str]] = set()  # the chunk's aggregate keys: the union of its entries' keys
        keys_of: dict[tuple[Any, ...], set[tuple[str, str]]] = {}  # entries of one licence/asset/day share keys
        for e in entries:
            shape = (
                e.kind,
                e.day,
                e.license_id,
                e.asset_id,
                e.use,
                e.buyer_id,
                e.publisher_id,
                e.asset_publisher_id,
                e.currency,
                e.pool_id,
                bool(e.fee),
                bool(e.gross),
                tuple(p["account"] for p in e.postings),
            )  # everything aggregate() derives a key from
            mine = keys_of.get(shape)
            if mine is None:
                mine = keys_of[shape] = aggregate((e,)).keys()
            merged = keys | mine
            if current and len(current) + 1 + len(merged) > MAX_TX_ITEMS:
                out.append(current)
                current, keys = [e], mine
            else:
                current.append(e)
                keys = merged
        if current:
            out.append(current)
        return out

    def commit(self, entries: list[Entry]) -> list[Entry]:
        """Commit one chunk exactly once. Returns the entries that took effect (duplicates dropped)."""
        ddb = self._ddb
        pending = list(entries)
        for attempt in range(6):
            if not pending:
                return []
            now = time.time()
            items = [
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": to_item(journal_item(e, now)),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
                for e in pending
            ]
            items += aggregate(pending).updates(self.table)
            try:
                ddb.transact_write_items(TransactItems=items)
                return pending
            except ddb.exceptions.TransactionCanceledException as exc:
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                dupes = {i for i, code in enumerate(reasons[: len(pending)]) if code == "ConditionalCheckFailed"}
                if dupes:
                    pending = [e for i, e in enumerate(pending) if i not in dupes]
                    continue
                time.sleep(min(0.05 * 2**attempt, 1.0))  # conflicting concurrent writers: back off
        raise RuntimeError("could not commit metering chunk after retries")

    # ------------------------------------------------------------------ reads
    def query_all(
        self,
        pk: str,
        *,
        sk_between: tuple[str, str] | None = None,
        sk_prefix: str | None = None,
        consistent: bool = False,
    ) -> list[dict[str, Any]]:
        args: dict[str, Any] = {
            "TableName": self.table,
            "ConsistentRead": consistent,
            "ExpressionAttributeValues": {":pk": {"S": pk}},
        }
        cond = "pk = :pk"
        if sk_between:
            cond += " AND sk BETWEEN :a AND :b"
            args["ExpressionAttributeValues"].update({":a": {"S": sk_between[0]}, ":b": {"S": sk_between[1]}})
        elif sk_prefix:
            cond += " AND begins_with(sk, :p)"
            args["ExpressionAttributeValues"][":p"] = {"S": sk_prefix}
        args["KeyConditionExpression"] = cond
        out: list[dict[str, Any]] = []
        while True:
            got = self._ddb.query(**args)
            out += [from_item(i) for i in got.get("Items", [])]
            if "LastEvaluatedKey" not in got:
                return out
            args["ExclusiveStartKey"] = got["LastEvaluatedKey"]

    def get(self, pk: str, sk: str) -> dict[str, Any] | None:
        got = self._ddb.get_item(TableName=self.table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True)
        return from_item(got["Item"]) if "Item" in got else None

    def put_once(self, item: dict[str, Any]) -> bool:
        ddb = self._ddb
        try:
            ddb.put_item(TableName=self.table, Item=to_item(item), ConditionExpression="attribute_not_exists(pk)")
            return True
        except ddb.exceptions.ConditionalCheckFailedException:
            return False

    def transact(self, items: list[dict[str, Any]]) -> bool:
        """Run a transaction; False when one of its conditions failed (already done)."""
        ddb = self._ddb
        try:
            ddb.transact_write_items(TransactItems=items)
            return True
        except ddb.exceptions.TransactionCanceledException as exc:
            if any(r.get("Code") == "ConditionalCheckFailed" for r in exc.response.get("CancellationReasons", [])):
                return False
            raise

"""Metering table access (table ``metering``; only the metering service writes it).

| record | key | written |
|---|---|---|
| journal entry = de-duplication record of one event or charge, with its ledger postings and ``period`` (the period it is booked in: its own, or the open one when its own was closed) | pk=``EVT#<buyer>#<event_id>`` or ``CHG#<charge_id>``, sk=``E`` (TTL 400 days only when it has no postings: money records are kept) | once per event, conditionally |
| a delivery stream shard's committed position: the sequence number of the last record metered (issue 16) | pk=``SEQ#<stream>#<shard>``, sk=``CURSOR`` (``seq``, zero-padded to ``SEQ_WIDTH``) | with every chunk of that shard, conditionally |
| journal entry of a chunk of stream records: their summed ledger postings per currency, the sequence range, the count | pk=``SEQ#<stream>#<shard>``, sk=``C#<first seq, padded>`` | once per chunk, in its transaction |
| reported event id, recorded at ``POST /v1/usage`` (exact ``duplicates``; the budget reservation's record) | pk=``RPT#<buyer>#<event_id>``, sk=``E`` (TTL 400 days) | once per event, conditionally |
| usage aggregates (``GET /v1/usage``) | pk=``USAGE#B#<buyer>`` / ``USAGE#P#<publisher>`` / ``USAGE#ALL``, sk=``<day>#<licence>#<asset>#<use>`` | once per key per chunk |
| statement lines of the booking period | pk=``STMT#<account>#<YYYY-MM>``, sk=``<licence>#<asset>#<use>#<currency>`` | once per key per chunk |
| distribution lines (booked in the period the distribution ran) | pk=``STMT#<account>#<YYYY-MM>``, sk=``DIST#<pool>#<distributed period>#<currency>`` | once per distribution |
| accounts with a statement in a period | pk=``STMTIDX#<YYYY-MM>``, sk=``<account>`` (the platform's: ``platform~<shard>``) | once per key per chunk |
| balances | pk=``BAL#<account>#<currency>``, sk=``BAL``; the platform's in ``PLATFORM_SHARDS`` shards, pk=``BAL#platform~<shard>#<currency>``, read as their sum | once per key per chunk |
| spend per licence (read by delivery for budget caps) | pk=``SPEND#<licence>``, sk=``SPEND`` | once per key per chunk |
| a pool licence's net revenue in a period | pk=``POOLREV#<pool>#<YYYY-MM>``, sk=``L#<licence>#<currency>`` (``usage_net_micros``, ``charge_net_micros``) | once per key per chunk |
| use of a member asset under a pool licence in a period | pk=``POOLREV#<pool>#<YYYY-MM>``, sk=``U#<licence>#<asset>`` (``charged_micros``, ``accesses``, ``publisher_id``) | once per key per chunk |
| pools that ever earned | pk=``POOLIDX``, sk=``<pool>`` | once per key per chunk |
| a pool's carried (unattributed) revenue | pk=``CARRY#<pool>``, sk=``STATE`` (``version``, ``open``: [{license_id, currency, amount_micros, since_period}]) | with each distribution, conditionally on ``version`` |
| pool distribution of a closed period | pk=``DIST#<pool>#<YYYY-MM>``, sk=``DIST`` (per currency: members, carried, ``postings``) | once |
| a distribution's postings applied, per currency and account | pk=``DISTM#<pool>#<YYYY-MM>#<currency>#<account>``, sk=``D`` (``amount_micros``, ``booked_period``) | once |
| a closed period (absent: open) | pk=``PERIOD#<YYYY-MM>``, sk=``P`` (``closed_at``) | once |
| closed statement | pk=``STMTCLOSE#<account>#<YYYY-MM>``, sk=``STM`` (``id``, ``closed_at``, ``sha256``, ``fee_rate_bps``) | once |

Exactly once: a chunk of new entries is ONE ``TransactWriteItems``: each entry's journal put (condition: not there
yet) together with the aggregate increments of the whole chunk (one update per aggregate key, P3). Either all of it
commits or none does; a replay finds the journal entries and adds nothing. A concurrent duplicate makes its put's
condition fail: that entry is dropped and the chunk retried without it.

Delivery events (issue 16) arrive on a Kinesis stream, not the queue, and have no journal item each: a shard is
read by one consumer at a time, in sequence order, so its chunks are exactly-once by position. Each chunk's transaction
moves the shard's cursor from below the chunk's first sequence number to its last (condition: the cursor is below the
first) and writes ONE chunk journal item with the chunk's postings summed (the auditor's input). A replayed batch meets
the cursor: what is at or below it is dropped, the rest committed. Reported events and charges keep their journal
items (an ``event_id`` resent weeks later never counts).

At scale (issue 16): the only items every paid chunk touched whatever its licence were the platform's fee balance and
its statement-index entry, so concurrent consumer instances conflicted on them. Each chunk now writes one of
``PLATFORM_SHARDS`` copies (chosen from its first entry's key), and readers sum or fold them. A chunk refused with
``TransactionConflict`` is retried with full-jitter backoff (``backoff``). docs/performance.md says why 8 and why
the consumer's concurrency is capped.
"""

from __future__ import annotations

import random
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from functions.licensing.dal import budget
from functions.metering.dal.keys import event_key
from functions.metering.models.entry import PLATFORM, Entry, rebooked, written_off
from functions.metering.models.records import (
    CarryRecord,
    CurrencyRecord,
    DistributionRecord,
    PeriodRecord,
    PoolRevenueRow,
    Posting,
    StatementClose,
    StatementRow,
    UsageRow,
)
from functions.shared import aws, clock
from functions.shared.ddb import from_item, to_item, to_value
from functions.shared.faults import StateConflict
from functions.shared.jsontypes import AttrItem, AttrValue, CheckAction, Record, TransactItem, UpdateAction

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        KeysAndAttributesOutputTypeDef,
        KeysAndAttributesTypeDef,
        QueryInputTypeDef,
    )

JOURNAL_TTL_S = 400 * 86400
MAX_TX_ITEMS = 100
DIST_POSTINGS_PER_TX = 24  # 4 items per posting + the booking period's check: <= 100 per transaction
DIST_PENDING = "DISTPENDING#"
"""``DISTPENDING#<booked period>``: the distributions booked in that period whose postings are not all booked yet
(``pending``, a string set of ``<pool>#<period>``). The period cannot close while it is not empty."""
CLOSED_PERIODS: set[str] = set()  # periods seen closed (closing is final: safe to remember for the instance's life)
CLOSE_MARGIN_S = 15 * 60
"""A period can be closed only this long after it ended, and a metering transaction books in the running period
without the period check only until this long before it ends: a transaction cannot be in flight for 30 minutes (the
consumer's timeout is 60 s), so one without the check can never land after a close (docs/decision_log.md)."""


def period_bounds(period: str) -> tuple[float, float]:
    """(start, end) of a ``YYYY-MM`` period, as epoch seconds (UTC)."""
    from datetime import UTC, datetime

    year, month = (int(x) for x in period.split("-"))
    nxt = (year + 1, 1) if month == 12 else (year, month + 1)
    return (datetime(year, month, 1, tzinfo=UTC).timestamp(), datetime(*nxt, 1, tzinfo=UTC).timestamp())


def unguarded_period(at: float) -> str | None:
    """The running period when it is far enough from its end to need no check (None in its last minutes)."""
    from datetime import UTC, datetime

    period = datetime.fromtimestamp(at, UTC).strftime("%Y-%m")
    return period if at < period_bounds(period)[1] - CLOSE_MARGIN_S else None


def closable(period: str, at: float) -> bool:
    """Whether ``period`` may be closed at ``at``: it ended at least ``CLOSE_MARGIN_S`` ago."""
    return at >= period_bounds(period)[1] + CLOSE_MARGIN_S


class _Agg:
    """Accumulates ADD/SET updates per item key, to write each key once per transaction."""

    def __init__(self) -> None:
        self.adds: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.sets: dict[tuple[str, str], dict[str, object]] = defaultdict(dict)

    def add(self, pk: str, sk: str, sets: Mapping[str, object] | None = None, **adds: int) -> None:
        key = (pk, sk)
        for name, value in adds.items():
            self.adds[key][name] += value
        if sets:
            self.sets[key].update({k: v for k, v in sets.items() if v is not None})
        if not adds:
            self.adds[key]

    def keys(self) -> set[tuple[str, str]]:
        return set(self.adds) | set(self.sets)

    def updates(self, table: str) -> list[TransactItem]:
        out: list[TransactItem] = []
        for pk, sk in sorted(self.keys()):
            names: dict[str, str] = {}
            values: dict[str, AttrValue] = {}
            add_parts, set_parts = [], []
            for i, (name, value) in enumerate(sorted(self.adds.get((pk, sk), {}).items())):
                names[f"#a{i}"] = name
                values[f":a{i}"] = {"N": str(value)}
                add_parts.append(f"#a{i} :a{i}")
            for i, (name, set_to) in enumerate(sorted(self.sets.get((pk, sk), {}).items())):
                names[f"#s{i}"] = name
                values[f":s{i}"] = to_value(set_to)
                set_parts.append(f"#s{i} = :s{i}")
            expr = " ".join(
                p
                for p in (
                    f"SET {', '.join(set_parts)}" if set_parts else "",
                    f"ADD {', '.join(add_parts)}" if add_parts else "",
                )
                if p
            )
            update: UpdateAction
            if expr:
                update = {"TableName": table, "Key": _key(pk, sk), "UpdateExpression": expr}
                update["ExpressionAttributeNames"] = names
                if values:
                    update["ExpressionAttributeValues"] = values
            else:
                update = {
                    "TableName": table,
                    "Key": _key(pk, sk),
                    "UpdateExpression": "SET #t = :t",
                    "ExpressionAttributeNames": {"#t": "touched"},
                    "ExpressionAttributeValues": {":t": {"N": "1"}},
                }
            out.append({"Update": update})
        return out


PLATFORM_SHARDS = 8
"""Copies of the platform's shared totals (fee balance, statement-index entry): concurrent chunks write different
copies instead of all conflicting on one item (docs/performance.md, "The consumer at scale")."""

SHARD_MARK = "~"  # never in an account id (ids are ``acc_`` + base32): ``platform~3`` is shard 3 of ``platform``


def sharded(account: str, shard: int) -> str:
    """The name an account's shared totals are written under: the platform's shard, anyone else's own."""
    return f"{account}{SHARD_MARK}{shard % PLATFORM_SHARDS}" if account == PLATFORM else account


def unsharded(name: str) -> str:
    """The account a (possibly sharded) total belongs to."""
    return name.split(SHARD_MARK, 1)[0]


def chunk_shard(entries: list[Entry]) -> int:
    """A chunk's platform shard: stable for the chunk (its retries write the same copy), spread across chunks."""
    return zlib.crc32(entries[0].dedup_key.encode()) % PLATFORM_SHARDS if entries else 0


def backoff(attempt: int, base_s: float = 0.025, cap_s: float = 1.0, rng: random.Random | None = None) -> float:
    """Full-jitter exponential backoff (AWS Architecture Blog, "Exponential Backoff And Jitter", 2015): a uniform
    draw in [0, min(cap, base x 2^attempt)], so writers that conflicted once do not collide again in step."""
    top = min(cap_s, base_s * 2**attempt)
    return rng.uniform(0, top) if rng is not None else random.uniform(0, top)


def aggregate(entries: Iterable[Entry], shard: int = 0) -> _Agg:
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
            agg.add(f"STMTIDX#{e.period}", sharded(account, shard))
        for p in e.postings:
            agg.add(
                f"BAL#{sharded(p['account'], shard)}#{e.currency}",
                "BAL",
                {"currency": e.currency},
                balance_micros=p["amount_micros"],
            )
        if e.gross:
            agg.add(f"SPEND#{e.license_id}", "SPEND", None, spent_micros=e.gross)
        if e.pool_id:
            rev = f"POOLREV#{e.pool_id}#{e.period}"
            if e.net:
                net = {"usage_net_micros" if e.kind == "usage" else "charge_net_micros": e.net}
                agg.add(
                    rev, f"L#{e.license_id}#{e.currency}", {"license_id": e.license_id, "currency": e.currency}, **net
                )
                agg.add("POOLIDX", e.pool_id)
            if e.kind == "usage" and e.asset_id:
                agg.add(
                    rev,
                    f"U#{e.license_id}#{e.asset_id}",
                    {
                        "license_id": e.license_id,
                        "asset_id": e.asset_id,
                        "publisher_id": e.asset_publisher_id,
                        "currency": e.currency,
                    },
                    charged_micros=e.gross,
                    accesses=e.accesses,
                )
    return agg


COMMIT_ATTEMPTS = 10
"""Transactions per chunk before it fails back to the queue: with full jitter capped at 1 s, about 3 s of waiting;
a refused condition (duplicate, released lease, closed period) is resolved in one more attempt each."""

REPORT_TX_EVENTS = 80  # reported events per transaction (with the budget updates of their licences: <= 100 items)


@dataclass(frozen=True)
class Reported:
    """A reported event being recorded: its charge is reserved on the licence's budget when ``capped``."""

    event_id: str
    license_id: str
    micros: int
    capped: bool


SEQ_WIDTH = 128  # Kinesis sequence numbers are decimal strings of up to 128 digits: padded, they compare as strings


def padded(seq: str) -> str:
    return seq.zfill(SEQ_WIDTH)


@dataclass
class Cursor:
    """A chunk of stream records' place in its shard: its commit moves the shard's cursor instead of writing a journal
    item per event. ``seq_of`` maps each entry's ``dedup_key`` to its record's sequence number; ``committed`` is the
    cursor as last read (None: not read yet; the first attempt assumes the chunk is new and the condition checks it)."""

    stream: str
    shard: str
    seq_of: dict[str, str]
    committed: str | None = None

    @property
    def pk(self) -> str:
        return f"SEQ#{self.stream}#{self.shard}"

    def fresh(self, entries: list[Entry]) -> list[Entry]:
        """The entries after the cursor."""
        if self.committed is None:
            return entries
        return [e for e in entries if padded(self.seq_of[e.dedup_key]) > self.committed]

    def items(self, table: str, entries: list[Entry], now: float) -> list[TransactItem]:
        """The cursor's move (conditional) and the chunk's journal item."""
        seqs = sorted(padded(self.seq_of[e.dedup_key]) for e in entries)
        first, last = seqs[0], seqs[-1]
        sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for e in entries:
            for p in e.postings:
                sums[e.currency][p["account"]] += p["amount_micros"]
        journal: Record = {
            "pk": self.pk,
            "sk": f"C#{first}",
            "stream": self.stream,
            "shard": self.shard,
            "first_seq": first.lstrip("0") or "0",
            "last_seq": last.lstrip("0") or "0",
            "events": len(entries),
            "periods": sorted({e.period for e in entries}),
            "currencies": [
                {
                    "currency": currency,
                    "postings": [{"account": a, "amount_micros": m} for a, m in sorted(by_account.items()) if m],
                }
                for currency, by_account in sorted(sums.items())
            ],
            "written_at": int(now),
        }
        return [
            {
                "Update": {
                    "TableName": table,
                    "Key": _key(self.pk, "CURSOR"),
                    "UpdateExpression": "SET #s = :last",
                    "ConditionExpression": "attribute_not_exists(#s) OR #s < :first",
                    "ExpressionAttributeNames": {"#s": "seq"},
                    "ExpressionAttributeValues": {":last": {"S": last}, ":first": {"S": first}},
                }
            },
            {
                "Put": {
                    "TableName": table,
                    "Item": to_item(journal),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]


def _rpt_key(buyer_id: str, event_id: str) -> str:
    return f"RPT#{buyer_id}#{event_id}"


def _key(pk: str, sk: str) -> AttrItem:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _reserved_by_licence(group: list[Reported]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for r in group:
        if r.capped and r.micros:
            out[r.license_id] += r.micros
    return out


def _lease_charges(entries: list[Entry]) -> dict[tuple[str, str], int]:
    """Micros charged per (licence, budget lease) by the capped deliveries of a chunk."""
    out: dict[tuple[str, str], int] = defaultdict(int)
    for e in entries:
        if e.lease_id and e.gross:
            out[(e.license_id, e.lease_id)] += e.gross
    return out


def journal_item(e: Entry, now: float) -> Record:
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
        "lease_id": e.lease_id,
        "written_off": e.written_off or None,
        "period": e.period,
        "ttl": None if e.postings else int(now) + JOURNAL_TTL_S,  # money records are kept; free uses expire
    }


class MeteringStore:
    def __init__(self, table: str, licensing_table: str = "") -> None:
        self.table = table
        self.licensing_table = licensing_table  # budget leases of capped deliveries (functions.licensing.dal.budget)

    @property
    def _ddb(self) -> DynamoDBClient:
        return aws.dynamodb()

    def known(self, dedup_keys: list[str]) -> set[str]:
        """Which of these journal keys exist already (a read, one call per 100 keys)."""
        found: set[str] = set()
        unique = list(dict.fromkeys(dedup_keys))
        for i in range(0, len(unique), 100):
            request: Mapping[str, KeysAndAttributesTypeDef | KeysAndAttributesOutputTypeDef] = {
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
    def chunks(entries: list[Entry], stream: bool = False) -> list[list[Entry]]:
        """Split entries so that journal puts + distinct aggregate updates fit one transaction (``stream``: the
        chunk's two cursor items instead of a journal put per entry, so a chunk is as long as its aggregates allow)."""
        per_entry, fixed = (0, 2) if stream else (1, 0)
        out: list[list[Entry]] = []
        current: list[Entry] = []
        keys: set[tuple[str, str]] = set()  # the chunk's aggregate keys: the union of its entries' keys
        keys_of: dict[tuple[object, ...], set[tuple[str, str]]] = {}  # entries of one licence/asset/day share keys
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
                e.lease_id,
                e.booked,
            )  # everything aggregate() derives a key from
            mine = keys_of.get(shape)
            if mine is None:
                mine = keys_of[shape] = aggregate((e,)).keys() | {("PERIOD", e.period)}  # + its period's check
                if e.lease_id:  # its lease's update, and room for the budget's if the lease was released
                    mine = mine | {("LEASE", e.lease_id), ("BUDGET", e.license_id)}
            merged = keys | mine
            if current and per_entry * (len(current) + 1) + fixed + len(merged) > MAX_TX_ITEMS:
                out.append(current)
                current, keys = [e], mine
            else:
                current.append(e)
                keys = merged
        if current:
            out.append(current)
        return out

    def commit(self, entries: list[Entry], cursor: Cursor | None = None) -> list[Entry]:
        """Commit one chunk exactly once. Returns the entries that took effect (duplicates dropped).

        With a ``cursor`` (delivery events from the stream) the chunk moves its shard's cursor and writes one chunk
        journal item; entries at or below the cursor are already committed and dropped.

        Capped deliveries also book what they charged on their budget lease, in the same transaction. A lease found
        released (its holder's time ran out before metering caught up) makes those deliveries reserve on the budget
        directly; if the budget cannot cover them they are written off (booked at zero)."""
        ddb = self._ddb
        pending = list(entries)
        late: set[str] = set()  # leases found released
        unpaid: set[str] = set()  # leases whose late deliveries the budget cannot cover
        for attempt in range(COMMIT_ATTEMPTS):
            if not pending:
                return []
            pending = [written_off(e) if e.lease_id in unpaid and not e.written_off else e for e in pending]
            if cursor is not None:
                pending = cursor.fresh(pending)
                if not pending:
                    return []
            pending = self._book_open(pending)
            now = time.time()
            items: list[TransactItem]
            if cursor is not None:
                items = cursor.items(self.table, pending, now)
            else:
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
            journal_items = len(items)
            items += aggregate(pending, chunk_shard(pending)).updates(self.table)
            slots: dict[int, tuple[set[str], set[str]]] = {}  # transaction index -> (leases, late or unpaid)
            late_by_licence: dict[str, dict[str, int]] = defaultdict(dict)
            for (license_id, lease_id), micros in sorted(_lease_charges(pending).items()):
                if lease_id in late:
                    late_by_licence[license_id][lease_id] = micros
                else:
                    slots[len(items)] = ({lease_id}, late)
                    items.append(budget.lease_use_update(self.licensing_table, license_id, lease_id, micros))
            for license_id, leases in sorted(late_by_licence.items()):
                slots[len(items)] = (set(leases), unpaid)
                items += budget.late_use_updates(self.licensing_table, license_id, leases)
            running = unguarded_period(clock.now().timestamp())  # cannot be closed yet: no check needed
            for period in sorted({e.period for e in pending} - {running}):  # booked only while its period is open
                slots[len(items)] = ({period}, CLOSED_PERIODS)
                items.append({"ConditionCheck": self._period_check(period)})
            try:
                ddb.transact_write_items(TransactItems=items)
                return pending
            except ddb.exceptions.TransactionCanceledException as exc:
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                failed = {i for i, code in enumerate(reasons) if code == "ConditionalCheckFailed"}
                if cursor is not None:
                    if failed & {0, 1}:  # the cursor moved past the chunk's start: read where it is
                        cursor.committed = self.cursor(cursor.stream, cursor.shard) or ""
                    dupes: set[int] = set()
                else:
                    dupes = {i for i in failed if i < journal_items}
                for i in failed & set(slots):
                    found, into = slots[i]
                    into |= found
                if dupes:
                    pending = [e for i, e in enumerate(pending) if i not in dupes]
                if failed:
                    continue
                time.sleep(backoff(attempt))  # TransactionConflict: another writer holds one of its items
        raise RuntimeError("could not commit metering chunk after retries")

    def cursor(self, stream: str, shard: str) -> str | None:
        """A stream shard's committed position (padded), or None before its first chunk."""
        got = self.get(f"SEQ#{stream}#{shard}", "CURSOR")
        return str(got["seq"]) if got and got.get("seq") else None

    # ------------------------------------------------------------------ usage reads
    def usage_rows(self, view: str, account_id: str | None, first_day: str, last_day: str) -> list[UsageRow]:
        """Usage aggregates from ``first_day`` to ``last_day`` (``YYYY-MM-DD``, both included): a buyer's, a
        publisher's (``view``) or, for ``all``, the marketplace's."""
        pk = "USAGE#ALL" if view == "all" else f"USAGE#{'B' if view == 'buyer' else 'P'}#{account_id}"
        return cast("list[UsageRow]", self.query_all(pk, sk_between=(first_day, last_day + "~")))

    # ------------------------------------------------------------------ periods
    def _period_check(self, period: str) -> CheckAction:
        return {
            "TableName": self.table,
            "Key": _key(f"PERIOD#{period}", "P"),
            "ConditionExpression": "attribute_not_exists(closed_at)",
        }

    def _book_open(self, entries: list[Entry]) -> list[Entry]:
        """Entries whose own period is closed are booked in the open period (API v1.1: periods close for good)."""
        if not any(e.period in CLOSED_PERIODS for e in entries):
            return entries
        open_period = clock.now_iso()[:7]
        return [rebooked(e, open_period) if e.period in CLOSED_PERIODS else e for e in entries]

    def period(self, period: str) -> PeriodRecord | None:
        """The closed period's record (``closed_at``), or None while it is open."""
        got = self.get(f"PERIOD#{period}", "P")
        if got is not None:
            CLOSED_PERIODS.add(period)
        return cast(PeriodRecord, got)

    def close_period(self, period: str, closed_at: str, closed_by: str | None) -> str:
        """Close the period for good (once); returns its ``closed_at``. From this write on, no metering transaction
        can book in it: each carries a condition on this record. Refused (``distribution_in_progress``) while a pool
        distribution booked in this period is not completely booked (``pending_distributions``): a distribution is
        booked in one period, whole."""
        item = {"pk": f"PERIOD#{period}", "sk": "P", "period": period, "closed_at": closed_at, "closed_by": closed_by}
        done = self._transact_retrying(
            [
                {
                    "ConditionCheck": {
                        "TableName": self.table,
                        "Key": _key(f"{DIST_PENDING}{period}", "P"),
                        "ConditionExpression": "attribute_not_exists(pending)",
                    }
                },
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": to_item(item),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
        got = self.period(period)
        if got is None:
            assert not done
            pending = ", ".join(f"pool {p} for {d}" for p, d in self.pending_distributions(period))
            raise StateConflict(
                f"{period} has pool distributions still being booked in it ({pending}); close it again.",
                code="distribution_in_progress",
            )
        return str(got["closed_at"])

    def pending_distributions(self, booked_period: str) -> list[tuple[str, str]]:
        """``(pool_id, distributed period)`` of each distribution booked in ``booked_period`` whose postings are not
        all booked yet (a run crashed, or is running)."""
        got = self.get(f"{DIST_PENDING}{booked_period}", "P") or {}
        pending = cast("list[str]", got.get("pending") or [])
        return [cast("tuple[str, str]", tuple(x.rsplit("#", 1))) for x in sorted(pending)]

    def statement_accounts(self, period: str) -> list[str]:
        names = (unsharded(str(r["sk"])) for r in self.query_all(f"STMTIDX#{period}", consistent=True))
        return sorted(dict.fromkeys(names))

    def statement_rows(self, account_id: str, period: str) -> list[StatementRow]:
        return cast("list[StatementRow]", self.query_all(f"STMT#{account_id}#{period}", consistent=True))

    def statement_close(self, account_id: str, period: str) -> StatementClose | None:
        return cast("StatementClose | None", self.get(f"STMTCLOSE#{account_id}#{period}", "STM"))

    def save_statement_close(self, account_id: str, period: str, record: StatementClose) -> StatementClose:
        """Record a closed statement's id and hash once; returns the record that holds (ours or an earlier one)."""
        item = {"pk": f"STMTCLOSE#{account_id}#{period}", "sk": "STM", "account_id": account_id, "period": period}
        if self.put_once({**item, **record}):
            return record
        got = self.statement_close(account_id, period)
        assert got is not None
        return got

    def balance(self, account_id: str, currency: str) -> int:
        if account_id != PLATFORM:
            row = self.get(f"BAL#{account_id}#{currency}", "BAL") or {}
            return int(cast(int, row.get("balance_micros", 0)))
        names = [account_id] + [sharded(account_id, n) for n in range(PLATFORM_SHARDS)]  # + any unsharded total
        keys = [_key(f"BAL#{name}#{currency}", "BAL") for name in names]
        request: Mapping[str, KeysAndAttributesTypeDef | KeysAndAttributesOutputTypeDef] = {
            self.table: {"Keys": keys, "ConsistentRead": True}
        }
        total = 0
        for _ in range(8):
            got = self._ddb.batch_get_item(RequestItems=request)
            total += sum(int(it.get("balance_micros", {}).get("N", "0")) for it in got["Responses"].get(self.table, []))
            request = got.get("UnprocessedKeys") or {}
            if not request:
                return total
        raise RuntimeError("could not read the platform's balance shards")

    # ------------------------------------------------------------------ pools
    def pools(self) -> list[str]:
        """Every pool that ever earned revenue."""
        return [str(r["sk"]) for r in self.query_all("POOLIDX", consistent=True)]

    def pool_revenue(self, pool_id: str, period: str) -> tuple[list[PoolRevenueRow], list[PoolRevenueRow]]:
        """(licence revenue rows ``L#``, member asset use rows ``U#``) of a pool in a period."""
        rows = cast("list[PoolRevenueRow]", self.query_all(f"POOLREV#{pool_id}#{period}", consistent=True))
        return [r for r in rows if r["sk"].startswith("L#")], [r for r in rows if r["sk"].startswith("U#")]

    def carry_state(self, pool_id: str) -> tuple[int, list[CarryRecord]]:
        """(version, open carries) of a pool."""
        got = self.get(f"CARRY#{pool_id}", "STATE") or {}
        return int(cast(int, got.get("version", 0))), list(cast("list[CarryRecord]", got.get("open") or []))

    def distribution(self, pool_id: str, period: str) -> DistributionRecord | None:
        return cast("DistributionRecord | None", self.get(f"DIST#{pool_id}#{period}", "DIST"))

    def save_distribution(self, record: DistributionRecord, carries: list[CarryRecord], version: int) -> bool:
        """Write the distribution once, with the pool's open carries it leaves, if the carries are still those it was
        computed from (``version``). False: another distribution of this pool got there first (read it, or
        recompute)."""
        pool_id = record["pool_id"]
        cond = "attribute_not_exists(pk)" if version == 0 else "version = :v"
        values: dict[str, AttrValue] = {":n": {"N": str(version + 1)}, ":o": to_value(carries)}
        if version:
            values[":v"] = {"N": str(version)}
        booked = record["booked_period"]
        return self._transact_retrying(
            [
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": to_item({"pk": f"DIST#{pool_id}#{record['period']}", "sk": "DIST", **record}),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                # booked in one open period, whole: that period cannot close until every posting is booked
                {"ConditionCheck": self._period_check(booked)},
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _key(f"{DIST_PENDING}{booked}", "P"),
                        "UpdateExpression": "ADD pending :d",
                        "ExpressionAttributeValues": {":d": {"SS": [f"{pool_id}#{record['period']}"]}},
                    }
                },
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _key(f"CARRY#{pool_id}", "STATE"),
                        "UpdateExpression": "SET version = :n, #o = :o",
                        "ConditionExpression": cond,
                        "ExpressionAttributeNames": {"#o": "open"},
                        "ExpressionAttributeValues": values,
                    }
                },
            ]
        )

    def apply_distribution(self, record: DistributionRecord) -> None:
        """Book each currency's postings of a distribution once, in the open period it ran in: the balances, a
        statement line per account (``DIST#<pool>#<period>#<currency>``) and a marker per posting, conditionally on
        the marker (a crashed run is completed by the next) and on the booking period still being open."""
        pool_id, period = record["pool_id"], record["period"]
        for cur in record["currencies"]:
            postings = cur["postings"]
            for i in range(0, len(postings), DIST_POSTINGS_PER_TX):
                group = postings[i : i + DIST_POSTINGS_PER_TX]
                for _ in range(3):
                    booked = record["booked_period"]
                    if booked in CLOSED_PERIODS or self.period(booked) is not None:
                        booked = clock.now_iso()[:7]
                    items: list[TransactItem] = [{"ConditionCheck": self._period_check(booked)}]
                    for p in group:
                        items += self._posting_items(pool_id, period, cur, p, booked)
                    if self._transact_retrying(items):  # balances are shared with metering: conflicts happen
                        break
                    if self.get(f"DISTM#{pool_id}#{period}#{cur['currency']}#{group[0]['account']}", "D"):
                        break  # applied by an earlier run
                else:
                    raise RuntimeError("could not book the distribution")
        ddb = self._ddb
        for attempt in range(COMMIT_ATTEMPTS):
            try:
                ddb.update_item(
                    TableName=self.table,
                    Key=_key(f"{DIST_PENDING}{record['booked_period']}", "P"),
                    UpdateExpression="DELETE pending :d",
                    ExpressionAttributeValues={":d": {"SS": [f"{pool_id}#{period}"]}},
                )
                return
            except ddb.exceptions.TransactionConflictException:  # another distribution's save holds the set
                time.sleep(backoff(attempt))
        raise RuntimeError("could not clear the distribution's pending mark (the next close completes it)")

    def _transact_retrying(self, items: list[TransactItem]) -> bool:
        """``transact``, with a ``TransactionConflict`` (another transaction on one of the items: a chunk checking the
        same period, another distribution's save of the same pending set) waited out with jittered backoff."""
        ddb = self._ddb
        for attempt in range(COMMIT_ATTEMPTS):
            try:
                return self.transact(items)
            except ddb.exceptions.TransactionCanceledException:  # no condition failed: a conflict
                time.sleep(backoff(attempt))
        raise RuntimeError("the transaction kept conflicting after retries")

    def _posting_items(
        self, pool_id: str, period: str, cur: CurrencyRecord, posting: Posting, booked: str
    ) -> list[TransactItem]:
        account, amount, currency = posting["account"], int(posting["amount_micros"]), cur["currency"]
        line: dict[str, object]
        if account == pool_id:
            line = {
                "share_micros": amount,
                "carried_in_micros": cur["carried_in_micros"],
                "carried_forward_micros": cur["carried_forward_micros"],
            }
        else:
            mine = [m for m in cur["members"] if m["publisher_id"] == account]
            line = {
                "share_micros": amount,
                "accesses": sum(int(m["accesses"]) for m in mine),
                "charged_micros": sum(int(m["charged_micros"]) for m in mine),
            }
        line.update(pool_id=pool_id, distributed_period=period, currency=currency)
        line["pool_net_micros"] = cur["net_revenue_micros"]
        return [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_item(
                        {
                            "pk": f"DISTM#{pool_id}#{period}#{currency}#{account}",
                            "sk": "D",
                            "pool_id": pool_id,
                            "period": period,
                            "account": account,
                            "currency": currency,
                            "amount_micros": amount,
                            "booked_period": booked,
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Update": {
                    "TableName": self.table,
                    "Key": _key(f"BAL#{account}#{currency}", "BAL"),
                    "UpdateExpression": "ADD balance_micros :a SET currency = :c",
                    "ExpressionAttributeValues": {":a": {"N": str(amount)}, ":c": {"S": currency}},
                }
            },
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_item(
                        {"pk": f"STMT#{account}#{booked}", "sk": f"DIST#{pool_id}#{period}#{currency}", **line}
                    ),
                }
            },
            {"Put": {"TableName": self.table, "Item": to_item({"pk": f"STMTIDX#{booked}", "sk": account})}},
        ]

    def attributed(self, pool_id: str, currency: str, periods: list[str]) -> dict[str, tuple[str, int]]:
        """Per member asset, (publisher, attributed micros) in this pool's distributions of ``periods``."""
        out: dict[str, tuple[str, int]] = {}
        for period in periods:
            dist = self.distribution(pool_id, period)
            for cur in dist["currencies"] if dist else []:
                if cur["currency"] != currency:
                    continue
                for m in cur["members"]:
                    publisher, before = out.get(m["asset_id"], (m["publisher_id"], 0))
                    out[m["asset_id"]] = (publisher, before + int(m["attributed_micros"]))
        return out

    # ------------------------------------------------------------------ reported events (POST /v1/usage)
    def reported(self, buyer_id: str, event_ids: list[str]) -> set[str]:
        """Which of these event ids the buyer has already reported (recorded at request time, or metered before
        request-time records existed)."""
        keys = [k for i in event_ids for k in (_rpt_key(buyer_id, i), event_key(buyer_id, i))]
        found = self.known(keys)
        return {i for i in event_ids if _rpt_key(buyer_id, i) in found or event_key(buyer_id, i) in found}

    def record_reported(
        self, buyer_id: str, events: list[Reported], available: Callable[[str], int]
    ) -> tuple[list[Reported], set[str], set[str]]:
        """Record reported events at request time, each id once for ever (``duplicates`` exact at request time), and
        reserve their charges on the budgets of capped licences in the same transaction. Returns (recorded, duplicate
        ids, ids refused ``budget_exhausted``). ``available(licence)`` reads a budget's unreserved remainder."""
        recorded: list[Reported] = []
        dupes: set[str] = set()
        exhausted: set[str] = set()
        todo = list(events)
        while todo:
            group, todo = todo[:REPORT_TX_EVENTS], todo[REPORT_TX_EVENTS:]
            for attempt in range(COMMIT_ATTEMPTS):
                group = [r for r in group if r.event_id not in dupes and r.event_id not in exhausted]
                if not group:
                    break
                items, budget_slots = self._report_items(buyer_id, group)
                try:
                    self._ddb.transact_write_items(TransactItems=items)
                    recorded += group
                    break
                except self._ddb.exceptions.TransactionCanceledException as exc:
                    reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                    failed = {i for i, code in enumerate(reasons) if code == "ConditionalCheckFailed"}
                    if not failed and "TransactionConflict" in reasons:  # another writer of a budget: again
                        time.sleep(backoff(attempt))
                        continue
                    if not failed:
                        raise
                    dupes |= {group[i].event_id for i in failed if i < len(group)}
                    for i in failed & set(budget_slots):  # keep the events that fit, in order; refuse the rest
                        room = available(budget_slots[i])
                        for r in group:
                            if r.license_id == budget_slots[i] and r.capped and r.event_id not in dupes:
                                if r.micros <= room:
                                    room -= r.micros
                                else:
                                    exhausted.add(r.event_id)
            else:
                raise RuntimeError("could not record reported usage after retries")
        return recorded, dupes, exhausted

    def forget_reported(self, buyer_id: str, events: list[Reported]) -> None:
        """Undo ``record_reported`` for events whose messages could not be queued (they never happened)."""
        for i in range(0, len(events), REPORT_TX_EVENTS):
            group = events[i : i + REPORT_TX_EVENTS]
            items: list[TransactItem] = [
                {"Delete": {"TableName": self.table, "Key": _key(_rpt_key(buyer_id, r.event_id), "E")}} for r in group
            ]
            for license_id, micros in sorted(_reserved_by_licence(group).items()):
                items.append(budget.unreserve_update(self.licensing_table, license_id, micros))
            self._ddb.transact_write_items(TransactItems=items)

    def _report_items(self, buyer_id: str, group: list[Reported]) -> tuple[list[TransactItem], dict[int, str]]:
        ttl = int(time.time()) + JOURNAL_TTL_S
        items: list[TransactItem] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_item(
                        {
                            "pk": _rpt_key(buyer_id, r.event_id),
                            "sk": "E",
                            "license_id": r.license_id,
                            "reserved_micros": r.micros if r.capped else 0,
                            "ttl": ttl,
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for r in group
        ]
        slots: dict[int, str] = {}
        for license_id, micros in sorted(_reserved_by_licence(group).items()):
            slots[len(items)] = license_id
            items.append(budget.reserve_update(self.licensing_table, license_id, micros))
        return items, slots

    # ------------------------------------------------------------------ reads
    def query_all(
        self,
        pk: str,
        *,
        sk_between: tuple[str, str] | None = None,
        sk_prefix: str | None = None,
        consistent: bool = False,
    ) -> list[Record]:
        values: dict[str, AttrValue] = {":pk": {"S": pk}}
        cond = "pk = :pk"
        if sk_between:
            cond += " AND sk BETWEEN :a AND :b"
            values.update({":a": {"S": sk_between[0]}, ":b": {"S": sk_between[1]}})
        elif sk_prefix:
            cond += " AND begins_with(sk, :p)"
            values[":p"] = {"S": sk_prefix}
        args: QueryInputTypeDef = {
            "TableName": self.table,
            "ConsistentRead": consistent,
            "ExpressionAttributeValues": values,
            "KeyConditionExpression": cond,
        }
        out: list[Record] = []
        while True:
            got = self._ddb.query(**args)
            out += [from_item(i) for i in got.get("Items", [])]
            if "LastEvaluatedKey" not in got:
                return out
            args["ExclusiveStartKey"] = got["LastEvaluatedKey"]

    def get(self, pk: str, sk: str) -> Record | None:
        got = self._ddb.get_item(TableName=self.table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True)
        return from_item(got["Item"]) if "Item" in got else None

    def put_once(self, item: Mapping[str, object]) -> bool:
        ddb = self._ddb
        try:
            ddb.put_item(TableName=self.table, Item=to_item(item), ConditionExpression="attribute_not_exists(pk)")
            return True
        except ddb.exceptions.ConditionalCheckFailedException:
            return False

    def transact(self, items: list[TransactItem]) -> bool:
        """Run a transaction; False when one of its conditions failed (already done)."""
        ddb = self._ddb
        try:
            ddb.transact_write_items(TransactItems=items)
            return True
        except ddb.exceptions.TransactionCanceledException as exc:
            if any(r.get("Code") == "ConditionalCheckFailed" for r in exc.response.get("CancellationReasons", [])):
                return False
            raise

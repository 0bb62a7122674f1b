"""What the ledger auditor reads: a parallel, paginated ``Scan`` of the metering and licensing tables, each item
turned into the auditor's record (``functions.metering.logic.audit``). The keys are the ones in the table of
``functions.metering.dal.store`` and ``functions.licensing.dal`` (this module owns their parsing for the auditor).

A scan is the auditor's access pattern and nobody else's: it runs from a schedule or ``make audit``, never on a
request path. It is not a snapshot of the table: ``logic.audit.confirmed`` keeps only what two passes agree on.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, cast

from functions.metering.dal.store import unsharded
from functions.metering.logic.audit import (
    AppliedPosting,
    BalanceRecord,
    BatchJournal,
    BudgetRecord,
    CurrencyDistribution,
    DistributionRecord,
    JournalEntry,
    LicenceCap,
    MemberShare,
    Posting,
    Record,
    SpendRecord,
    StatementClose,
    StatementLineRecord,
)
from functions.metering.models import records
from functions.shared import aws
from functions.shared.ddb import from_item
from functions.shared.jsontypes import AttrItem, AttrValue

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import ScanInputTypeDef

SEGMENTS = 4
SKIPPED_PREFIXES = ("USAGE#", "RPT#", "STMTIDX#", "POOLREV#", "POOLUSE#", "POOLIDX", "CARRY#", "PERIOD#")
"""Metering records no invariant reads (filtered server-side: less to transfer, same read cost)."""
LICENSING_PREFIXES = ("LIC#", "BUDGET#")


def scan(
    table: str,
    *,
    segments: int = SEGMENTS,
    filter_expression: str | None = None,
    values: dict[str, AttrValue] | None = None,
    projection: str | None = None,
    names: dict[str, str] | None = None,
) -> Iterator[dict[str, object]]:
    """Every item of ``table`` (plain values), read by ``segments`` parallel segment scans, page by page."""
    ddb = aws.dynamodb()
    pages: queue.Queue[list[AttrItem] | BaseException | None] = queue.Queue(maxsize=4 * segments)
    stop = threading.Event()

    def segment(n: int) -> None:
        args: ScanInputTypeDef = {
            "TableName": table,
            "Segment": n,
            "TotalSegments": segments,
            "ConsistentRead": True,
        }
        if filter_expression:
            args["FilterExpression"] = filter_expression
        if values:
            args["ExpressionAttributeValues"] = values
        if projection:
            args["ProjectionExpression"] = projection
        if names:
            args["ExpressionAttributeNames"] = names
        try:
            while not stop.is_set():
                got = ddb.scan(**args)
                pages.put(got.get("Items", []))
                if "LastEvaluatedKey" not in got:
                    break
                args["ExclusiveStartKey"] = got["LastEvaluatedKey"]
            pages.put(None)
        except BaseException as exc:  # handed to the reader, which raises it
            pages.put(exc)

    threads = [
        threading.Thread(target=segment, args=(n,), name=f"audit-scan-{n}", daemon=True) for n in range(segments)
    ]
    for t in threads:
        t.start()
    done = 0
    try:
        while done < segments:
            page = pages.get()
            if page is None:
                done += 1
            elif isinstance(page, BaseException):
                raise page
            else:
                for item in page:
                    yield from_item(item)
    finally:
        stop.set()
        while any(t.is_alive() for t in threads):  # unblock writers waiting on a full queue
            try:
                pages.get(timeout=0.05)
            except queue.Empty:
                pass


def _not_prefixed(prefixes: tuple[str, ...]) -> tuple[str, dict[str, AttrValue]]:
    names = [f":p{i}" for i in range(len(prefixes))]
    expr = " AND ".join(f"NOT begins_with(pk, {n})" for n in names)
    return expr, {n: {"S": p} for n, p in zip(names, prefixes, strict=True)}


def metering_records(table: str, *, segments: int = SEGMENTS) -> Iterator[Record]:
    expr, values = _not_prefixed(SKIPPED_PREFIXES)
    for item in scan(table, segments=segments, filter_expression=expr, values=values):
        record = metering_record(item)
        if record is not None:
            yield record


def licensing_records(table: str, *, segments: int = SEGMENTS) -> Iterator[Record]:
    for item in scan(
        table,
        segments=segments,
        filter_expression="begins_with(pk, :lic) OR (begins_with(pk, :b) AND sk = :bs)",
        values={":lic": {"S": "LIC#"}, ":b": {"S": "BUDGET#"}, ":bs": {"S": "BUDGET"}},
        projection="pk, sk, budget_cap_micros, cap_micros, reserved_micros",
    ):
        record = licensing_record(item)
        if record is not None:
            yield record


def ledger_records(metering_table: str, licensing_table: str, *, segments: int = SEGMENTS) -> Iterator[Record]:
    """Every audit record of both tables (the auditor's read port)."""
    yield from metering_records(metering_table, segments=segments)
    yield from licensing_records(licensing_table, segments=segments)


def fetch(metering_table: str, licensing_table: str, pk: str, sk: str) -> dict[str, object] | None:
    """The stored item a violation names (from whichever table holds that key), to show it."""
    table = licensing_table if pk.startswith(LICENSING_PREFIXES) else metering_table
    got = aws.dynamodb().get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True)
    return from_item(got["Item"]) if "Item" in got else None


# ----------------------------------------------------------------------------------------- items -> audit records
def _int(value: object) -> int:
    if value is None or isinstance(value, int | float | str):
        return int(value or 0)
    raise TypeError(f"not a number: {value!r}")


def _rows(raw: object) -> list[Mapping[str, object]]:
    """A stored list of maps (postings, members, currencies), as read."""
    return cast("list[Mapping[str, object]]", raw or [])


def _postings(raw: object) -> tuple[Posting, ...]:
    return tuple(Posting(str(p["account"]), _int(p.get("amount_micros"))) for p in _rows(raw))


def metering_record(item: Mapping[str, object]) -> Record | None:
    """The audit record of one metering item, or None for records no invariant reads."""
    pk, sk = str(item["pk"]), str(item["sk"])
    head = pk.split("#", 1)[0]
    if head in ("EVT", "CHG") and sk == "E":
        return JournalEntry(pk, sk, str(item.get("currency") or ""), _postings(item.get("postings")))
    if head == "SEQ" and sk.startswith("C#"):  # a delivery-stream chunk's journal (dal.store.Cursor)
        return BatchJournal(
            pk,
            sk,
            tuple(
                JournalEntry(pk, sk, str(c.get("currency") or ""), _postings(c.get("postings")))
                for c in _rows(item.get("currencies"))
            ),
        )
    if head == "BAL" and sk == "BAL":
        account, _, currency = pk.removeprefix("BAL#").rpartition("#")
        account = unsharded(account)  # the platform's balance is kept in shards (dal.store.PLATFORM_SHARDS)
        return BalanceRecord(pk, sk, account, str(item.get("currency") or currency), _int(item.get("balance_micros")))
    if head == "DISTM":  # DISTM#<pool>#<period>#<currency>#<account>
        _, pool, period, currency, account = pk.split("#", 4)
        return AppliedPosting(
            pk,
            sk,
            str(item.get("account") or account),
            str(item.get("currency") or currency),
            _int(item.get("amount_micros")),
            f"DIST#{pool}#{period}",
            str(item.get("booked_period") or ""),
        )
    if head == "SPEND" and sk == "SPEND":
        return SpendRecord(pk, sk, pk.removeprefix("SPEND#"), _int(item.get("spent_micros")))
    if head == "DIST" and sk == "DIST":
        return distribution_record(item)
    if head == "STMT":  # STMT#<account>#<period>
        account, _, period = pk.removeprefix("STMT#").rpartition("#")
        return StatementLineRecord(
            pk,
            sk,
            account,
            period,
            str(item.get("currency") or ""),
            _int(item.get("net_micros") if not sk.startswith("DIST#") else item.get("share_micros")),
            sk.startswith("DIST#"),
            cast(records.StatementRow, item),
        )
    if head == "STMTCLOSE" and sk == "STM":
        account, _, period = pk.removeprefix("STMTCLOSE#").rpartition("#")
        return StatementClose(
            pk,
            sk,
            str(item.get("account_id") or account),
            str(item.get("period") or period),
            cast("str | None", item.get("sha256")),
            cast(records.StatementClose, item),
        )
    return None


def distribution_record(item: Mapping[str, object]) -> DistributionRecord:
    """``DIST#<pool>#<period>``: per currency, members, carried and postings."""
    pk, sk = str(item["pk"]), str(item["sk"])
    pool, _, period = pk.removeprefix("DIST#").rpartition("#")
    stored = item.get("currencies") or []
    if isinstance(stored, dict):  # {currency: {...}}
        stored = [{"currency": c, **v} for c, v in sorted(stored.items())]
    raw = _rows(stored)
    currencies = tuple(
        CurrencyDistribution(
            currency=str(c.get("currency") or ""),
            net_revenue_micros=_int(c.get("net_revenue_micros")),
            carried_in_micros=_int(c.get("carried_in_micros")),
            carried_forward_micros=_int(c.get("carried_forward_micros")),
            members=tuple(
                MemberShare(str(m.get("publisher_id") or m.get("asset_id") or ""), _int(m.get("share_micros")))
                for m in _rows(c.get("members"))
            ),
            postings=_postings(c.get("postings")),
        )
        for c in raw
    )
    return DistributionRecord(pk, sk, str(item.get("pool_id") or pool), str(item.get("period") or period), currencies)


def licensing_record(item: Mapping[str, object]) -> Record | None:
    pk, sk = str(item["pk"]), str(item["sk"])
    if pk.startswith("LIC#") and sk == "LIC":
        cap = item.get("budget_cap_micros")
        return LicenceCap(pk, sk, pk.removeprefix("LIC#"), None if cap is None else _int(cap))
    if pk.startswith("BUDGET#") and sk == "BUDGET":
        return BudgetRecord(
            pk, sk, pk.removeprefix("BUDGET#"), _int(item.get("cap_micros")), _int(item.get("reserved_micros"))
        )
    return None

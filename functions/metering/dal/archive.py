"""The raw usage archive: JSON lines in the usage bucket, partitioned by event date for Athena/Glue
(``usage/dt=YYYY-MM-DD/<chunk>.jsonl``). One line is an ``ArchiveRow``: its keys are the Glue table's columns
(``infra.constructs.data.USAGE_ARCHIVE_COLUMNS``; tests/infra/test_data.py checks they agree)."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict

from functions.metering.models.entry import Entry
from functions.shared import aws
from functions.shared.typeddict import TypedDict

PREFIX = "usage"


class ArchiveRow(TypedDict):
    """One metered event or charge, as archived (a line of JSON)."""

    event_id: str  # the usage event's id, or the charge id
    license_id: str
    buyer_id: str
    publisher_id: str  # whose asset was used (usage), else the account credited
    asset_id: str | None  # null: a charge on a licence that is not scoped to one asset
    use: str
    units: int
    occurred_at: str  # RFC 3339; Athena: from_iso8601_timestamp(occurred_at)
    amount_micros: int  # gross, in the licence's currency
    currency: str
    source: str  # delivery | report | charge


def row(e: Entry) -> ArchiveRow:
    return {
        "event_id": e.event_id,
        "license_id": e.license_id,
        "buyer_id": e.buyer_id,
        "publisher_id": e.asset_publisher_id or e.publisher_id,
        "asset_id": e.asset_id,
        "use": e.use,
        "units": e.units,
        "occurred_at": e.occurred_at,
        "amount_micros": e.gross,
        "currency": e.currency,
        "source": e.source,
    }


def archive(bucket: str, entries: list[Entry]) -> list[str]:
    """Write the entries, one object per event date. The object key is derived from the entries' ids, so a
    replayed chunk overwrites its own object. Written before the ledger commit: the archive is at-least-once
    (a chunk that fails to commit is archived again in another composition; query with DISTINCT event_id)."""
    by_day: dict[str, list[Entry]] = defaultdict(list)
    for e in entries:
        by_day[e.day].append(e)
    keys = []
    for day, rows in sorted(by_day.items()):
        digest = hashlib.sha256("\n".join(sorted(e.dedup_key for e in rows)).encode()).hexdigest()[:32]
        key = f"{PREFIX}/dt={day}/{digest}.jsonl"
        body = "".join(json.dumps(row(e), separators=(",", ":")) + "\n" for e in rows)
        aws.client("s3").put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType="application/x-ndjson")
        keys.append(key)
    return keys

"""Concurrent commits on one shard's cursor (issue 16): invocations of the stream consumer that overlap in real threads
still meter each delivery exactly once.

Lambda hands a shard's batches over one at a time (parallelization factor 1), but invocations can still overlap on
one shard: a retry of a batch (other batch size, after bisection) while an earlier attempt is finishing, and a stale
invocation of an old batch while the next one runs. R1 for the stream (test_stream_exactly_once.py) plays those one
after another; here they run at the same moment, in threads, with chunks of a few records so that their transactions
interleave. The embedded DynamoDB executes each request atomically (one lock per request, as DynamoDB isolates a
transaction); what is tested is the consumer's own rule: a chunk whose cursor condition fails re-reads the cursor and
commits only what lies after it.

What it catches (checked 2026-11-30 by mutating ``functions.metering.dal.store.Cursor.items``): with neither the
cursor's condition nor the chunk journal's ``attribute_not_exists`` the invocations book overlapping chunks and this
test fails. Either guard alone keeps this race exactly-once here, because a chunk cut back after a refusal starts right
after the cursor, where the winner's chunk journal also starts; R1 for the stream fails without the cursor's
condition (stale batches with other chunk boundaries: 221 events counted for 200).
"""

from __future__ import annotations

import itertools
import json
import threading
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from functions.metering.dal.store import MeteringStore
from local.events import LambdaContext, kinesis_event
from tests.integration.instances import run_at_once
from tests.integration.metering.r1_helpers import delivery, scan

EVENTS = 90
CHUNK = {"MainThread": 4}  # records per transaction, per invocation: many commits per batch, so that the threads'
# commits interleave, and other boundaries in each (a chunk's end depends on its batch's contents), so that chunks
# overlap without starting at the same record


def _messages(lic: dict[str, Any], market: dict[str, Any]) -> list[dict[str, Any]]:
    at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return [delivery(market, lic["id"], f"evt-par-{i}", at) for i in range(EVENTS)]


def test_overlapping_invocations_on_one_shard_meter_each_delivery_once(
    aws: dict[str, str], market: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    buyer = market["buyer"]
    lic = buyer.post("/v1/licenses", {"offer_id": market["per_access"]["id"], "use": "ai-input"}).json["license"]
    kinesis, stream = boto3.client("kinesis"), aws["DELIVERIES_STREAM"]
    (shard, *_) = [s["ShardId"] for s in kinesis.list_shards(StreamName=stream)["Shards"]]
    hash_key = kinesis.list_shards(StreamName=stream)["Shards"][0]["HashKeyRange"]["StartingHashKey"]
    for m in _messages(lic, market):  # all on one shard: one cursor for every thread to race on
        kinesis.put_record(StreamName=stream, Data=json.dumps(m).encode(), PartitionKey="p", ExplicitHashKey=hash_key)
    it = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = kinesis.get_records(ShardIterator=it["ShardIterator"], Limit=10_000)["Records"]
    assert len(records) == EVENTS
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]

    real_chunks = MeteringStore.chunks
    monkeypatch.setattr(
        MeteringStore,
        "chunks",
        staticmethod(
            lambda entries, stream=False: [
                part[i : i + size]
                for size in [CHUNK[threading.current_thread().name]]
                for part in real_chunks(entries, stream)
                for i in range(0, len(part), size)
            ]
        ),
    )
    commits = {"refused": 0}
    real_commit = MeteringStore.commit

    def counting_commit(self: MeteringStore, entries: list[Any], cursor: Any = None) -> list[Any]:
        done = real_commit(self, entries, cursor)
        if len(done) < len(entries):
            commits["refused"] += 1  # another thread had committed (part of) this chunk first
        return done

    monkeypatch.setattr(MeteringStore, "commit", counting_commit)
    from functions.metering.handlers.stream import handler

    # Given the first 20 records already metered (the checkpoint moved past them)
    assert handler(kinesis_event(records[:20], arn, shard), LambdaContext())["batchItemFailures"] == []

    # When, at the same moment: a stale invocation of that old batch, the next batch, two retries of it with other
    # sizes (bisected), and the same batch twice more
    batches = [records[:20], records[20:], records[20:55], records[20:37], records[20:], records[20:71]]
    answers: list[Any] = [None] * len(batches)

    def run(i: int) -> None:
        try:
            answers[i] = handler(kinesis_event(batches[i], arn, shard), LambdaContext())
        except BaseException as exc:  # reported by the assertion below
            answers[i] = exc

    names = [f"invocation-{i}" for i in range(len(batches))]
    CHUNK.update({name: 3 + i % 5 for i, name in enumerate(names)})
    # switch threads often: the invocations' chunks interleave
    run_at_once([lambda i=i: run(i) for i in range(len(batches))], switch_interval=1e-5, names=names)

    # Then every invocation answered (none crashed)
    assert all(isinstance(a, dict) for a in answers), answers
    # And a last retry from the checkpoint (what Lambda does after any failure) adds nothing that was metered
    assert handler(kinesis_event(records[20:], arn, shard), LambdaContext())["batchItemFailures"] == []
    items = scan(aws["METERING_TABLE"])
    chunks = sorted(
        (int(i["first_seq"]), int(i["last_seq"]), i["events"])
        for i in items
        if i["pk"] == f"SEQ#{stream}#{shard}" and i["sk"].startswith("C#")
    )
    # each record in exactly one committed chunk: ranges do not overlap, and they count every delivery once
    assert all(a[1] < b[0] for a, b in itertools.pairwise(chunks)), chunks
    assert sum(c[2] for c in chunks) == EVENTS
    (cursor,) = [i for i in items if i["pk"] == f"SEQ#{stream}#{shard}" and i["sk"] == "CURSOR"]
    assert int(cursor["seq"]) == int(records[-1]["SequenceNumber"])
    assert buyer.get(f"/v1/licenses/{lic['id']}").json["spent_micros"] == 10_000 * EVENTS
    # and the invocations did meet: some chunks lost the race and were cut back to what was new
    assert commits["refused"] > 0, "the invocations never met on the cursor: the test did not test the race"

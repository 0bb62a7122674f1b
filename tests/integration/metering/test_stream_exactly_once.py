"""R1 for the deliveries stream (issue 16): exactly-once effect of metering when delivery events come from Kinesis,
with no journal item per event, only the shard's cursor moved in each chunk's transaction.

The same fault classes as the queue's R1 (tests/integration/metering/test_exactly_once.py), as a stream shows them:
- replayed batches: an invocation whose work was done but whose answer was lost (the checkpoint stays put), and retries
  that start at a failed record with a different batch size (other chunk boundaries);
- crashes half-way through a batch, before and after a chunk commits;
- a stale invocation: an old batch handled again after later batches were committed (a timed-out invocation that
  still finishes); its records are below the cursor;
- out-of-order and late events (``occurred_at`` up to 33 days back, across a month boundary);
- poison records (not JSON, not a delivery, unknown licence, a reported event put on the wrong transport).
Duplicate *records* are not injected: the producer never writes a delivery twice (it does not resend after an
ambiguous answer: tests/unit/licensing/test_delivery_record.py), and a duplicate inside one batch is counted once.

Afterwards every delivery is charged exactly once, the chunk journals sum to zero and agree with the balances, the
aggregates equal a recount of the unique events, and each poison record is in the stream's dead-letter queue.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from functions.metering.dal.store import MeteringStore
from local.events import LambdaContext, kinesis_event
from tests.integration.metering import r1_helpers as r1


@pytest.mark.parametrize("seed", r1.SEEDS)
def test_fault_injection_run_on_the_stream_is_exactly_once(
    aws: dict[str, str], market: dict[str, Any], seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    buyer, asset = market["buyer"], market["asset"]
    buyer_id = market["buyer_acct"]["id"]
    lic = buyer.post("/v1/licenses", {"offer_id": market["per_access"]["id"], "use": "ai-input"}).json["license"]
    kinesis = boto3.client("kinesis")
    stream = aws["DELIVERIES_STREAM"]

    # Given EVENTS deliveries on the stream, spread over its shards, with out-of-order and late timestamps
    now = datetime.now(UTC)
    unique: list[dict[str, Any]] = []
    for i in range(r1.EVENTS):
        unique.append(r1.delivery(market, lic["id"], f"evt-{seed}-{i}", r1.occurred_at(rng, now)))
    poison = [
        b"not json",
        json.dumps([1, 2]).encode(),
        json.dumps({**unique[0], "event_id": "bad-units", "units": 0}).encode(),
        json.dumps({**unique[1], "event_id": "ghost", "license_id": "lic_00000000000000000000000000"}).encode(),
        json.dumps({**unique[2], "event_id": "a-report", "source": "report"}).encode(),
        json.dumps({**unique[3], "event_id": "odd-units", "units": [1]}).encode(),  # a TypeError, not a ValueError
        json.dumps({**unique[4], "event_id": "odd-time", "occurred_at": 20261130}).encode(),
    ]
    payloads = [json.dumps(u).encode() for u in unique] + poison
    rng.shuffle(payloads)
    for i, data in enumerate(payloads):
        kinesis.put_record(StreamName=stream, Data=data, PartitionKey=f"k{rng.randint(0, 10**9)}-{i}")
    shards = [s["ShardId"] for s in kinesis.list_shards(StreamName=stream)["Shards"]]
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    by_shard: dict[str, list[dict[str, Any]]] = {}
    for shard in shards:
        it = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        by_shard[shard] = kinesis.get_records(ShardIterator=it["ShardIterator"], Limit=10_000)["Records"]
    assert sum(len(r) for r in by_shard.values()) == len(payloads) and all(by_shard.values())  # both shards used

    # Crashes: a commit may fail before taking effect, or after (the answer is lost); and the invocation may be killed
    # there (a timeout: nothing after it in the batch runs, not even the handler's own error handling)
    real_commit = MeteringStore.commit

    class Killed(BaseException):
        pass

    def flaky_commit(self: MeteringStore, entries: list[Any], cursor: Any = None) -> list[Any]:
        roll = rng.random()
        if roll < 0.08:
            raise RuntimeError("injected crash before commit")
        if roll < 0.1:
            raise Killed("killed before commit")
        done = real_commit(self, entries, cursor)
        if roll < 0.18:
            raise RuntimeError("injected crash after commit")
        if roll < 0.2:
            raise Killed("killed after commit")
        return done

    monkeypatch.setattr(MeteringStore, "commit", flaky_commit)
    monkeypatch.setattr("functions.metering.dal.store.time.sleep", lambda s: None)
    from functions.metering.handlers.stream import handler

    # When Lambda's event source mapping is played per shard: batches of 1 to 40 records from the checkpoint
    position = dict.fromkeys(shards, 0)  # index of the next record to hand over
    faults: Counter[str] = Counter()
    handled: list[tuple[str, int, int]] = []  # (shard, start, end) of batches handled, for stale replays
    rounds = 0
    while any(position[s] < len(by_shard[s]) for s in shards) and rounds < 2_000:
        rounds += 1
        shard = rng.choice([s for s in shards if position[s] < len(by_shard[s])])
        start = position[shard]
        if handled and rng.random() < 0.08:  # a stale invocation: an old batch of some shard, handled again
            shard, start, end = rng.choice(handled)
            faults["stale"] += 1
            try:
                handler(kinesis_event(by_shard[shard][start:end], arn, shard), LambdaContext())
            except Killed:
                pass
            continue
        end = min(len(by_shard[shard]), start + rng.randint(1, 40))
        batch = by_shard[shard][start:end]
        try:
            failures = handler(kinesis_event(batch, arn, shard), LambdaContext())["batchItemFailures"]
        except Killed:  # the whole invocation failed: the same checkpoint again
            faults["crashed"] += 1
            continue
        handled.append((shard, start, end))
        if rng.random() < 0.15:  # its answer was lost: replayed from the same checkpoint
            faults["replayed"] += 1
            continue
        if failures:
            faults["resumed"] += 1
            seqs = [r["SequenceNumber"] for r in batch]
            position[shard] = start + seqs.index(failures[0]["itemIdentifier"])
        else:
            position[shard] = end

    # Then every record was handed over (each fault class having happened), and each poison record is in the
    # dead-letter queue
    assert all(position[s] == len(by_shard[s]) for s in shards), rounds
    assert min(faults[f] for f in ("stale", "crashed", "replayed", "resumed")) > 0, faults
    sqs = boto3.client("sqs")
    dead: set[bytes] = set()
    while True:
        got = sqs.receive_message(QueueUrl=aws["DELIVERIES_DLQ_URL"], MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            break
        for m in got:
            dead.add(base64.b64decode(json.loads(m["Body"])["data"]))
            sqs.delete_message(QueueUrl=aws["DELIVERIES_DLQ_URL"], ReceiptHandle=m["ReceiptHandle"])
    assert dead == set(poison)

    items = r1.scan(aws["METERING_TABLE"])
    # no journal item per delivery: one per chunk, whose counts add up to the unique deliveries, once each
    assert not [i for i in items if i["pk"].startswith("EVT#")]
    chunks = [i for i in items if i["pk"].startswith("SEQ#") and i["sk"].startswith("C#")]
    assert sum(c["events"] for c in chunks) == r1.EVENTS
    # per shard, the committed chunks' sequence ranges do not overlap, and the cursor stands at the last record
    for shard in shards:
        mine = sorted((int(c["first_seq"]), int(c["last_seq"])) for c in chunks if c["shard"] == shard)
        assert all(a[1] < b[0] for a, b in itertools.pairwise(mine)), mine
        (cursor,) = [i for i in items if i["pk"] == f"SEQ#{stream}#{shard}" and i["sk"] == "CURSOR"]
        valid = [r for r in by_shard[shard] if r["Data"] not in poison]
        assert int(cursor["seq"]) == int(valid[-1]["SequenceNumber"])
    # every delivery charged once: the licence's spend, the statement lines, the usage rows
    assert buyer.get(f"/v1/licenses/{lic['id']}").json["spent_micros"] == 10_000 * r1.EVENTS
    per_month = Counter(u["occurred_at"][:7] for u in unique)
    assert r1.statement_gross(items, buyer_id) == {m: 10_000 * n for m, n in per_month.items()}
    per_day = Counter(f"{u['occurred_at'][:10]}#{lic['id']}#{asset['id']}#ai-input" for u in unique)
    usage = {i["sk"]: (i["accesses"], i["amount_micros"]) for i in items if i["pk"] == "USAGE#ALL"}
    assert usage == {k: (n, 10_000 * n) for k, n in per_day.items()}
    # every chunk sums to zero per currency, and the balances are exactly the chunks' postings
    posted: dict[str, int] = defaultdict(int)
    for c in chunks:
        for cur in c["currencies"]:
            assert sum(p["amount_micros"] for p in cur["postings"]) == 0
            for p in cur["postings"]:
                posted[f"BAL#{p['account']}#{cur['currency']}"] += p["amount_micros"]
    folded = r1.balances(items)
    assert folded == dict(posted)
    assert folded.get(f"BAL#{buyer_id}#USD") == -10_000 * r1.EVENTS
    # and the raw-event archive holds every delivery (at least once; Athena queries use DISTINCT)
    assert {u["event_id"] for u in unique} <= r1.archived_event_ids(aws)

"""R1: exactly-once effect of metering under at-least-once delivery.

A seeded fault-injection run feeds the consumer duplicate messages, replayed batches, crashes half-way through a
batch (before and after a chunk commits), out-of-order and late events, and poison messages. Afterwards every unique
event is charged exactly once, every ledger transaction sums to zero, and the aggregates equal a recount of the
journal and of the raw events.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from functions.metering.dal.store import MeteringStore
from functions.shared import money
from local.events import LambdaContext
from tests.integration.metering import r1_helpers as r1


@pytest.mark.parametrize("seed", r1.SEEDS)
def test_fault_injection_run_is_exactly_once(
    aws: dict[str, str], market: dict[str, Any], seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    buyer, asset, pub_id = market["buyer"], market["asset"], market["pub_acct"]["id"]
    buyer_id = market["buyer_acct"]["id"]
    lic_access = buyer.post("/v1/licenses", {"offer_id": market["per_access"]["id"], "use": "ai-input"}).json["license"]
    unit_offer = market["offer"](
        uses=["ai-train"], pricing={"model": "per_unit", "amount_micros": 3_333, "unit": "1k tokens"}
    )
    lic_unit = buyer.post("/v1/licenses", {"offer_id": unit_offer["id"], "use": "ai-train"}).json["license"]
    boto3.client("sqs").purge_queue(QueueUrl=aws["USAGE_QUEUE_URL"])

    # Given EVENTS unique events: deliveries, reports and charges, with out-of-order and late timestamps
    now = datetime.now(UTC)
    unique: list[dict[str, Any]] = []
    for i in range(r1.EVENTS):
        at_s = r1.occurred_at(rng, now)
        kind = rng.random()
        if kind < 0.5:
            unique.append(r1.delivery(market, lic_access["id"], f"evt-{seed}-{i}", at_s))
        elif kind < 0.9:
            unique.append(
                {
                    "kind": "usage",
                    "event_id": f"rep-{seed}-{i}",
                    "source": "report",
                    "buyer_id": buyer_id,
                    "license_id": lic_unit["id"],
                    "asset_id": asset["id"],
                    "publisher_id": pub_id,
                    "pool_id": None,
                    "use": "ai-train",
                    "units": rng.randint(1, 999),
                    "occurred_at": at_s,
                }
            )
        else:
            unique.append(
                {
                    "kind": "charge",
                    "charge_id": f"chg-{seed}-{i}",
                    "buyer_id": buyer_id,
                    "publisher_id": pub_id,
                    "license_id": lic_unit["id"],
                    "asset_id": None,
                    "pool_id": None,
                    "amount_micros": rng.randint(1, 9_999_999),
                    "currency": "USD",
                    "reason": "test",
                    "occurred_at": at_s,
                }
            )
    poison = [
        "not json",
        json.dumps({"kind": "usage", "event_id": "x"}),
        json.dumps([1, 2]),
        json.dumps({**unique[0], "event_id": "bad-units", "units": 0}),
        json.dumps({**unique[1], "event_id": "ghost", "license_id": "lic_00000000000000000000000000"}),
    ]
    # Each unique event is sent 1 to 3 times; everything is shuffled (out of order)
    messages = [json.dumps(m) for m in unique for _ in range(rng.choice([1, 1, 2, 3]))] + poison
    rng.shuffle(messages)
    queue = [{"id": str(uuid.uuid4()), "body": body, "receives": 0} for body in messages]

    # Crashes: a commit may fail before taking effect, or after (the response is lost: the batch comes back)
    real_commit = MeteringStore.commit

    def flaky_commit(self: MeteringStore, entries: list[Any]) -> list[Any]:
        roll = rng.random()
        if roll < 0.1:
            raise RuntimeError("injected crash before commit")
        done = real_commit(self, entries)
        if roll < 0.2:
            raise RuntimeError("injected crash after commit")
        return done

    monkeypatch.setattr(MeteringStore, "commit", flaky_commit)
    from functions.metering.handlers.consumer import handler

    dead: list[dict[str, Any]] = []
    rounds = 0
    while queue and rounds < 500:
        rounds += 1
        batch = queue[: rng.randint(1, 25)]
        queue = queue[len(batch) :]
        event = {
            "Records": [
                {
                    "messageId": m["id"],
                    "receiptHandle": m["id"],
                    "body": m["body"],
                    "attributes": {},
                    "messageAttributes": {},
                    "md5OfBody": "",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:usage",
                    "awsRegion": "us-east-1",
                }
                for m in batch
            ]
        }
        for m in batch:
            m["receives"] += 1
        try:
            failed = {f["itemIdentifier"] for f in handler(event, LambdaContext())["batchItemFailures"]}
        except Exception:
            failed = {m["id"] for m in batch}  # the whole invocation failed: every record comes back
        if rng.random() < 0.15:
            failed = {m["id"] for m in batch}  # a replayed batch (e.g. the invocation timed out after its work)
        for m in batch:
            if m["id"] in failed:
                (dead if m["receives"] >= 5 else queue).append(m)  # maxReceiveCount 5, then the DLQ
        rng.shuffle(queue)

    # Then: nothing left but poison in the DLQ, and every valid message got through
    assert not queue
    assert {m["body"] for m in dead} <= set(poison)
    assert set(poison) <= {m["body"] for m in dead}

    items = r1.scan(aws["METERING_TABLE"])
    journal = [i for i in items if i["sk"] == "E"]
    # every unique event charged exactly once
    expected_keys = {
        f"EVT#{buyer_id}#{u['event_id']}" if u["kind"] == "usage" else f"CHG#{u['charge_id']}" for u in unique
    }
    assert Counter(i["pk"] for i in journal) == Counter(expected_keys)

    def expected_gross(u: dict[str, Any]) -> int:
        if u["kind"] == "charge":
            return int(u["amount_micros"])
        return 10_000 if u["source"] == "delivery" else 3_333 * u["units"]

    assert sum(i["gross_micros"] for i in journal) == sum(expected_gross(u) for u in unique)
    # every transaction sums to zero, with the fee at the published rate
    for i in journal:
        assert sum(p["amount_micros"] for p in i["postings"]) == 0
        assert (i["fee_micros"], i["net_micros"]) == money.fee_split(i["gross_micros"], 1000)
    # aggregates equal a recount of the journal
    usage_all = defaultdict(lambda: [0, 0, 0])
    for i in journal:
        k = f"{i['occurred_at'][:10]}#{i['license_id']}#{i.get('asset_id') or '-'}#{i['use']}"
        usage_all[k][0] += i["units"]
        usage_all[k][1] += i["accesses"]
        usage_all[k][2] += i["gross_micros"]
    agg = {
        i["sk"]: [i.get("units", 0), i.get("accesses", 0), i.get("amount_micros", 0)]
        for i in items
        if i["pk"] == "USAGE#ALL"
    }
    assert agg == dict(usage_all)
    folded = r1.balances(items)  # the platform's balance is kept in shards: folded
    recount: dict[str, int] = defaultdict(int)
    for i in journal:
        for p in i["postings"]:
            recount[f"BAL#{p['account']}#USD"] += p["amount_micros"]
    assert folded == {k: v for k, v in recount.items()}
    # and the platform's fees went to several shards (concurrent chunks do not all write one item)
    assert len({i["pk"] for i in items if i["pk"].startswith("BAL#platform~")}) > 1
    assert sum(folded.values()) == 0
    journal_gross: dict[str, int] = defaultdict(int)
    for i in journal:
        journal_gross[i["occurred_at"][:7]] += i["gross_micros"]
    assert r1.statement_gross(items, buyer_id) == {k: v for k, v in journal_gross.items()}
    # and the raw-event archive holds every unique event (at least once; Athena queries use DISTINCT)
    assert {u.get("event_id") or u["charge_id"] for u in unique} <= r1.archived_event_ids(aws)

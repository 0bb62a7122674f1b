"""The embedded DynamoDB at scale (issue 12): transaction cost against table size, and the metering consumer's
throughput over a long run with the server's resident memory.

- ``transaction_cost``: a fresh patched moto server; a table filled to 1,000 and then 20,000 items; the median time
  of a 10-item transaction (puts and conditional updates, as the consumer writes) at each size.
- ``long_run``: ``BENCH_LONG_EVENTS`` events (100,000 by default) fed through the public API in rounds of 10,000
  (20 % deliveries: ``GET /v1/assets/{id}/content``; 80 % reported units: ``POST /v1/usage``, 500 per request), each
  round fed in slices of 1,000 and each slice drained by the metering consumers as ``make run``'s dispatcher does
  (the usage queue: receive, invoke, delete, where moto's SQS scans the whole queue on every send, receive and delete,
  so a backlog would measure moto's queue rather than the consumer; the deliveries stream: per shard from its
  checkpoint; ``benchmarks.drain``). The consumer's
  rate is events over its busy time; the first third of the run (3 rounds of 10,000) is compared with the last third
  (one round is about 5 s of consumer time on a fast day). The moto server's resident memory
  (``/proc/<pid>/status`` VmRSS) is read before the first round and after the last.
- ``Reference``: this machine's speed drifts by 15-40 % over a minute (other tenants of the host: the consumer's own
  CPU time and the server's rose together for the same work), which a first-against-last comparison reads as a
  slowdown. So a fixed workload of the consumer's own kind (10-item transactions and GetItems through botocore) is
  timed on a second embedded server, whose one small table never grows, before and after every drain; the
  no-slowdown row compares the two thirds' rates each per second of that reference (``slowdown``). Data growth on
  the measured server cannot reach the reference; the machine's drift reaches both. A CPU loop in the client process
  was tried first and did not follow the drift (docs/performance.md, "P5 and the machine's drift").
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import boto3

from benchmarks.harness import Harness

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

ROUND = 10_000
SLICE = 1_000  # events fed before each drain
FEEDERS = 4  # client threads feeding the API
DELIVERY_SHARE = 0.2


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def long_run_events() -> int:
    return int(os.environ.get("BENCH_LONG_EVENTS", "100000"))


def _create_table(ddb: DynamoDBClient, table: str) -> None:
    ddb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    )


def _counter_updates(table: str) -> list[TransactWriteItemTypeDef]:
    """The 3 aggregate updates of a consumer-shaped transaction: ``ADD`` to the same 3 counters every time."""
    return [
        {
            "Update": {
                "TableName": table,
                "Key": {"pk": {"S": f"AGG#{i}"}, "sk": {"S": "A"}},
                "UpdateExpression": "ADD n :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }
        for i in range(3)
    ]


def transaction_cost(endpoint: str, sizes: tuple[int, ...] = (1_000, 20_000), samples: int = 15) -> dict[int, float]:
    """Median seconds of one 10-item transaction on a table of each size."""
    ddb = boto3.client("dynamodb", endpoint_url=endpoint)  # credentials and region from the harness
    table = f"txcost-{uuid.uuid4().hex[:8]}"
    _create_table(ddb, table)
    filled = 0
    out: dict[int, float] = {}
    for size in sizes:
        while filled < size:
            batch = [
                {"PutRequest": {"Item": {"pk": {"S": f"FILL#{filled + i}"}, "sk": {"S": "E"}, "n": {"N": "1"}}}}
                for i in range(min(25, size - filled))
            ]
            ddb.batch_write_item(RequestItems={table: batch})
            filled += len(batch)
        times = []
        for s in range(samples):
            items: list[TransactWriteItemTypeDef] = [
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"pk": {"S": f"TX#{size}#{s}#{i}"}, "sk": {"S": "E"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
                for i in range(7)
            ]
            items += _counter_updates(table)
            t0 = time.perf_counter()
            ddb.transact_write_items(TransactItems=items)
            times.append(time.perf_counter() - t0)
        out[size] = statistics.median(times)
    ddb.delete_table(TableName=table)
    return out


REFERENCE_REPEATS = 10  # one timing: about 70 ms on a fast day, two per drain


class Reference:
    """The consumer's kind of work at a fixed data size, on its own embedded server: ``seconds()`` times
    ``REFERENCE_REPEATS`` rounds of one 10-item transaction (7 puts, 3 counter updates, as the consumer writes) and
    one GetItem. The puts overwrite the same 7 keys and the updates add to the same 3, so the table stays at 10 items
    however often it runs."""

    def __init__(self, endpoint: str) -> None:
        self._ddb = boto3.client("dynamodb", endpoint_url=endpoint)  # credentials and region from the harness
        self._table = "reference"
        _create_table(self._ddb, self._table)
        self._items: list[TransactWriteItemTypeDef] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {"pk": {"S": f"E#{i}"}, "sk": {"S": "E"}, "d": {"S": "x" * 200}},
                }
            }
            for i in range(7)
        ]
        self._items += _counter_updates(self._table)
        self.seconds()  # connections and the client's first-call work out of the measurements

    def seconds(self) -> float:
        t0 = time.perf_counter()
        for _ in range(REFERENCE_REPEATS):
            self._ddb.transact_write_items(TransactItems=self._items)
            self._ddb.get_item(TableName=self._table, Key={"pk": {"S": "AGG#0"}, "sk": {"S": "A"}})
        return time.perf_counter() - t0

    def items(self) -> int:
        return int(self._ddb.scan(TableName=self._table, Select="COUNT")["Count"])


def slowdown(rounds: list[dict[str, float]]) -> dict[str, float | int]:
    """The first and the last third of the rounds (at least one each): events, raw rates, reference seconds, and the
    last third's rate as a share of the first's with each taken per second of reference time
    (``relative_last_third``: 1.0 is no slowdown; a cost that grows with the data lowers it, a machine that slows
    down for everything does not)."""
    third = max(1, len(rounds) // 3)
    first, last = rounds[:third], rounds[-third:]

    def total(part: list[dict[str, float]], key: str) -> float:
        return sum(r[key] for r in part)

    first_rate = total(first, "events") / total(first, "busy_s")
    last_rate = total(last, "events") / total(last, "busy_s")
    first_ref, last_ref = total(first, "ref_s"), total(last, "ref_s")
    return {
        "third_events": int(total(first, "events")),
        "first_third_rate": first_rate,
        "last_third_rate": last_rate,
        "first_third_ref_s": first_ref,
        "last_third_ref_s": last_ref,
        "relative_last_third": (last_rate / first_rate) * (last_ref / first_ref),
    }


def _setup_reported(h: Harness, s: dict[str, Any]) -> str:
    """A per-unit licence on the scenario's asset for the reported events."""
    st, offer, _ = h.call(
        "POST",
        "/v1/offers",
        s["publisher"],
        {
            "asset_id": s["asset_id"],
            "uses": ["ai-train"],
            "pricing": {"model": "per_unit", "amount_micros": 100, "unit": "1k tokens"},
        },
    )
    assert st == 201, offer
    st, lic, _ = h.call("POST", "/v1/licenses", s["buyer"], {"offer_id": offer["id"], "use": "ai-train"})
    assert st == 201, lic
    return str(lic["license"]["id"])


def _feed(h: Harness, s: dict[str, Any], unit_licence: str, n: int, tag: str, workers: int = FEEDERS) -> int:
    """``n`` events through the public API from ``workers`` client threads (as concurrent crawlers and reporters
    would; the local server serves requests concurrently too); returns how many the API accepted."""
    deliveries = int(n * DELIVERY_SHARE)
    path = f"/v1/assets/{s['asset_id']}/content"
    query = f"use=ai-input&license_id={s['license_id']}"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    reported = n - deliveries

    def deliver(_: int) -> int:
        st, body, _h = h.call("GET", path, s["buyer"], None, query)
        assert st == 200, body
        return 1

    def report(start: int) -> int:
        events = [
            {
                "event_id": f"r{tag}-{start + i}",
                "license_id": unit_licence,
                "asset_id": s["asset_id"],
                "use": "ai-train",
                "units": 1 + (start + i) % 7,
                "occurred_at": stamp,
            }
            for i in range(min(500, reported - start))
        ]
        st, body, _h = h.call("POST", "/v1/usage", s["buyer"], {"events": events})
        assert st == 202 and body["accepted"] == len(events), body
        return int(body["accepted"])

    with ThreadPoolExecutor(workers) as pool:
        accepted = sum(pool.map(deliver, range(deliveries)))
        accepted += sum(pool.map(report, range(0, reported, 500)))
    return accepted


def _drain(h: Harness, reference: Reference) -> tuple[int, float, float]:
    """Meter everything waiting (usage queue and deliveries stream); returns (events, consumer busy seconds,
    reference seconds timed just before and just after)."""
    from benchmarks import drain

    before = reference.seconds()
    got = drain.everything(h)
    return got.events, got.busy_s, before + reference.seconds()


def long_run(
    h: Harness, s: dict[str, Any], server_pid: int, reference: Reference, total: int | None = None
) -> dict[str, Any]:
    total = total or long_run_events()
    unit_licence = _setup_reported(h, s)
    _drain(h, reference)  # whatever the earlier measurements left in the queue
    rss_start = rss_bytes(server_pid)
    client_rss_start = rss_bytes(os.getpid())
    rounds: list[dict[str, float]] = []
    fed = 0
    started = time.perf_counter()
    for r in range(max(1, total // ROUND)):
        accepted = events = 0
        busy = feed_s = ref_s = 0.0
        for part in range(ROUND // SLICE):  # the dispatcher drains as events arrive: moto's SQS is O(queue length)
            t0 = time.perf_counter()
            accepted += _feed(h, s, unit_licence, SLICE, f"{r}-{part}")
            feed_s += time.perf_counter() - t0
            got, spent, ref = _drain(h, reference)
            events, busy, ref_s = events + got, busy + spent, ref_s + ref
        assert events == accepted, (events, accepted)
        fed += accepted
        rounds.append({"events": events, "busy_s": busy, "rate": events / busy, "feed_s": feed_s, "ref_s": ref_s})
        print(
            f"  round {r + 1}: {events} events, consumer {events / busy:.0f}/s, feed {feed_s:.1f} s, "
            f"reference {ref_s:.2f} s",
            flush=True,
        )
    assert reference.items() == 10, "the reference table grew: it would no longer be a fixed workload"
    return {
        "events": fed,
        "rounds": rounds,
        "first_rate": rounds[0]["rate"],
        "last_rate": rounds[-1]["rate"],
        **slowdown(rounds),
        "overall_rate": fed / sum(r["busy_s"] for r in rounds),
        "rss_start": rss_start,
        "rss_end": rss_bytes(server_pid),
        "client_rss_start": client_rss_start,
        "client_rss_end": rss_bytes(os.getpid()),
        "wall_s": time.perf_counter() - started,
    }

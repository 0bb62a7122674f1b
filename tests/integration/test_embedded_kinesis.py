"""The embedded Kinesis patches (local/embedded_kinesis.py): the same records as moto's own ``get_records`` for every
position and limit, found without walking the shard; records older than the retention dropped on put, the newest
always kept so sequence numbers keep increasing."""

from __future__ import annotations

import base64
import random
import time
from typing import Any

import pytest
from moto.kinesis.models import Shard

from local import embedded_kinesis
from tests.integration.instances import run_at_once


def _shard(n: int) -> Shard:
    shard = Shard(0, 0, 2**128)
    for i in range(n):
        embedded_kinesis._put_record(shard, f"k{i}", base64.b64encode(f"r{i}".encode()).decode(), "")
    return shard


def test_get_records_answers_as_motos_walk_for_every_position_and_limit() -> None:
    # Given a shard of 300 records
    shard = _shard(300)
    original = embedded_kinesis._ORIGINAL["get_records"]
    rng = random.Random(20261130)
    # When both read from random positions (before the first, inside, after the last) with random limits
    for _ in range(300):
        after, limit = str(rng.randint(0, 320)), rng.choice([None, 1, 7, 100, 1000])
        mine, theirs = embedded_kinesis._get_records(shard, after, limit), original(shard, after, limit)
        # Then the same records, the same next position and the same lag behind the newest record
        assert [r.sequence_number for r in mine[0]] == [r.sequence_number for r in theirs[0]]
        assert mine[1:] == theirs[1:]


def test_put_numbers_on_from_the_newest_and_drops_what_is_past_retention() -> None:
    # Given a shard whose 50 records are all older than the retention
    shard = _shard(50)
    for r in shard.records.values():
        r.created_at = time.time() - embedded_kinesis.RETENTION_S - 60
    # When one more record is put
    seq = embedded_kinesis._put_record(shard, "k", base64.b64encode(b"new").decode(), "")
    # Then it is number 51 and only it remains (the old ones are gone; numbering did not restart)
    assert seq == "51" and list(shard.records) == [51]
    # And with nothing past retention, nothing is dropped
    embedded_kinesis._put_record(shard, "k", base64.b64encode(b"newer").decode(), "")
    assert list(shard.records) == [51, 52]


def test_the_newest_record_is_kept_even_when_it_is_old() -> None:
    # Given a shard of one old record, When another old one is put (a clock moved: the local mode has a movable clock)
    shard = _shard(1)
    next(iter(shard.records.values())).created_at = 0.0
    embedded_kinesis._put_record(shard, "k", base64.b64encode(b"x").decode(), "")
    shard.records[2].created_at = 0.0
    embedded_kinesis._put_record(shard, "k", base64.b64encode(b"y").decode(), "")
    # Then the numbering goes on from the newest
    assert list(shard.records) == [3]


def test_records_put_through_the_embedded_aws_are_not_tracked_for_ever(aws: dict[str, str]) -> None:
    # Given the embedded AWS (moto tracks every model object it creates, for its dashboard, unless untracked)
    import boto3
    from moto.kinesis.models import Record

    tracked = len(getattr(Record, "instances_tracked", []))
    # When 200 deliveries' records are put on the deliveries stream
    kinesis = boto3.client("kinesis")
    for i in range(200):
        kinesis.put_record(StreamName=aws["DELIVERIES_STREAM"], Data=b"{}", PartitionKey=f"evt_{i}")
    # Then none of them joined moto's tracking list (they did, and slowed every request of a long run: 2026-11-30)
    assert len(getattr(Record, "instances_tracked", [])) == tracked


def test_puts_from_parallel_threads_all_land_with_distinct_numbers() -> None:
    """Concurrent deliveries put records from several threads at once (the concurrency tests, ``make run``'s threaded
    server). Kinesis numbers each record once; moto's put reads the last number and writes the next one without a
    lock, so two threads could take the same number and one record replaced the other: a delivery lost (seen as a
    licence charged 1 access for 4 concurrent deliveries in the money model)."""
    # Given a shard and 8 threads that each put 400 records while readers poll the shard
    shard, threads, each = _shard(0), 8, 400
    read_errors: list[BaseException] = []

    def put(t: int) -> None:
        for i in range(each):
            embedded_kinesis._put_record(shard, f"k{t}", base64.b64encode(f"{t}-{i}".encode()).decode(), "")

    def read() -> None:
        try:
            for _ in range(200):
                embedded_kinesis._get_records(shard, "0", 100)
        except BaseException as exc:
            read_errors.append(exc)

    # switch threads as often as possible: the race shows in every run
    run_at_once([*(lambda t=t: put(t) for t in range(threads)), read], switch_interval=1e-6)
    # Then every record is there, numbered 1..n without a gap, and reading alongside never failed
    payloads = {base64.b64decode(r.data).decode() for r in shard.records.values()}
    assert len(payloads) == threads * each
    assert list(shard.records) == list(range(1, threads * each + 1))
    assert not read_errors, read_errors


def test_moving_time_time_forward_drops_no_record(monkeypatch: pytest.MonkeyPatch) -> None:
    """The money model and the local mode move ``time.time`` forward by virtual days; moto stamps a record with its own
    clock (``utcnow``). Aged against ``time.time``, every record but the newest was past retention after a virtual
    month, so deliveries put together (concurrent instances) were dropped before the consumer read them: the money
    model saw 2 of 4 concurrent deliveries charged (CI at 95d0236)."""
    # Given time.time 31 days ahead of moto's clock
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 31 * 86400)
    # When four records are put, none read yet
    shard = _shard(4)
    # Then all four are still there for the consumer
    assert list(shard.records) == [1, 2, 3, 4]


def test_concurrent_deliveries_a_virtual_month_later_are_all_metered(
    aws: dict[str, str], market: dict[str, Any], instances: Any, gw: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The money model's failing sequence, end to end: time.time moved 31 days on, then 4 deliveries at once from
    4 instances; each is metered (before the fix, only the newest record survived each put: 1 or 2 of 4 charged)."""
    from tests.integration.conftest import meter
    from tests.integration.instances import in_threads

    buyer, asset = market["buyer"], market["asset"]
    lic = buyer.post("/v1/licenses", {"offer_id": market["per_access"]["id"], "use": "ai-input"}).json["license"]
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 31 * 86400)
    path, params = f"/v1/assets/{asset['id']}/content", {"use": "ai-input", "license_id": lic["id"]}
    results = in_threads([lambda c=c: c.get(path, params=params) for c in instances(buyer.key, 4)])
    assert [r.status for r in results] == [200] * 4
    meter(aws, gw)
    assert buyer.get(f"/v1/licenses/{lic['id']}").json["spent_micros"] == 4 * 10_000

"""Draining the usage queue and the deliveries stream into their consumers, measured: the one loop every benchmark
uses (``hotpath``, ``embedded``), as ``make run``'s dispatcher does it (``local.dispatch``), with the consumer's busy
time, CPU and AWS calls counted around each invocation only (not our own receive/delete/get-records calls)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import boto3

from benchmarks.harness import Harness
from infra.definitions import STREAMS


@dataclass
class Drained:
    events: int = 0
    busy_s: float = 0.0
    cpu_s: float = 0.0
    calls: int = 0  # the consumer's own AWS calls
    invocations: int = 0

    def add(self, other: Drained) -> Drained:
        return Drained(
            self.events + other.events,
            self.busy_s + other.busy_s,
            self.cpu_s + other.cpu_s,
            self.calls + other.calls,
            self.invocations + other.invocations,
        )


def _invoke(h: Harness, function: str, event: dict[str, Any], out: Drained, n: int) -> dict[str, Any]:
    from local.events import LambdaContext

    consumer = h.gw.handler(function)
    t0, c0 = time.perf_counter(), time.process_time()
    calls_before = sum(h.log.calls.values())
    result: dict[str, Any] = consumer(event, LambdaContext(function_name=function))
    out.busy_s += time.perf_counter() - t0
    out.cpu_s += time.process_time() - c0
    out.calls += sum(h.log.calls.values()) - calls_before
    out.invocations += 1
    out.events += n
    assert not result["batchItemFailures"], result
    return result


def queue(h: Harness, batch: int = 100) -> Drained:
    """Receive, consume and delete until the usage queue is empty."""
    from local.events import sqs_event

    sqs = boto3.client("sqs")
    url = h.env["USAGE_QUEUE_URL"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    out = Drained()
    while True:
        msgs: list[Any] = []
        while len(msgs) < batch:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600)
            if not got.get("Messages"):
                break
            msgs += got["Messages"]
        if not msgs:
            return out
        _invoke(h, "metering_consumer", sqs_event(msgs, arn), out, len(msgs))
        for i in range(0, len(msgs), 10):
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(j), "ReceiptHandle": m["ReceiptHandle"]} for j, m in enumerate(msgs[i : i + 10])],
            )


def stream(h: Harness, batch: int = STREAMS["deliveries"].batch_size, *, take: list[Any] | None = None) -> Drained:
    """Hand every record of the deliveries stream not handed over yet to its consumer, in batches of ``batch`` per
    shard (the event source mapping's batch size by default: at P3's 1,000 deliveries/s over 2 shards, a 2 s batching
    window fills it), keeping the checkpoints where ``make run``'s dispatcher keeps them (``local.dispatch``).
    ``take``: collect the records there instead of metering them."""
    from local.dispatch import after_checkpoint, checkpoint, stream_shards
    from local.events import kinesis_event

    d = STREAMS["deliveries"]
    kinesis, arn, name, shards = stream_shards(h.env, "deliveries")
    out = Drained()
    for shard, key in shards:
        while records := after_checkpoint(kinesis, name, shard, key, batch):
            if take is None:
                _invoke(h, d.consumer, kinesis_event(records, arn, shard), out, len(records))
            else:  # taken off the stream, not metered
                take += records
            checkpoint(key, records[-1]["SequenceNumber"])
    return out


def everything(h: Harness) -> Drained:
    return queue(h).add(stream(h))

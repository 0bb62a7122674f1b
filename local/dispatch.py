"""Dispatchers: deliver queue messages and stream records to the same consumers as the cloud's event source mappings
(batch size from the definitions, partial batch failures honoured), and run scheduled jobs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from infra.definitions import QUEUES, SCHEDULES, STREAMS
from local.events import kinesis_event, sqs_event

log = logging.getLogger("imprimatur.dispatch")
Invoke = Callable[[str, dict[str, Any]], Any]


def drain_once(invoke: Invoke, env: dict[str, str], queue: str, *, wait_s: int = 0) -> int:
    """Receive one batch from ``queue`` and hand it to its consumer. Returns the number of messages seen."""
    import boto3

    q = QUEUES[queue]
    sqs: Any = boto3.client("sqs")
    url = env[q.env_var]
    got = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=min(10, q.batch_size),
        WaitTimeSeconds=wait_s,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    msgs = got.get("Messages", [])
    if not msgs:
        return 0
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    try:
        result = invoke(q.consumer, sqs_event(msgs, arn)) or {}
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
    except Exception:  # a crashed invocation: the whole batch comes back, as in Lambda
        log.exception("consumer %s failed", q.consumer)
        failed = {m["MessageId"] for m in msgs}
    ok = [m for m in msgs if m["MessageId"] not in failed]
    for i in range(0, len(ok), 10):
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(ok[i : i + 10])],
        )
    for m in msgs:  # retry failures soon locally instead of after the full visibility timeout
        if m["MessageId"] in failed:
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=1)
    return len(msgs)


_positions: dict[tuple[str, str, str], str] = {}
"""Per (stream, creation time, shard): the sequence number after which the next batch starts (Lambda's event source
mapping keeps this checkpoint in the cloud). Kept in memory: a restarted server re-reads from the oldest record, and
the consumer's cursor drops what it committed (exactly once either way)."""
_positions_lock = threading.Lock()


def stream_shards(env: dict[str, str], stream: str) -> tuple[Any, str, str, list[tuple[str, tuple[str, str, str]]]]:
    """(client, stream ARN, stream name, [(shard id, checkpoint key)])."""
    import boto3

    kinesis: Any = boto3.client("kinesis")
    name = env[STREAMS[stream].env_var]
    summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    arn, created = summary["StreamARN"], str(summary["StreamCreationTimestamp"])
    shards = [s["ShardId"] for s in kinesis.list_shards(StreamName=name)["Shards"]]
    return kinesis, arn, name, [(shard, (name, created, shard)) for shard in shards]


def after_checkpoint(kinesis: Any, name: str, shard: str, key: tuple[str, str, str], limit: int) -> list[Any]:
    """Up to ``limit`` records of ``shard`` after its checkpoint (from the oldest when it has none)."""
    with _positions_lock:
        after = _positions.get(key)
    if after is None:
        it = kinesis.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    else:
        it = kinesis.get_shard_iterator(
            StreamName=name, ShardId=shard, ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=after
        )
    return list(kinesis.get_records(ShardIterator=it["ShardIterator"], Limit=limit)["Records"])


def checkpoint(key: tuple[str, str, str], sequence_number: str) -> None:
    """Every record of the shard up to ``sequence_number`` was handed over."""
    with _positions_lock:
        _positions[key] = sequence_number


def take_stream_records(env: dict[str, str], stream: str) -> list[Any]:
    """Take every record not handed over yet off ``stream`` (its checkpoints move past them; the consumer never sees
    them): for tests that hold deliveries back, as a late pipeline would, and put them on the stream again later."""
    kinesis, _arn, name, shards = stream_shards(env, stream)
    taken: list[Any] = []
    for shard, key in shards:
        records = after_checkpoint(kinesis, name, shard, key, 10_000)
        if records:
            checkpoint(key, records[-1]["SequenceNumber"])
            taken += records
    return taken


def drain_stream_once(invoke: Invoke, env: dict[str, str], stream: str) -> int:
    """Read one batch from each shard of ``stream`` and hand it to its consumer, as Lambda's Kinesis event source
    mapping does (one batch per shard at a time, in order; a partial batch failure resumes at the failed record, an
    exception retries the whole batch). Returns the number of records seen."""
    d = STREAMS[stream]
    kinesis, arn, name, shards = stream_shards(env, stream)
    seen = 0
    for shard_id, key in shards:
        records = after_checkpoint(kinesis, name, shard_id, key, d.batch_size)
        if not records:
            continue
        seen += len(records)
        try:
            result = invoke(d.consumer, kinesis_event(records, arn, shard_id)) or {}
            failed = [f["itemIdentifier"] for f in result.get("batchItemFailures", [])]
        except Exception:  # a crashed invocation: the same batch again, as in Lambda
            log.exception("consumer %s failed", d.consumer)
            continue
        seqs = [r["SequenceNumber"] for r in records]
        if failed:  # resume at the lowest failed record: the checkpoint is the record before it
            first = min(failed, key=int)
            i = seqs.index(first) if first in seqs else 0
            if i == 0:
                continue
            done = seqs[i - 1]
        else:
            done = seqs[-1]
        checkpoint(key, done)
    return seen


def drain(
    invoke: Invoke,
    env: dict[str, str],
    queues: tuple[str, ...] = tuple(QUEUES),
    max_rounds: int = 1000,
    streams: tuple[str, ...] = tuple(STREAMS),
) -> int:
    """Drain the queues and streams until a round finds nothing. Delivery events are on the streams: every caller
    that meters deliveries drains them (the default)."""
    total = 0
    for _ in range(max_rounds):
        n = sum(drain_once(invoke, env, q) for q in queues) + sum(drain_stream_once(invoke, env, s) for s in streams)
        total += n
        if n == 0:
            break
    return total


def run_job(invoke: Invoke, job: str, **extra: Any) -> Any:
    for name, (function, _expr, payload) in SCHEDULES.items():
        if payload.get("job") == job or name == job:
            return invoke(function, {**payload, **extra})
    raise KeyError(f"unknown job {job!r}; known: {sorted(p['job'] for _, _, p in SCHEDULES.values())}")


OUTBOX_POLL_S = 5.0
OUTBOX_POLL_AGE_S = 10.0  # leave a charge this long to the request that granted it


class Dispatcher:
    def __init__(self, invoke: Invoke, env: dict[str, str], *, job_interval_s: float = 60.0) -> None:
        self.invoke, self.env, self.job_interval_s = invoke, env, job_interval_s
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _queue_loop(self, queue: str) -> None:
        while not self._stop.is_set():
            try:
                drain_once(self.invoke, self.env, queue, wait_s=1)
            except Exception:
                log.exception("dispatcher for %s", queue)
                self._stop.wait(1)

    def _stream_loop(self, stream: str) -> None:
        while not self._stop.is_set():
            try:
                if not drain_stream_once(self.invoke, self.env, stream):
                    self._stop.wait(STREAMS[stream].batching_window_s / 2)
            except Exception:
                log.exception("dispatcher for stream %s", stream)
                self._stop.wait(1)

    def _job_loop(self) -> None:
        while not self._stop.wait(self.job_interval_s):
            try:
                run_job(self.invoke, "renew_subscriptions")
            except KeyError:
                return
            except Exception:
                log.exception("scheduled job failed")

    def _outbox_loop(self) -> None:
        """The local stand-in for the licensing table's stream (issue 17): grant charges left in the outbox (their
        send failed after the grant's transaction) are relayed after OUTBOX_POLL_AGE_S."""
        while not self._stop.wait(OUTBOX_POLL_S):
            try:
                run_job(self.invoke, "relay_outbox", age_s=OUTBOX_POLL_AGE_S)
            except Exception:
                log.exception("outbox relay failed")

    def start(self) -> None:
        t = threading.Thread(target=self._outbox_loop, name="outbox-relay", daemon=True)
        t.start()
        self._threads.append(t)
        for q in QUEUES:
            t = threading.Thread(target=self._queue_loop, args=(q,), name=f"dispatch-{q}", daemon=True)
            t.start()
            self._threads.append(t)
        for st in STREAMS:
            t = threading.Thread(target=self._stream_loop, args=(st,), name=f"dispatch-{st}", daemon=True)
            t.start()
            self._threads.append(t)
        t = threading.Thread(target=self._job_loop, name="scheduler", daemon=True)
        t.start()
        self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)

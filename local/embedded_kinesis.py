"""The embedded Kinesis (moto), made linear and bounded: the local mode's deliveries stream carries every delivery.

Why (docs/decision_log.md, 2026-11-30): moto 5's ``Shard.get_records`` walks the shard's records from the first one on
every call to find those after the iterator's position, and a shard keeps every record ever put. ``make run``'s poller
asks every shard about once a second, so each poll cost O(records ever delivered) and the server's memory grew by every
delivery's record for as long as it ran. Here:

- ``get_records`` finds its starting point by bisection over the shard's (increasing) sequence numbers and reads only
  the records it returns (same records, same next position, same ``MillisBehindLatest`` as moto's walk);
- ``put_record`` finds the next sequence number from the last record instead of listing every key, and drops records
  older than the stream's retention (24 hours, as Kinesis does: ``STREAMS`` in ``infra.definitions``), oldest first,
  always keeping the newest (sequence numbers keep increasing), aged on the records' own clock;
- both hold one lock: moto reads the last number and writes the next without one, so two threads putting at once (the
  concurrency tests, ``make run``'s threaded server) took the same number and one record replaced the other, a
  delivery lost. Kinesis itself numbers each record once.

Applied with the other patches by ``local.embedded_aws.install``; never imported by ``functions/``.
"""

from __future__ import annotations

import bisect
import threading
from typing import Any

from moto.kinesis.models import Record, Shard

from infra.definitions import STREAMS

RETENTION_S = max(s.retention_h for s in STREAMS.values()) * 3600

_ORIGINAL: dict[str, Any] = {"get_records": Shard.get_records, "put_record": Shard.put_record}
_installed = False
_LOCK = threading.Lock()  # one for every shard: a put is microseconds, and the local mode's shards are few


def _get_records(self: Shard, last_sequence_id: str, limit: int | None) -> tuple[list[Record], int, int]:
    last = int(last_sequence_id)
    with _LOCK:
        keys = list(self.records)  # increasing: moto numbers a shard's records 1, 2, 3...
        start = bisect.bisect_right(keys, last)
        picked = keys[start : start + limit] if limit else keys[start:]
        results = [self.records[k] for k in picked]
        if not results:
            return [], last, 0
        very_last = self.records[keys[-1]]
    return results, picked[-1], int((very_last.created_at - results[-1].created_at) * 1000)


def _put_record(self: Shard, partition_key: str, data: str, explicit_hash_key: str) -> str:
    with _LOCK:
        # moto lists every key to find the last one; an ordered dict's last key is O(1)
        sequence_number = next(reversed(self.records)) + 1 if self.records else 1
        record = self.records[sequence_number] = Record(partition_key, data, sequence_number, explicit_hash_key)
        # the horizon on the records' own clock (moto's utcnow), never time.time: tests and the local mode move
        # time.time (virtual days), and a record stamped by one clock and aged by the other was dropped unread
        horizon = record.created_at - RETENTION_S
        while len(self.records) > 1:  # never the newest: numbering continues from it (a cursor relies on that)
            oldest = next(iter(self.records.values()))
            if oldest.created_at >= horizon:
                break
            self.records.popitem(last=False)  # type: ignore[call-arg]
    return str(sequence_number)


def install() -> None:
    global _installed
    if not _installed:
        Shard.get_records = _get_records  # type: ignore[method-assign]
        Shard.put_record = _put_record  # type: ignore[method-assign]
        _installed = True


def uninstall() -> None:
    global _installed
    Shard.get_records = _ORIGINAL["get_records"]  # type: ignore[method-assign]
    Shard.put_record = _ORIGINAL["put_record"]  # type: ignore[method-assign]
    _installed = False

"""The metering consumer's batch logic: price the batch's messages, drop known duplicates, archive, and commit
in chunks that are each exactly-once (dal.store.MeteringStore.commit)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from functions.metering.dal.store import Cursor, MeteringStore
from functions.metering.models.entry import Entry

log = logging.getLogger("imprimatur.metering")


@dataclass
class Outcome:
    committed: list[Entry] = field(default_factory=list)
    duplicates: int = 0
    failed_ids: list[str] = field(default_factory=list)  # message ids whose chunk failed to commit


def consume(
    store: MeteringStore, priced: list[tuple[str, Entry]], archive: Callable[[list[Entry]], object] | None = None
) -> Outcome:
    """``priced`` is (message id, entry) in arrival order. Duplicates inside the batch keep their first copy."""
    out = Outcome()
    first: dict[str, tuple[str, Entry]] = {}
    for msg_id, e in priced:
        if e.dedup_key in first:
            out.duplicates += 1
        else:
            first[e.dedup_key] = (msg_id, e)
    known = store.known(list(first))
    out.duplicates += len(known)
    fresh = [(m, e) for k, (m, e) in first.items() if k not in known]
    ids_of = {e.dedup_key: m for m, e in fresh}
    for chunk in store.chunks([e for _, e in fresh]):
        try:
            if archive is not None:
                archive(chunk)
            done = store.commit(chunk)
        except Exception:  # this chunk's messages are retried by SQS; the others are done
            log.exception("metering chunk failed", extra={"events": len(chunk)})
            out.failed_ids += [ids_of[e.dedup_key] for e in chunk]
            continue
        out.committed += done
        out.duplicates += len(chunk) - len(done)
    return out


@dataclass(frozen=True)
class StreamRecord:
    """One record of a delivery stream shard, as the consumer needs it."""

    seq: str  # the record's sequence number (decimal)
    data: bytes  # the delivery's usage message, JSON


@dataclass
class StreamOutcome:
    committed: list[Entry] = field(default_factory=list)
    duplicates: int = 0  # records at or below the shard's cursor (a replayed batch) or repeated in the batch
    poison: list[tuple[StreamRecord, str]] = field(default_factory=list)  # (record, reason): to the stream's DLQ
    retry_from: str | None = None  # the sequence number to resume at (the first record of the chunk that failed)


def consume_stream(
    store: MeteringStore,
    stream: str,
    shard: str,
    records: list[StreamRecord],
    priced: Callable[[StreamRecord], Entry],
    archive: Callable[[list[Entry]], object] | None = None,
) -> StreamOutcome:
    """Meter one batch of a shard, in sequence order, exactly once per record (``MeteringStore.commit`` with a
    ``Cursor``). ``priced`` raises for a record that can never be metered (poison: reported, then
    skipped; any exception of pricing counts, since it reads nothing and would fail the same way on every retry). The
    first chunk that fails stops the batch: later chunks must not move the cursor past it."""
    out = StreamOutcome()
    seq_of: dict[str, str] = {}
    entries: list[Entry] = []
    for r in sorted(records, key=lambda r: int(r.seq)):
        try:
            e = priced(r)
        except Exception as exc:  # pricing reads nothing: whatever it cannot price, it never will (R5: never blocks)
            out.poison.append((r, f"{type(exc).__name__}: {exc}"))
            continue
        if e.dedup_key in seq_of:  # the same delivery twice in the stream (never sent twice by design; counted once)
            out.duplicates += 1
            continue
        seq_of[e.dedup_key] = r.seq
        entries.append(e)
    cursor = Cursor(stream, shard, seq_of)
    for chunk in store.chunks(entries, stream=True):
        try:
            if archive is not None:
                archive(chunk)
            done = store.commit(chunk, cursor)
        except Exception:  # resume here: what was committed before stays, the cursor drops it on the retry
            log.exception("metering stream chunk failed", extra={"events": len(chunk), "shard": shard})
            out.retry_from = seq_of[chunk[0].dedup_key]
            return out
        out.committed += done
        out.duplicates += len(chunk) - len(done)
    return out

"""The metering consumer's batch logic: price the batch's messages, drop known duplicates, archive, and commit
in chunks that are each exactly-once (dal.store.MeteringStore.commit)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from functions.metering.dal.store import MeteringStore
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

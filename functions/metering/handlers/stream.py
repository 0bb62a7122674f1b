"""Metering consumer of the deliveries stream (Kinesis; issue 16): every 200 of ``GET /v1/assets/{id}/content``.

One invocation is one batch of one shard, in sequence order. Records are priced like the usage queue's messages
(``functions.metering.logic.pricing``) and committed per chunk with the shard's cursor
(``functions.metering.dal.store``, "Delivery events"): a replayed batch adds nothing. A chunk that fails is reported as
the batch's first failed item, so Lambda resumes there; records that can never be metered are sent to the stream's
dead-letter queue and skipped (a stream cannot skip one record by itself: it would block the shard).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from typing import TYPE_CHECKING

from functions.licensing.dal.reader import get_licenses
from functions.metering.dal.archive import archive
from functions.metering.dal.store import MeteringStore
from functions.metering.env import env
from functions.metering.logic.consume import StreamRecord, consume_stream
from functions.metering.logic.pricing import PoisonMessage, price
from functions.metering.models.entry import Entry
from functions.shared import aws
from functions.shared.jsontypes import JSONObject, JSONValue

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

log = logging.getLogger("imprimatur.metering")


def _record(raw: JSONValue) -> tuple[str, str, StreamRecord]:
    """(stream name, shard id, record) of one Kinesis event record."""
    if not isinstance(raw, dict) or not isinstance(raw.get("kinesis"), dict):
        raise ValueError("not a Kinesis record")
    k = raw["kinesis"]
    assert isinstance(k, dict)
    seq, data = k.get("sequenceNumber"), k.get("data")
    event_id, arn = raw.get("eventID"), raw.get("eventSourceARN")
    if not (isinstance(seq, str) and isinstance(data, str) and isinstance(event_id, str) and isinstance(arn, str)):
        raise ValueError("Kinesis record without sequenceNumber, data, eventID or eventSourceARN")
    try:
        body = base64.b64decode(data, validate=True)
    except binascii.Error:
        body = b""  # priced as poison below, with its sequence number kept
    return arn.rsplit("/", 1)[-1], event_id.split(":", 1)[0], StreamRecord(seq, body)


def _decode(r: StreamRecord) -> dict[str, object]:
    try:
        msg = json.loads(r.data)
    except ValueError:
        raise PoisonMessage("data is not JSON") from None
    if not isinstance(msg, dict):
        raise PoisonMessage("data is not an object")
    if msg.get("kind") != "usage" or msg.get("source") != "delivery":
        raise PoisonMessage("the deliveries stream carries delivery usage only")  # reported events keep the queue
    return msg


def handler(event: JSONObject, context: LambdaContext) -> dict[str, list[dict[str, str]]]:
    e = env()
    raw = event.get("Records")
    parsed = [_record(r) for r in raw] if isinstance(raw, list) else []
    if not parsed:
        return {"batchItemFailures": []}
    streams = {(s, sh) for s, sh, _ in parsed}
    if len(streams) != 1:
        raise ValueError(f"one batch is one shard; got {sorted(streams)}")
    ((stream, shard),) = streams
    records = [r for _, _, r in parsed]
    messages = {}
    for r in records:
        try:
            messages[r.seq] = _decode(r)
        except PoisonMessage:
            pass
    licences = get_licenses({str(m.get("license_id")) for m in messages.values() if m.get("license_id")})

    def priced(r: StreamRecord) -> Entry:
        msg = messages.get(r.seq)
        if msg is None:
            _decode(r)  # raises the reason
        assert msg is not None
        return price(msg, licences.get(str(msg.get("license_id"))), e.PLATFORM_FEE_BPS)

    store = MeteringStore(e.METERING_TABLE, e.LICENSING_TABLE)
    outcome = consume_stream(
        store,
        stream,
        shard,
        records,
        priced,
        (lambda chunk: archive(e.USAGE_BUCKET, chunk)) if e.USAGE_BUCKET else None,
    )
    # poison records before the failed chunk (the retry meets the rest again) go to the DLQ before the batch is
    # acknowledged: a failed send fails the whole batch, and the cursor keeps what was committed from counting twice
    poison = [(r, why) for r, why in outcome.poison if not outcome.retry_from or int(r.seq) < int(outcome.retry_from)]
    if poison:
        if not e.DELIVERIES_DLQ_URL:
            raise RuntimeError("poison records and no DELIVERIES_DLQ_URL")
        sqs = aws.client("sqs")
        for r, reason in poison:
            sqs.send_message(
                QueueUrl=e.DELIVERIES_DLQ_URL,
                MessageBody=json.dumps(
                    {
                        "stream": stream,
                        "shard": shard,
                        "sequence_number": r.seq,
                        "reason": reason,
                        "data": base64.b64encode(r.data).decode(),
                    },
                    separators=(",", ":"),
                ),
            )
    log.info(
        json.dumps(
            {
                "message": "metered stream batch",
                "shard": shard,
                "records": len(records),
                "committed": len(outcome.committed),
                "duplicates": outcome.duplicates,
                "poison": len(poison),
                "retry_from": outcome.retry_from,
            }
        )
    )
    failures = [{"itemIdentifier": outcome.retry_from}] if outcome.retry_from else []
    return {"batchItemFailures": failures}

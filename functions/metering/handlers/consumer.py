"""Metering consumer: the usage queue (deliveries, reported usage, charges) into the ledger and aggregates.

Powertools ``BatchProcessor`` parses and prices each record (a malformed or unknown-licence message fails alone and,
after ``maxReceiveCount`` receives, lands in the DLQ); the valid records are then committed per chunk, exactly once
(``functions.metering.dal.store``). Partial batch failures are reported, so one bad message never blocks the rest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse, PartialItemFailures
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.licensing.dal.reader import LicenseRecord, get_licenses
from functions.metering.dal.archive import archive
from functions.metering.dal.store import MeteringStore
from functions.metering.env import env
from functions.metering.logic.consume import consume
from functions.metering.logic.pricing import PoisonMessage, price
from functions.metering.models.entry import Entry
from functions.shared.jsontypes import JSONObject, JSONValue

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
processor = BatchProcessor(event_type=EventType.SQS)


def _licences(records: Sequence[Mapping[str, JSONValue]]) -> dict[str, LicenseRecord]:
    """The licences the batch's messages name, in one read (malformed bodies are left to the record handler)."""
    ids: set[str] = set()
    for r in records:
        body = r.get("body")
        if not isinstance(body, str):
            continue
        try:
            lic = json.loads(body).get("license_id")
        except (ValueError, AttributeError):
            continue
        if isinstance(lic, str):
            ids.add(lic)
    return get_licenses(ids)


def handler(event: JSONObject, context: LambdaContext) -> PartialItemFailureResponse:
    e = env()
    raw = event.get("Records")
    records = [r for r in raw if isinstance(r, dict)] if isinstance(raw, list) else []
    licences = _licences(records)

    def record_handler(record: SQSRecord) -> Entry:
        try:
            msg = json.loads(record.body)
        except ValueError:
            raise PoisonMessage("body is not JSON") from None
        if not isinstance(msg, dict):
            raise PoisonMessage("body is not an object")
        return price(msg, licences.get(str(msg.get("license_id"))), e.PLATFORM_FEE_BPS)

    with processor(records=records, handler=record_handler):
        results = processor.process()
    priced = [(rec["messageId"], res) for status, res, rec in results if status == "success"]
    store = MeteringStore(e.METERING_TABLE, e.LICENSING_TABLE)
    outcome = consume(store, priced, (lambda chunk: archive(e.USAGE_BUCKET, chunk)) if e.USAGE_BUCKET else None)
    failures: list[PartialItemFailures] = [
        *processor.response()["batchItemFailures"],
        *(PartialItemFailures(itemIdentifier=i) for i in outcome.failed_ids),
    ]
    response: PartialItemFailureResponse = {"batchItemFailures": failures}
    logger.info(
        "metered",
        extra={
            "records": len(records),
            "committed": len(outcome.committed),
            "duplicates": outcome.duplicates,
            "failed": len(response["batchItemFailures"]),
        },
    )
    return response

"""Licensing consumer: effects on licences decided by other services, as messages (ARCHITECTURE.md: cross-service
effects travel as messages). Today one kind, ``functions.licensing.contracts.LapseMessage`` — a subscription
renewal that the licence's budget cap cannot cover ends the licence (``status: lapsed``) instead of charging it
(API v1.1). Idempotent: lapsing a licence that is no longer active does nothing."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, cast

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.licensing.contracts import LapseMessage
from functions.licensing.dal.budget import DynamoBudgetStore
from functions.licensing.dal.statuslist import mark_invalid
from functions.licensing.dal.store import LicensingStore
from functions.licensing.env import env
from functions.licensing.models.domain import License
from functions.shared.clock import now_iso
from functions.shared.jsontypes import JSONObject

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
processor = BatchProcessor(event_type=EventType.SQS)


def lapse(store: LicensingStore, license_id: str, charge_id: str | None = None) -> bool:
    """Lapse an active licence (True), or nothing when it is not active (False). Nor when the lapse is stale
    (``charge_id`` given): its period comes before the licence was reactivated (a message delivered again, a DLQ
    redrive), or the budget now covers the charge (the cap was raised after the renewal job decided; the charge
    is reserved here and sent by the job's next run, which finds it reserved)."""
    lic = store.get(license_id, consistent=True)
    if lic is None or lic.status != "active":
        return False
    if charge_id is not None and not _still_due(store.table, lic, charge_id):
        return False
    ended = store.end(license_id, "lapsed", now_iso(), buyer_id=lic.buyer_id)
    if ended is not None:
        mark_invalid(store.table, license_id)
        return True
    return False


def _still_due(table: str, lic: License, charge_id: str) -> bool:
    period = charge_id.rsplit(":", 1)[-1]
    if period.isdigit() and int(period) < lic.renew_from:
        return False
    amount = int(lic.pricing.get("amount_micros") or 0)
    return DynamoBudgetStore(table).reserve(lic.id, amount, charge_id) == "insufficient"


def _message(body: str) -> LapseMessage:
    """The message as its contract: a ``lapse`` naming its licence (the contract's required keys), else ValueError
    (the record fails; after ``maxReceiveCount`` receives it lands in the DLQ)."""
    msg = json.loads(body)
    if not isinstance(msg, dict) or msg.get("kind") != "lapse" or not isinstance(msg.get("license_id"), str):
        raise ValueError(f"unknown licensing message: {body[:200]}")
    return cast(LapseMessage, msg)


def _record(record: SQSRecord) -> None:
    msg = _message(record.body)
    charge_id = msg.get("charge_id") if isinstance(msg.get("charge_id"), str) else None
    done = lapse(LicensingStore(env().LICENSING_TABLE), msg["license_id"], charge_id)
    logger.info("lapse", extra={"license_id": msg["license_id"], "lapsed": done, "charge_id": msg.get("charge_id")})


def handler(event: JSONObject, context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=_record, processor=processor, context=context)

"""Upload verifier: consumes the ``uploads`` queue (S3 ObjectCreated notifications of the content bucket) and
verifies each new object against its asset's declaration. Events can arrive twice; verification is idempotent.
Partial batch failures: a record that fails is retried (then dead-lettered) without blocking the others."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.catalog.dal.content import ContentStore
from functions.catalog.dal.store import CatalogStore
from functions.catalog.env import env
from functions.catalog.logic.assets import asset_id_from_key, ensure_delivery_copies, verify_asset
from functions.shared.jsontypes import JSONObject

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    body = json.loads(record.body)
    if body.get("Event") == "s3:TestEvent":
        return
    for r in body.get("Records", []):
        if not str(r.get("eventName", "")).startswith("ObjectCreated"):
            continue
        bucket = r["s3"]["bucket"]["name"]
        key = unquote_plus(r["s3"]["object"]["key"])
        asset_id = asset_id_from_key(key)
        if bucket != env().CONTENT_BUCKET or asset_id is None:
            logger.warning("ignoring object outside the catalogue", extra={"bucket": bucket, "key": key})
            continue
        result = verify_asset(
            CatalogStore(env().CATALOG_TABLE), ContentStore(env().CONTENT_BUCKET, env().DELIVERY_BUCKET), asset_id
        )
        logger.info("verified", extra={"asset_id": asset_id, "status": result.status if result else None})


@logger.inject_lambda_context(clear_state=True)
def handler(event: JSONObject, context: LambdaContext) -> PartialItemFailureResponse | dict[str, int]:
    env()
    if event.get("job") == "delivery_copies":  # the daily repair of delivery copies (infra.definitions.SCHEDULES)
        counts = ensure_delivery_copies(
            CatalogStore(env().CATALOG_TABLE), ContentStore(env().CONTENT_BUCKET, env().DELIVERY_BUCKET)
        )
        logger.info("delivery copies", extra=counts)
        return counts
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)

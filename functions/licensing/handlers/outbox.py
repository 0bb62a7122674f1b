"""Outbox relay (issue 17): sends the grant charges left in the licensing table's outbox
(``functions.licensing.dal.outbox``) to the usage queue, and deletes them.

Invoked by the licensing table's DynamoDB stream (only ``INSERT``s of ``pk = OUTBOX`` pass the event source's filter),
by a schedule (``{"job": "relay_outbox"}``: a sweep of items older than a minute, the backstop when the stream's
retries ran out) and, in ``make run``, by the dispatcher's poller. A stream record whose item is already gone was sent
by the request that granted; a young item is given a moment first, so the two seldom both send."""

from __future__ import annotations

import time
from datetime import timedelta

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.licensing.dal import outbox
from functions.shared import clock
from functions.shared.config import BaseEnv, load_env
from functions.shared.jsontypes import LambdaEvent

logger = Logger()


class OutboxEnv(BaseEnv):
    LICENSING_TABLE: str
    USAGE_QUEUE_URL: str


def env() -> OutboxEnv:
    return load_env(OutboxEnv)


SWEEP_AGE_S = 60  # the sweep leaves younger items to the request's own send and the stream
STREAM_GRACE_S = 2.0  # a stream record this young waits for the request's own send and delete


def relay_stream(records: list[LambdaEvent]) -> int:
    sent = 0
    for record in records:
        keys = record.get("dynamodb", {}).get("Keys", {})
        if record.get("eventName") != "INSERT" or keys.get("pk", {}).get("S") != outbox.OUTBOX_PK:
            continue
        age = time.time() - float(record.get("dynamodb", {}).get("ApproximateCreationDateTime", 0) or 0)
        if 0 <= age < STREAM_GRACE_S:
            time.sleep(STREAM_GRACE_S - age)
        item = outbox.get(env().LICENSING_TABLE, keys["sk"]["S"])
        if item is not None:
            outbox.relay(env().LICENSING_TABLE, env().USAGE_QUEUE_URL, item)
            sent += 1
    return sent


def sweep(age_s: float = SWEEP_AGE_S) -> int:
    before = clock.iso(clock.now() - timedelta(seconds=age_s))
    sent = 0
    for item in outbox.pending(env().LICENSING_TABLE, before):
        outbox.relay(env().LICENSING_TABLE, env().USAGE_QUEUE_URL, item)
        sent += 1
    return sent


@logger.inject_lambda_context(clear_state=True)
def handler(event: LambdaEvent, context: LambdaContext) -> LambdaEvent:
    records = event.get("Records")
    sent = relay_stream(records) if records is not None else sweep(float(event.get("age_s", SWEEP_AGE_S)))
    if sent:
        logger.info("relayed outbox charges", extra={"sent": sent})
    return {"relayed": sent}

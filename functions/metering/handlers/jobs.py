"""Scheduled jobs (EventBridge Scheduler in the cloud; ``python -m local.jobs <job>`` or the local dispatcher):
``{"job": "renew_subscriptions" | "monthly_close" | "pool_distributions", "period"?: "YYYY-MM"}``."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from functions.catalog.dal.reader import pool_members
from functions.licensing.contracts import LapseMessage
from functions.licensing.dal.budget import DynamoBudgetStore
from functions.licensing.dal.reader import active_subscriptions
from functions.metering.contracts import UsageQueueMessage
from functions.metering.dal.store import MeteringStore
from functions.metering.env import env
from functions.metering.logic import jobs
from functions.shared import aws
from functions.shared.jsontypes import JSONObject

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()


def send_messages(queue_url: str, messages: Sequence[UsageQueueMessage | LapseMessage]) -> None:
    sqs = aws.client("sqs")
    for i in range(0, len(messages), 10):
        batch = messages[i : i + 10]
        got = sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(n), "MessageBody": json.dumps(m, separators=(",", ":"))} for n, m in enumerate(batch)],
        )
        if got.get("Failed"):
            raise RuntimeError(f"{len(got['Failed'])} messages were not queued")


def pool_members_at_end(pool_id: str, period: str) -> list[tuple[str, str]]:
    """The pool's member assets at the end of ``period`` (asset, publisher): those who joined before it ended and
    had not left."""
    end = jobs.period_end(period)
    return sorted((m["asset_id"], m["publisher_id"]) for m in pool_members(pool_id, end) if m["joined_at"] < end)


@logger.inject_lambda_context(clear_state=True)
def handler(
    event: JSONObject,
    context: LambdaContext,
    store: MeteringStore | None = None,
    members: Callable[[str, str], list[tuple[str, str]]] = pool_members_at_end,
) -> JSONObject:
    """``store`` and ``members`` (a pool's member assets at the end of a period) are ports: the production defaults
    read the tables; the unit tier passes in-memory fakes (tests/fakes)."""
    e = env()
    store = MeteringStore(e.METERING_TABLE) if store is None else store
    job = event.get("job")
    period = str(event.get("period") or jobs.previous_period())
    if job == "renew_subscriptions":
        budgets = DynamoBudgetStore(e.LICENSING_TABLE)
        sent = jobs.renew(
            store,
            active_subscriptions(),
            lambda msgs: send_messages(e.USAGE_QUEUE_URL, msgs),
            reserve=budgets.reserve,
            lapse=lambda msgs: send_messages(e.LICENSING_QUEUE_URL, msgs),
        )
        result: JSONObject = {"job": job, "charges_queued": sent}
    elif job == "monthly_close":
        from functions.metering.dal.parties import parties

        closed = jobs.close_period(
            store, period, e.PLATFORM_FEE_BPS, "scheduler", lambda a, rows: parties(e.ACCOUNTS_TABLE, a, rows)
        )
        result = {"job": job, "period": period, "statements_closed": closed.statements}
    elif job == "pool_distributions":
        if store.period(period) is None:  # the monthly close has not run (or failed): nothing may be distributed yet
            result = {"job": job, "period": period, "distributions": [], "skipped": "period_open"}
        else:
            done = [
                jobs.distribute(store, pool, period, partial(members, pool, period)).model_dump()
                for pool in jobs.pools_to_distribute(store)
            ]
            result = {"job": job, "period": period, "distributions": done}
    else:
        raise ValueError(f"unknown job {job!r}")
    logger.info("job done", extra=result)
    return result

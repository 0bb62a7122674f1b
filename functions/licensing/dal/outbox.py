"""The transactional outbox of grant charges (issue 17): the charge message a grant books is written in the grant's
own transaction, so it cannot be lost when the send to the usage queue fails after the transaction commits.

One item per charge, ``pk = OUTBOX``, ``sk = <created_at>#<charge_id>``, ``message`` = the usage-queue message (JSON,
the same contract as the direct send, docs/data-contracts.md). The request that granted sends it at once and deletes
the item; whatever is left is relayed by ``functions.licensing.handlers.outbox``: the licensing table's DynamoDB
stream in the cloud (and a sweep on a schedule), a poller in ``make run``. A message may be sent twice (the request
and the relay race, or a crash between send and delete): metering books a charge once per ``charge_id``.
One partition for all pending charges: grants write and delete it once each, far below a partition's 1,000 writes/s.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from functions.licensing.dal import queue
from functions.shared import aws

if TYPE_CHECKING:
    from functions.metering.contracts import UsageQueueMessage
    from functions.shared.jsontypes import TransactItem

OUTBOX_PK = "OUTBOX"


@dataclass(frozen=True)
class Pending:
    sk: str
    message: UsageQueueMessage


def sort_key(created_at: str, charge_id: str) -> str:
    return f"{created_at}#{charge_id}"


def put_item(table: str, message: UsageQueueMessage, created_at: str, charge_id: str) -> TransactItem:
    """The outbox item, as one more ``Put`` of the grant's transaction."""
    return {
        "Put": {
            "TableName": table,
            "Item": {
                "pk": {"S": OUTBOX_PK},
                "sk": {"S": sort_key(created_at, charge_id)},
                "message": {"S": json.dumps(message, separators=(",", ":"))},
                "created_at": {"S": created_at},
            },
        }
    }


def get(table: str, sk: str) -> Pending | None:
    got = aws.client("dynamodb").get_item(
        TableName=table, Key={"pk": {"S": OUTBOX_PK}, "sk": {"S": sk}}, ConsistentRead=True
    )
    item = got.get("Item")
    return Pending(sk, json.loads(item["message"]["S"])) if item else None


def pending(table: str, created_before: str, limit: int = 100) -> list[Pending]:
    """Charges still in the outbox written at or before ``created_before`` (to the second; oldest first)."""
    got = aws.client("dynamodb").query(
        TableName=table,
        KeyConditionExpression="pk = :p AND sk < :before",
        # "~" sorts after every character of a charge id: an item of the very second is included
        ExpressionAttributeValues={":p": {"S": OUTBOX_PK}, ":before": {"S": f"{created_before}#~"}},
        ConsistentRead=True,
        Limit=limit,
    )
    return [Pending(i["sk"]["S"], json.loads(i["message"]["S"])) for i in got.get("Items", [])]


def delete(table: str, sk: str) -> None:
    aws.client("dynamodb").delete_item(TableName=table, Key={"pk": {"S": OUTBOX_PK}, "sk": {"S": sk}})


def relay(table: str, queue_url: str, item: Pending) -> None:
    """Send the message, then delete the item (a crash in between sends it again: metering de-duplicates)."""
    queue.send(queue_url, item.message)
    delete(table, item.sk)

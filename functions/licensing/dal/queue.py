"""Messages to the usage queue (docs/data-contracts.md): one per delivery, one per charge at grant."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from functions.shared import aws

if TYPE_CHECKING:
    from functions.metering.contracts import UsageQueueMessage


def send(queue_url: str, message: UsageQueueMessage) -> None:
    aws.client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(message, separators=(",", ":")))

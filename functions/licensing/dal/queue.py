"""Messages to the usage queue (docs/data-contracts.md): one per delivery, one per charge at grant."""

from __future__ import annotations

import json
from typing import Any

from functions.shared import aws


def send(queue_url: str, message: dict[str, Any]) -> None:
    aws.client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(message, separators=(",", ":")))

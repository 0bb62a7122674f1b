"""The deliveries stream's producer (issue 16): one Kinesis record per ``200`` of ``GET /v1/assets/{id}/content``.

A record is written at most once per delivery. botocore's retries would send it again after a read timeout, when the
first copy may already be in the stream, and the stream's consumer has no per-event journal to drop the second
(``functions.metering.dal.store``, "Delivery events"). So the client retries nothing by itself, and this module sends
again only when the first attempt certainly wrote nothing: Kinesis refused it (throughput, KMS throttling: a 4xx
answer), or the connection never opened. Anything else (a read timeout, a 5xx) is answered ``503`` without the URL:
the buyer may retry the GET, and at worst one access it did not receive is metered, as when a function times out
right after a send (the SQS design's crash window, unchanged).
"""

from __future__ import annotations

import json
import random
import time
from typing import TYPE_CHECKING

from functions.shared import aws
from functions.shared.faults import Unavailable

if TYPE_CHECKING:
    from functions.metering.contracts import UsageMessage

ATTEMPTS = 3
REFUSED = frozenset({"ProvisionedThroughputExceededException", "KMSThrottlingException", "LimitExceededException"})
"""Kinesis answers that mean the record was not written (safe to send again)."""


class NotRecorded(Unavailable):
    code = "metering_unavailable"


def record(stream: str, message: UsageMessage) -> str:
    """Write the delivery's usage message; returns its sequence number. Raises ``NotRecorded`` (503) otherwise."""
    from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

    data = json.dumps(message, separators=(",", ":")).encode()
    kinesis = aws.kinesis_once()
    for attempt in range(ATTEMPTS):
        try:
            got = kinesis.put_record(StreamName=stream, Data=data, PartitionKey=message["event_id"])
            return got["SequenceNumber"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in REFUSED:
                raise NotRecorded(
                    "The delivery could not be recorded for metering; try again.", retry_after_s=1
                ) from exc
        except (EndpointConnectionError, ConnectTimeoutError):
            pass  # never connected: nothing was sent
        except Exception as exc:  # a read timeout or anything else: it may have been written, never send it again
            raise NotRecorded("The delivery could not be recorded for metering; try again.", retry_after_s=1) from exc
        if attempt < ATTEMPTS - 1:
            time.sleep(random.uniform(0, 0.05 * 2**attempt))
    raise NotRecorded("The delivery could not be metered; nothing was charged. Try again.", retry_after_s=1)

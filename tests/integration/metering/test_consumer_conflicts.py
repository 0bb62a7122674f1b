"""The metering consumer at scale (issue 16, part 2): a transaction refused with ``TransactionConflict`` (another
writer holds one of its items: DynamoDB's answer to concurrent transactions, which the embedded DynamoDB never gives
because it serialises requests) is retried with jittered backoff instead of failing the chunk back to the queue."""

from __future__ import annotations

from typing import Any

import pytest

from functions.metering.dal import store as store_module
from functions.shared import aws as shared_aws
from local.dispatch import drain, drain_stream_once


class ConflictingDynamoDB:
    """The embedded DynamoDB client, except that the first ``conflicts`` metering transactions are cancelled with
    ``TransactionConflict`` on every item, as DynamoDB cancels a transaction that meets another one."""

    def __init__(self, real: Any, conflicts: int) -> None:
        self._real, self.left, self.refused = real, conflicts, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def transact_write_items(self, **kw: Any) -> Any:
        items = kw["TransactItems"]
        touches_metering = any(str(next(iter(i.values()))["TableName"]).endswith("metering") for i in items)
        if touches_metering and self.left > 0:
            self.left -= 1
            self.refused += 1
            reasons = [{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}] * len(items)
            raise self._real.exceptions.TransactionCanceledException(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                    "CancellationReasons": reasons,
                },
                "TransactWriteItems",
            )
        return self._real.transact_write_items(**kw)


@pytest.mark.parametrize("conflicts", [1, 6])
def test_conflicting_transactions_are_retried_with_jitter_and_count_once(
    aws: dict[str, str], gw: Any, market: dict[str, Any], admin: Any, monkeypatch: pytest.MonkeyPatch, conflicts: int
) -> None:
    # Given 5 paid deliveries waiting on the deliveries stream
    buyer, asset = market["buyer"], market["asset"]
    lic = buyer.post("/v1/licenses", {"offer_id": market["per_access"]["id"], "use": "ai-input"}).json["license"]
    for _ in range(5):
        got = buyer.get(f"/v1/assets/{asset['id']}/content", params={"use": "ai-input", "license_id": lic["id"]})
        assert got.status == 200
    # When the consumer's transactions meet `conflicts` conflicting writers before one goes through
    real = shared_aws.dynamodb()
    conflicting = ConflictingDynamoDB(real, conflicts)
    monkeypatch.setattr(shared_aws, "dynamodb", lambda: conflicting)
    waits: list[float] = []
    monkeypatch.setattr(store_module.time, "sleep", waits.append)
    drain(gw.invoke, aws, ())
    monkeypatch.undo()
    # Then every conflict was waited out (jittered: no two waits alike), nothing went to the dead-letter queue,
    assert conflicting.refused == conflicts and len(waits) == conflicts
    assert len(set(waits)) == len(waits) and all(0 <= w <= 1.0 for w in waits)
    import boto3

    for dlq_url in (aws["USAGE_DLQ_URL"], aws["DELIVERIES_DLQ_URL"]):
        dlq = boto3.client("sqs").get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"])
        assert dlq["Attributes"]["ApproximateNumberOfMessages"] == "0"
    # and each delivery was charged exactly once: 5 x 10,000 micros, the platform's fee 10 % in its shards
    assert buyer.get(f"/v1/licenses/{lic['id']}").json["spent_micros"] == 50_000
    assert admin.get("/v1/balance", params={"account_id": "platform"}).json["balance_micros"] == 5_000


def test_a_chunk_that_keeps_conflicting_is_retried_from_its_first_record(
    aws: dict[str, str], gw: Any, market: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a delivery on the stream, and every metering transaction conflicting for longer than the retries last
    buyer, asset = market["buyer"], market["asset"]
    lic = buyer.post("/v1/licenses", {"offer_id": market["per_access"]["id"], "use": "ai-input"}).json["license"]
    got = buyer.get(f"/v1/assets/{asset['id']}/content", params={"use": "ai-input", "license_id": lic["id"]})
    assert got.status == 200
    conflicting = ConflictingDynamoDB(shared_aws.dynamodb(), store_module.COMMIT_ATTEMPTS)
    monkeypatch.setattr(shared_aws, "dynamodb", lambda: conflicting)
    monkeypatch.setattr(store_module.time, "sleep", lambda s: None)
    # When the consumer handles the batch once
    invoked: list[Any] = []

    def once(function: str, event: dict[str, Any]) -> Any:
        got = gw.invoke(function, event)
        invoked.append((event, got))
        return got

    assert drain_stream_once(once, aws, "deliveries") == 1
    monkeypatch.undo()
    # Then the batch reports its record as the first failed one (Lambda resumes there), and nothing was booked
    assert conflicting.refused == store_module.COMMIT_ATTEMPTS
    ((event, result),) = invoked
    assert result["batchItemFailures"] == [{"itemIdentifier": event["Records"][0]["kinesis"]["sequenceNumber"]}]
    assert buyer.get(f"/v1/licenses/{lic['id']}").json["spent_micros"] == 0
    # And once the conflicts are over, the retried record is booked, once
    drain(gw.invoke, aws, ())
    assert buyer.get(f"/v1/licenses/{lic['id']}").json["spent_micros"] == 10_000

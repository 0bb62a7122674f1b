"""The embedded DynamoDB's patches (local/embedded_dynamodb.py) keep moto's transaction semantics and make each
request atomic.

- Equivalence: one script of transactions (conditional failure, duplicate item in one transaction, validation error
  after a write, ALL_OLD reasons, an update that creates an item, a delete, more than 100 items, success) runs against
  moto's server with and without the patch; every answer, every item and every index query must be identical.
- Cost: a patched transaction never copies a table.
- Atomicity: the request lock serialises DynamoDB requests, so conditional read-modify-write from real threads never
  loses an update.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local import embedded_dynamodb
from local.motoserver import running

TABLE = "equiv"
FLAT = "equiv-flat"


def _client(endpoint: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}),
    )


def _answer(fn: Any) -> Any:
    """What a client sees: the result without request metadata, or the error code, message and reasons."""
    try:
        out = fn()
        out.pop("ResponseMetadata", None)
        return {"ok": out}
    except ClientError as e:
        return {
            "error": e.response["Error"].get("Code"),
            "message": e.response["Error"].get("Message"),
            "reasons": e.response.get("CancellationReasons"),
        }


def _put(table: str, pk: str, sk: str | None = None, **attrs: Any) -> dict[str, Any]:
    item = {"pk": {"S": pk}, **({"sk": {"S": sk}} if sk is not None else {}), **attrs}
    return {"Put": {"TableName": table, "Item": item}}


def _state(c: Any) -> dict[str, Any]:
    """Every item of both tables and every index query the script relies on, in a stable order."""
    items = sorted(
        (str(sorted(i.items())) for i in c.scan(TableName=TABLE, ConsistentRead=True)["Items"]),
    )
    flat = sorted(str(sorted(i.items())) for i in c.scan(TableName=FLAT, ConsistentRead=True)["Items"])
    by_status = {
        status: [
            (i["pk"]["S"], i["sk"]["S"])
            for i in c.query(
                TableName=TABLE,
                IndexName="by_status",
                KeyConditionExpression="#s = :s",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":s": {"S": status}},
            )["Items"]
        ]
        for status in ("open", "closed", "new")
    }
    return {"items": items, "flat": flat, "by_status": by_status}


def _script(c: Any) -> list[Any]:
    c.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "status", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_status",
                "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    c.create_table(
        TableName=FLAT,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    for i in range(5):
        c.put_item(
            TableName=TABLE,
            Item={"pk": {"S": f"A#{i}"}, "sk": {"S": "X"}, "status": {"S": "open"}, "n": {"N": str(i)}},
        )
    c.put_item(TableName=FLAT, Item={"pk": {"S": "F#1"}, "n": {"N": "1"}})
    tx = c.transact_write_items
    answers: list[Any] = [_state(c)]
    steps: list[list[dict[str, Any]]] = [
        # a failed condition in the middle: the earlier put, update and delete are all rolled back (GSI too)
        [
            _put(TABLE, "A#new", "X", status={"S": "new"}),
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": {"pk": {"S": "A#1"}, "sk": {"S": "X"}},
                    "UpdateExpression": "SET #s = :c ADD n :one",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":c": {"S": "closed"}, ":one": {"N": "1"}},
                }
            },
            {"Delete": {"TableName": TABLE, "Key": {"pk": {"S": "A#2"}, "sk": {"S": "X"}}}},
            {"Delete": {"TableName": FLAT, "Key": {"pk": {"S": "F#1"}}}},
            {
                "ConditionCheck": {
                    "TableName": TABLE,
                    "Key": {"pk": {"S": "A#3"}, "sk": {"S": "X"}},
                    "ConditionExpression": "n = :nine",
                    "ExpressionAttributeValues": {":nine": {"N": "9"}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            _put(TABLE, "A#after", "X", status={"S": "new"}),
        ],
        # two operations on one item: a validation error, nothing written
        [
            _put(TABLE, "A#dup", "X", status={"S": "new"}),
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": {"pk": {"S": "A#0"}, "sk": {"S": "X"}},
                    "UpdateExpression": "SET n = :z",
                    "ExpressionAttributeValues": {":z": {"N": "0"}},
                }
            },
            {
                "ConditionCheck": {
                    "TableName": TABLE,
                    "Key": {"pk": {"S": "A#0"}, "sk": {"S": "X"}},
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
        ],
        # a validation error after a write (an update that creates its item first): rolled back
        [
            _put(TABLE, "A#val", "X", status={"S": "new"}),
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": {"pk": {"S": "A#created"}, "sk": {"S": "X"}},
                    "UpdateExpression": "SET n = :missing",
                    "ExpressionAttributeValues": {":other": {"N": "1"}},
                }
            },
        ],
        # two failed conditions (ALL_OLD on an existing item, plain on a missing one) and an insert
        [
            {
                "Put": {
                    "TableName": TABLE,
                    "Item": {"pk": {"S": "A#4"}, "sk": {"S": "X"}, "status": {"S": "closed"}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {
                "Update": {
                    "TableName": FLAT,
                    "Key": {"pk": {"S": "F#missing"}},
                    "UpdateExpression": "SET n = :one",
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
            _put(FLAT, "F#new"),
        ],
        # more than 100 items
        [_put(FLAT, f"F#many{i}") for i in range(101)],
        # success: every kind of write, visible to the index
        [
            _put(TABLE, "A#ok", "X", status={"S": "new"}),
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": {"pk": {"S": "A#1"}, "sk": {"S": "X"}},
                    "UpdateExpression": "SET #s = :c",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":c": {"S": "closed"}},
                }
            },
            {"Delete": {"TableName": TABLE, "Key": {"pk": {"S": "A#2"}, "sk": {"S": "X"}}}},
            _put(FLAT, "F#2", n={"N": "2"}),
        ],
    ]
    for items in steps:
        answers.append(_answer(lambda items=items: tx(TransactItems=items)))
        answers.append(_state(c))
    return answers


@pytest.fixture(scope="module")
def both_servers() -> Any:
    with running(patched=True) as (patched, _), running(patched=False) as (unpatched, _):
        yield patched, unpatched


def test_patched_server_answers_exactly_as_moto(both_servers: tuple[str, str]) -> None:
    # Given moto's server with and without the local patches
    patched, unpatched = both_servers
    # When the same transaction script runs on both
    ours, motos = _script(_client(patched)), _script(_client(unpatched))
    # Then every answer, item and index query is the same
    assert ours == motos
    # and the script did exercise what it claims: a cancellation with its reasons, the duplicate and validation
    # errors, a rollback visible to the index, and a successful transaction visible to it
    cancel, dup, validation, two_failed, too_many, success = ours[1::2]
    assert cancel["error"] == "TransactionCanceledException"
    assert [r["Code"] for r in cancel["reasons"]] == ["None", "None", "None", "None", "ConditionalCheckFailed", "None"]
    assert cancel["reasons"][4]["Item"]["n"] == {"N": "3"}
    assert dup["error"] == "ValidationException"
    assert validation["error"] == "ValidationException"
    assert [r["Code"] for r in two_failed["reasons"]] == ["ConditionalCheckFailed", "ConditionalCheckFailed", "None"]
    assert too_many["error"] == "ValidationException"
    assert "ok" in success
    before, after_cancel, after_success = ours[0], ours[2], ours[-1]
    assert after_cancel == before
    assert ("A#1", "X") in after_success["by_status"]["closed"]
    assert ("A#ok", "X") in after_success["by_status"]["new"]
    assert ("A#2", "X") not in after_success["by_status"]["open"]


def test_patched_transaction_copies_items_not_tables(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the embedded DynamoDB of the test fixtures (patched) and a table copy that would fail
    from moto.dynamodb.models.table import Table

    def no_table_copies(self: Table, memo: Any) -> Table:
        raise AssertionError("a transaction deep-copied a whole table")

    monkeypatch.setattr(Table, "__deepcopy__", no_table_copies, raising=False)
    c = boto3.client("dynamodb")
    table = aws["METERING_TABLE"]
    c.put_item(TableName=table, Item={"pk": {"S": "K"}, "sk": {"S": "S"}, "n": {"N": "1"}})
    assert embedded_dynamodb.installed()
    # When a transaction fails and one succeeds
    with pytest.raises(ClientError, match="TransactionCanceled"):
        c.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": "N"}, "sk": {"S": "S"}}}},
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"pk": {"S": "K"}, "sk": {"S": "S"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    c.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": {"pk": {"S": "N"}, "sk": {"S": "S"}}}}])
    # Then no table was copied, the failed one left nothing and the successful one wrote its item
    got = c.get_item(TableName=table, Key={"pk": {"S": "N"}, "sk": {"S": "S"}}, ConsistentRead=True)
    assert "Item" in got


def test_request_lock_makes_conditional_updates_atomic(aws: dict[str, str]) -> None:
    # Given a counter item and 8 threads doing optimistic read-check-write increments
    c = boto3.client("dynamodb")
    table, key = aws["METERING_TABLE"], {"pk": {"S": "COUNTER"}, "sk": {"S": "C"}}
    c.put_item(TableName=table, Item={**key, "n": {"N": "0"}})
    wins = [0] * 8

    def worker(slot: int) -> None:
        client = boto3.client("dynamodb")
        for _ in range(40):
            n = int(client.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]["n"]["N"])
            try:
                client.update_item(
                    TableName=table,
                    Key=key,
                    UpdateExpression="SET n = :new",
                    ConditionExpression="n = :old",
                    ExpressionAttributeValues={":new": {"N": str(n + 1)}, ":old": {"N": str(n)}},
                )
                wins[slot] += 1
            except ClientError as e:
                assert e.response["Error"]["Code"] == "ConditionalCheckFailedException"

    # When they race
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then every successful conditional write counted exactly once: no two threads passed the same check
    final = int(c.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]["n"]["N"])
    assert final == sum(wins)
    assert final > 0


def test_a_request_waits_for_the_lock(aws: dict[str, str]) -> None:
    # Given the request lock held by another thread
    c = boto3.client("dynamodb")
    done = threading.Event()

    def read() -> None:
        c.describe_table(TableName=aws["METERING_TABLE"])
        done.set()

    with embedded_dynamodb.REQUEST_LOCK:
        t = threading.Thread(target=read)
        t.start()
        # When a DynamoDB request is made, Then it does not run while the lock is held
        assert not done.wait(0.5)
    t.join(10)
    assert done.is_set()

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
    partitions = {
        pk: [
            c.query(
                TableName=TABLE,
                KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
                ExpressionAttributeValues={":p": {"S": pk}, ":s": {"S": "X"}},
                ScanIndexForward=forward,
                Limit=2,
                **({"ExclusiveStartKey": start} if start else {}),
            ).get("Items")
            for forward in (True, False)
            for start in (None, {"pk": {"S": pk}, "sk": {"S": "X"}})
        ]
        for pk in ("A#1", "A#2", "A#new", "A#ok", "M#multi", "A#none")
    }
    pages = {
        (index, str(key), forward, limit, filtered): _index_pages(c, index, key, forward, limit, filtered)
        for index, key in (
            ("by_status", {"#k = :k": {":k": {"S": "open"}}}),
            ("by_owner", {"#k = :k": {":k": {"S": "o1"}}}),
            ("by_owner", {"#k = :k AND #r > :r": {":k": {"S": "o1"}, ":r": {"S": "2026-01-02"}}}),
            ("by_owner", {"#k = :k AND begins_with(#r, :r)": {":k": {"S": "o2"}, ":r": {"S": "2026"}}}),
            ("by_owner", {"#k = :k": {":k": {"S": "nobody"}}}),
        )
        for forward in (True, False)
        for limit in (1, 2, 100)
        for filtered in (False, True)
    }
    return {"items": items, "flat": flat, "by_status": by_status, "partitions": partitions, "index_pages": pages}


def _index_pages(c: Any, index: str, key: dict[str, Any], forward: bool, limit: int, filtered: bool) -> list[Any]:
    """Every page of an index query, followed by its LastEvaluatedKey (the fast path must not change either)."""
    ((expression, values),) = key.items()
    names = {"#k": "status" if index == "by_status" else "owner"}
    if "#r" in expression:
        names["#r"] = "at"
    args: dict[str, Any] = {
        "TableName": TABLE,
        "IndexName": index,
        "KeyConditionExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": dict(values),
        "ScanIndexForward": forward,
        "Limit": limit,
    }
    if filtered:
        args["FilterExpression"] = "attribute_not_exists(#skip)"
        args["ExpressionAttributeNames"] = {**names, "#skip": "skip"}
    pages: list[Any] = []
    while True:
        got = c.query(**args)
        pages.append((got["Items"], got.get("LastEvaluatedKey"), got["Count"], got["ScannedCount"]))
        if "LastEvaluatedKey" not in got or len(pages) > 40:
            return pages
        args["ExclusiveStartKey"] = got["LastEvaluatedKey"]


def _script(c: Any) -> list[Any]:
    c.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "status", "AttributeType": "S"},
            {"AttributeName": "owner", "AttributeType": "S"},
            {"AttributeName": "at", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_status",
                "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "by_owner",
                "KeySchema": [
                    {"AttributeName": "owner", "KeyType": "HASH"},
                    {"AttributeName": "at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
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
    # index entries: two owners, equal range values across partitions, some filtered out, one without a range value
    entries = [("o1", "2026-01-03"), ("o1", "2026-01-01"), ("o2", "2026-02-01"), ("o1", "2026-01-03")]
    entries += [("o1", "2026-01-02"), ("o2", "2025-12-31"), ("o1", "2026-01-05"), ("o1", None), ("o2", "2026-02-01")]
    for n, (owner, at) in enumerate(entries):
        extra = {"at": {"S": at}} if at else {}
        skip = {"skip": {"BOOL": True}} if n % 3 == 1 else {}
        c.put_item(
            TableName=TABLE,
            Item={"pk": {"S": f"O#{n % 4}"}, "sk": {"S": f"E{n}"}, "owner": {"S": owner}, **extra, **skip},
        )
    for sk in ("X", "X1", "X2", "Y"):
        c.put_item(TableName=TABLE, Item={"pk": {"S": "M#multi"}, "sk": {"S": sk}, "status": {"S": "open"}})
    c.put_item(TableName=FLAT, Item={"pk": {"S": "F#1"}, "n": {"N": "1"}})
    rich = {
        "pk": {"S": "F#rich"},
        "b": {"B": b"\x00\xffbytes"},
        "bs": {"BS": [b"a", b"\x01"]},
        "ss": {"SS": ["x", "y"]},
        "ns": {"NS": ["1", "2.5"]},
        "m": {"M": {"parts": {"L": [{"S": "a"}, {"N": "-3"}, {"NULL": True}, {"BOOL": False}]}}},
        "big": {"N": "12345678901234567890123456789012345678"},
    }
    c.put_item(TableName=FLAT, Item=rich)
    answers_rich = [
        _answer(lambda: c.get_item(TableName=FLAT, Key={"pk": {"S": "F#rich"}})),
        _answer(
            lambda: c.batch_get_item(
                RequestItems={FLAT: {"Keys": [{"pk": {"S": "F#rich"}}, {"pk": {"S": "F#1"}}, {"pk": {"S": "F#no"}}]}}
            )
        ),
        _answer(lambda: c.scan(TableName=FLAT, Limit=1)),
        _answer(
            lambda: c.update_item(
                TableName=FLAT,
                Key={"pk": {"S": "F#rich"}},
                UpdateExpression="ADD ns :n SET m.parts[0] = :s",
                ExpressionAttributeValues={":n": {"NS": ["7"]}, ":s": {"S": "z"}},
                ReturnValues="ALL_NEW",
            )
        ),
        _answer(
            lambda: c.transact_get_items(TransactItems=[{"Get": {"TableName": FLAT, "Key": {"pk": {"S": "F#rich"}}}}])
        ),
        _answer(lambda: c.delete_item(TableName=FLAT, Key={"pk": {"S": "F#rich"}}, ReturnValues="ALL_OLD")),
    ]
    for a in answers_rich:
        if "ok" in a:
            for r in a["ok"].get("Responses", {}).values() if isinstance(a["ok"].get("Responses"), dict) else []:
                r.sort(key=lambda i: i["pk"]["S"])
    tx = c.transact_write_items
    answers: list[Any] = [_state(c)]
    answers.append(answers_rich)
    # reads and deletes of absent keys answer the same and leave nothing behind
    for i in range(3):
        answers.append(_answer(lambda i=i: c.get_item(TableName=TABLE, Key={"pk": {"S": f"Z#{i}"}, "sk": {"S": "X"}})))
        answers.append(
            _answer(
                lambda i=i: c.delete_item(
                    TableName=TABLE, Key={"pk": {"S": f"Z#{i}"}, "sk": {"S": "X"}}, ReturnValues="ALL_OLD"
                )
            )
        )
        answers.append(_answer(lambda i=i: c.get_item(TableName=FLAT, Key={"pk": {"S": f"Z#{i}"}})))
    answers.append(c.describe_table(TableName=TABLE)["Table"]["ItemCount"])
    answers.append(_state(c))
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
        # plain SET/ADD updates (the consumer's form): on an existing item, creating one, decimals, a number
        # added to a string (an error: everything rolled back), and then the same without the error
        *(
            [
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "A#3"}, "sk": {"S": "X"}},
                        "UpdateExpression": "SET #s0 = :s0, #s1 = :s1 ADD #a0 :a0, #a1 :a1",
                        "ExpressionAttributeNames": {"#s0": "status", "#s1": "note", "#a0": "n", "#a1": "fresh"},
                        "ExpressionAttributeValues": {
                            ":s0": {"S": "closed"},
                            ":s1": {"NULL": True},
                            ":a0": {"N": "007"},
                            ":a1": {"N": "1.50"},
                        },
                    }
                },
                {
                    "Update": {
                        "TableName": FLAT,
                        "Key": {"pk": {"S": "F#made"}},
                        "UpdateExpression": "ADD #a0 :a0",
                        "ExpressionAttributeNames": {"#a0": "total"},
                        "ExpressionAttributeValues": {":a0": {"N": "-5"}},
                    }
                },
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "A#4"}, "sk": {"S": "X"}},
                        "UpdateExpression": "SET #s0 = :s0",
                        "ExpressionAttributeNames": {"#s0": "status"},
                        "ExpressionAttributeValues": {":s0": {"S": "new"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
                *(
                    [
                        {
                            "Update": {
                                "TableName": TABLE,
                                "Key": {"pk": {"S": "A#0"}, "sk": {"S": "X"}},
                                "UpdateExpression": "ADD #a0 :a0",
                                "ExpressionAttributeNames": {"#a0": "status"},
                                "ExpressionAttributeValues": {":a0": {"N": "1"}},
                            }
                        }
                    ]
                    if with_error
                    else []
                ),
            ]
            for with_error in (True, False)
        ),
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
    rich = ours[1]
    assert rich[0]["ok"]["Item"]["b"] == {"B": b"\x00\xffbytes"}
    assert len(rich[1]["ok"]["Responses"][FLAT]) == 2
    assert rich[3]["ok"]["Attributes"]["m"]["M"]["parts"]["L"][0] == {"S": "z"}
    # and the script did exercise what it claims: a cancellation with its reasons, the duplicate and validation
    # errors, a rollback visible to the index, and a successful transaction visible to it
    tx_answers = ours[12:]  # from the state before the first transaction
    cancel, dup, validation, two_failed, too_many, plain_error, plain, success = tx_answers[1::2]
    assert cancel["error"] == "TransactionCanceledException"
    assert [r["Code"] for r in cancel["reasons"]] == ["None", "None", "None", "None", "ConditionalCheckFailed", "None"]
    assert cancel["reasons"][4]["Item"]["n"] == {"N": "3"}
    assert dup["error"] == "ValidationException"
    assert validation["error"] == "ValidationException"
    assert [r["Code"] for r in two_failed["reasons"]] == ["ConditionalCheckFailed", "ConditionalCheckFailed", "None"]
    assert too_many["error"] == "ValidationException"
    assert "ok" in success
    assert plain_error["error"] == "ValidationException" and "ok" in plain  # moto: a type error is a validation error
    after_plain = tx_answers[14]
    assert any("'fresh', {'N': '1.50'}" in i and "'n', {'N': '10'}" in i for i in after_plain["items"])
    assert any("'total', {'N': '-5'}" in i for i in after_plain["flat"])
    before, after_cancel, after_success = tx_answers[0], tx_answers[2], tx_answers[-1]
    assert after_cancel == before
    assert ("A#1", "X") in after_success["by_status"]["closed"]
    assert ("A#ok", "X") in after_success["by_status"]["new"]
    assert ("A#2", "X") not in after_success["by_status"]["open"]
    multi = after_success["partitions"]["M#multi"]
    assert [[i["sk"]["S"] for i in page] for page in multi] == [["X", "X1"], ["X1", "X2"], ["X2", "X1"], []]


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


def _sqs_script(endpoint: str) -> list[Any]:
    """Queue semantics the local dispatchers rely on, with what differs per run (ids, handles, times) left out."""
    sqs = boto3.client(
        "sqs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    url = sqs.create_queue(QueueName="equiv", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    counts = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]

    def attrs() -> dict[str, str]:
        return dict(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=counts)["Attributes"])

    out: list[Any] = []
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(10)])
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    out.append(attrs())
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=4)["Messages"]
    out.append(sorted(m["Body"] for m in got))
    out.append(attrs())
    handle = got[0]["ReceiptHandle"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    out.append(_answer(lambda: sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)))  # twice: still fine
    out.append(_answer(lambda: sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")))
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got[1]["ReceiptHandle"], VisibilityTimeout=0)
    out.append(attrs())
    rest = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    out.append(sorted(m["Body"] for m in rest))
    out.append(attrs())
    return out


def test_patched_queue_answers_exactly_as_moto(both_servers: tuple[str, str]) -> None:
    # Given moto's server with and without the local patches
    patched, unpatched = both_servers
    # When the same queue script runs on both
    ours, motos = _sqs_script(patched), _sqs_script(unpatched)
    # Then the answers are the same, and the script saw visibility, delay and deletion at work
    assert ours == motos
    assert ours[0] == {
        "ApproximateNumberOfMessages": "10",
        "ApproximateNumberOfMessagesNotVisible": "0",
        "ApproximateNumberOfMessagesDelayed": "1",
    }
    assert ours[2]["ApproximateNumberOfMessagesNotVisible"] == "4"
    assert ours[4]["error"] == "ReceiptHandleIsInvalid"
    assert len(ours[6]) == 7  # 6 never received + the one made visible again


def test_deleted_receipt_handles_are_bounded() -> None:
    # Given the bounded set that replaces moto's ever-growing set of deleted receipt handles
    from local.embedded_sqs import RecentSet

    kept = RecentSet(limit=3, items=["a", "b"])
    # When more handles are added than it keeps
    kept.update(["c", "d"])
    kept.add("b")  # a re-added handle counts as recent
    # Then the oldest are forgotten and the recent ones kept
    assert list(kept) == ["c", "d", "b"]
    assert "a" not in kept and "b" in kept and len(kept) == 3


def test_reads_that_miss_store_nothing(aws: dict[str, str]) -> None:
    # Given the embedded DynamoDB (a table with a sort key, where moto's defaultdict stored a partition per miss)
    from moto.dynamodb.models import dynamodb_backends

    c = boto3.client("dynamodb")
    table_name = aws["METERING_TABLE"]
    table = dynamodb_backends["123456789012"]["us-east-1"].get_table(table_name)
    before = len(table.items)
    # When 500 absent keys are read, batch-read, deleted and queried
    for i in range(100):
        key = {"pk": {"S": f"NOPE#{i}"}, "sk": {"S": "E"}}
        c.get_item(TableName=table_name, Key=key)
        c.delete_item(TableName=table_name, Key=key)
        c.query(
            TableName=table_name,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": f"NOPE#{i}"}},
        )
    c.batch_get_item(
        RequestItems={table_name: {"Keys": [{"pk": {"S": f"NOPE#b{i}"}, "sk": {"S": "E"}} for i in range(100)]}}
    )
    # Then the table holds exactly what it held
    assert len(table.items) == before


def test_reads_and_messages_keep_no_model_objects_alive(aws: dict[str, str]) -> None:
    # Given the embedded AWS with an item and a queue (moto tracks every model object it creates for its dashboard)
    import gc

    from moto.dynamodb.models.dynamo_type import Item
    from moto.sqs.models import Message

    c, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    table_name, url = aws["METERING_TABLE"], aws["USAGE_QUEUE_URL"]
    c.put_item(TableName=table_name, Item={"pk": {"S": "KEEP"}, "sk": {"S": "E"}, "n": {"N": "1"}})

    def live(cls: type) -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if type(o) is cls)

    items_before, messages_before = live(Item), live(Message)
    # When the item is read 300 times (each answer copies it) and 50 messages are sent, received and deleted
    for _ in range(100):
        c.get_item(TableName=table_name, Key={"pk": {"S": "KEEP"}, "sk": {"S": "E"}})
        c.query(TableName=table_name, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "KEEP"}})
        c.batch_get_item(RequestItems={table_name: {"Keys": [{"pk": {"S": "KEEP"}, "sk": {"S": "E"}}]}})
    for i in range(50):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    while got := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(got)]
        )
    # Then no copy and no deleted message is still alive (v1: all 300 copies and 50 messages, for ever)
    assert live(Item) - items_before <= 1
    assert live(Message) - messages_before == 0
    assert len(Item.instances_tracked) == 0  # type: ignore[attr-defined]


def test_the_local_gateway_keeps_a_bounded_authoriser_cache(aws: dict[str, str], monkeypatch: Any) -> None:
    # Given the local gateway with its authoriser cache on, a small bound, and an authoriser that allows every key
    from local import gateway as gw_module

    monkeypatch.setattr(gw_module, "AUTH_CACHE_MAX", 5)
    gw = gw_module.LocalGateway(auth_cache_ttl=60)
    monkeypatch.setattr(gw, "invoke", lambda name, event: {"isAuthorized": True, "context": {"account_id": "a"}})
    route = gw.routes[0][0]
    # When 50 distinct keys are authorised
    for i in range(50):
        assert gw._authorize(route, "/v1/me", {"authorization": f"Bearer imp_{i}"}) == {"account_id": "a"}
    # Then at most the bound is kept, the newest key among them
    assert len(gw._auth_cache) <= 5
    assert "Bearer imp_49" in gw._auth_cache

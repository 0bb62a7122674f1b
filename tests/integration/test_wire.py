"""``functions.shared.wire``: the delivery's read without botocore's generic pipeline answers as the client itself
would, through the same events (moto, fault injection, P1's counting), and retries only what botocore retries."""

from __future__ import annotations

import json
import zlib
from collections import Counter
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from functions.shared import aws as shared_aws
from functions.shared import wire

ITEM: dict[str, Any] = {
    "pk": {"S": "LIC#lic_1"},
    "sk": {"S": "LIC"},
    "n": {"N": "12345678901234567890"},
    "f": {"N": "0.25"},
    "flag": {"BOOL": True},
    "none": {"NULL": True},
    "blob": {"B": b"\x00\xffbytes"},
    "blobs": {"BS": [b"a", b"b"]},
    "tags": {"SS": ["x", "y"]},
    "nums": {"NS": ["1", "2"]},
    "terms": {"M": {"B": {"S": "a map key named B"}, "pricing": {"M": {"amount_micros": {"N": "10000"}}}}},
    "list": {"L": [{"S": "a"}, {"N": "1"}, {"M": {"BS": {"S": "not a binary set"}}}]},
}


@pytest.fixture
def table(aws: dict[str, str]) -> str:
    ddb = shared_aws.dynamodb()
    ddb.put_item(TableName=aws["LICENSING_TABLE"], Item=ITEM)
    return aws["LICENSING_TABLE"]


def _keys(table: str) -> dict[str, object]:
    return {"RequestItems": {table: {"Keys": [{"pk": ITEM["pk"], "sk": ITEM["sk"]}]}}}


def test_the_same_answer_as_botocore(table: str) -> None:
    # Given an item with every attribute type, When it is read through wire and through the client
    ddb = shared_aws.dynamodb()
    lean = wire.call(ddb, "BatchGetItem", _keys(table))
    full = ddb.batch_get_item(**_keys(table))  # type: ignore[arg-type]
    # Then the items are equal, binary values as bytes included
    assert lean["Responses"][table] == full["Responses"][table]
    assert lean["Responses"][table][0]["blob"] == {"B": b"\x00\xffbytes"}


def test_the_clients_events_see_it(table: str) -> None:
    # Given hooks on the events botocore emits for a call (what P1's counting and the tests' mocks use)
    ddb = shared_aws.dynamodb()
    seen: Counter[str] = Counter()

    def hook(event_name: str, **_: Any) -> None:
        seen[event_name.split(".")[0]] += 1

    for event in ("before-parameter-build", "before-call", "before-send"):
        ddb.meta.events.register_first(f"{event}.dynamodb.BatchGetItem", hook)
    try:
        wire.call(ddb, "BatchGetItem", _keys(table))
    finally:
        for event in ("before-parameter-build", "before-call", "before-send"):
            ddb.meta.events.unregister(f"{event}.dynamodb.BatchGetItem", hook)
    assert seen == {"before-parameter-build": 1, "before-call": 1, "before-send": 1}


def test_a_before_call_answer_is_used_as_botocore_uses_it(table: str) -> None:
    ddb = shared_aws.dynamodb()
    refused = {"Error": {"Code": "AccessDeniedException", "Message": "no"}}

    def hook(**_: Any) -> tuple[Any, Any]:
        return AWSResponse("https://x", 400, {}, None), refused

    ddb.meta.events.register_first("before-call.dynamodb.BatchGetItem", hook)
    try:
        with pytest.raises(ClientError) as exc:
            wire.call(ddb, "BatchGetItem", _keys(table))
    finally:
        ddb.meta.events.unregister("before-call.dynamodb.BatchGetItem", hook)
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"


class _Answers:
    """Answers the signed request (before-send) with the next of ``answers`` (status, body), then lets it through."""

    def __init__(self, answers: list[tuple[int, dict[str, Any], bool]]) -> None:
        self.answers, self.sent = list(answers), 0

    def __call__(self, **_: Any) -> AWSResponse | None:
        self.sent += 1
        if not self.answers:
            return None
        status, body, bad_crc = self.answers.pop(0)
        raw = json.dumps(body).encode()
        crc = zlib.crc32(raw) ^ (1 if bad_crc else 0)
        resp = AWSResponse("https://x", status, {"x-amz-crc32": str(crc)}, None)
        resp._content = raw  # a canned answer, as botocore's Stubber builds them
        return resp


def _with(answers: _Answers, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    sleeps: list[float] = []
    monkeypatch.setattr(wire.time, "sleep", sleeps.append)
    shared_aws.dynamodb().meta.events.register_first("before-send.dynamodb.BatchGetItem", answers)
    return sleeps


THROTTLED = (400, {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "slow down"}, False)
UNAVAILABLE = (503, {"message": "try again"}, False)
CORRUPT = (200, {"Responses": {}}, True)


@pytest.mark.parametrize("first", [THROTTLED, UNAVAILABLE, CORRUPT], ids=["throttled", "5xx", "crc32"])
def test_transient_failures_are_retried(table: str, monkeypatch: pytest.MonkeyPatch, first: Any) -> None:
    answers = _Answers([first, first])
    sleeps = _with(answers, monkeypatch)
    try:
        got = wire.call(shared_aws.dynamodb(), "BatchGetItem", _keys(table))
    finally:
        shared_aws.dynamodb().meta.events.unregister("before-send.dynamodb.BatchGetItem", answers)
    assert answers.sent == 3 and len(sleeps) == 2  # two failures, then the store's answer
    assert got["Responses"][table][0]["sk"] == {"S": "LIC"}


def test_three_transient_failures_raise_and_errors_keep_their_code(table: str, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = _Answers([THROTTLED, THROTTLED, THROTTLED])
    _with(answers, monkeypatch)
    try:
        with pytest.raises(ClientError) as exc:
            wire.call(shared_aws.dynamodb(), "BatchGetItem", _keys(table))
    finally:
        shared_aws.dynamodb().meta.events.unregister("before-send.dynamodb.BatchGetItem", answers)
    assert exc.value.response["Error"] == {"Code": "ThrottlingException", "Message": "slow down"}
    assert answers.sent == 3


def test_a_client_error_is_not_retried(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr(wire.time, "sleep", sleeps.append)
    with pytest.raises(ClientError) as exc:
        wire.call(shared_aws.dynamodb(), "BatchGetItem", _keys("no-such-table"))
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert sleeps == []


def test_only_reads_are_sent() -> None:
    with pytest.raises(ValueError, match="idempotent reads"):
        wire.call(shared_aws.dynamodb(), "PutItem", {})

from __future__ import annotations

import base64
import json

import pytest

from functions.shared import cursor, ids
from functions.shared.faults import InvalidInput


def test_ids_are_prefixed_unique_and_time_ordered() -> None:
    a = ids.new_id("ast", now_ms=1_000)
    b = ids.new_id("ast", now_ms=2_000)
    assert a.startswith("ast_") and ids.is_id(a, "ast") and not ids.is_id(a, "off")
    assert a < b
    assert len({ids.new_id("lic") for _ in range(1000)}) == 1000


def test_unknown_prefix_is_refused() -> None:
    with pytest.raises(ValueError):
        ids.new_id("nope")


def test_cursor_round_trip() -> None:
    key = {"pk": {"S": "ACCT#a"}, "sk": {"S": "KEY#k"}}
    token = cursor.encode(key)
    assert token is not None
    assert cursor.decode(token, key_names=("pk", "sk"), expect={"pk": "ACCT#a"}) == key


@pytest.mark.parametrize(
    "token",
    [
        "!!!",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(json.dumps([1, 2]).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"pk": "ACCT#a"}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"pk": "ACCT#a", "sk": 3}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"pk": "ACCT#other", "sk": "KEY#k"}).encode()).decode(),
        "a" * 5000,
    ],
)
def test_tampered_cursor_is_bad_request(token: str) -> None:
    with pytest.raises(InvalidInput):
        cursor.decode(token, key_names=("pk", "sk"), expect={"pk": "ACCT#a"})

from __future__ import annotations

from typing import Any

import pytest

from functions.shared.errors import Conflict, Unprocessable
from functions.shared.idempotency import LOCK_TIMEOUT_S, IdempotencyStore


def test_bootstrap_creates_a_working_admin_key(aws: dict[str, str], api: Any, capsys: Any) -> None:
    from functions.accounts.bootstrap import main

    # When
    assert main(["--table", aws["ACCOUNTS_TABLE"], "--email", "ops@example.org"]) == 0
    key = capsys.readouterr().out.split("API key (shown once): ")[1].strip()
    # Then the key is an admin key
    me = api.as_(key).get("/v1/me")
    assert me.status == 200 and me.json["roles"] == ["admin"]
    # And a second bootstrap with the same email is refused
    assert main(["--table", aws["ACCOUNTS_TABLE"], "--email", "ops@example.org"]) == 1


class Clock:
    def __init__(self) -> None:
        self.t = 1_900_000_000.0

    def __call__(self) -> float:
        return self.t


def test_idempotency_in_flight_conflict_then_stale_takeover(aws: dict[str, str]) -> None:
    clock = Clock()
    store = IdempotencyStore(aws["ACCOUNTS_TABLE"], now=clock)
    # Given a first request claimed the key and has not finished
    assert store.begin("acct_a", "k", "h1") is None
    # Then a concurrent one with the same key is 409, with another body 422
    with pytest.raises(Conflict):
        store.begin("acct_a", "k", "h1")
    with pytest.raises(Unprocessable):
        store.begin("acct_a", "k", "h2")
    # And another caller's identical key is independent
    assert store.begin("acct_b", "k", "h1") is None
    # When the first invocation crashed and the lock went stale, a retry takes over
    clock.t += LOCK_TIMEOUT_S + 1
    assert store.begin("acct_a", "k", "h1") is None


def test_idempotency_replays_and_expires_after_24h(aws: dict[str, str]) -> None:
    clock = Clock()
    store = IdempotencyStore(aws["ACCOUNTS_TABLE"], now=clock)
    calls: list[int] = []

    def effect() -> tuple[Any, int]:
        calls.append(1)
        return {"n": len(calls)}, 201

    assert store.run("s", "key", b'{"a":1}', effect) == ({"n": 1}, 201)
    assert store.run("s", "key", b'{ "a" : 1 }', effect) == ({"n": 1}, 201)  # same JSON, other whitespace
    assert len(calls) == 1
    clock.t += 24 * 3600 + 1
    assert store.run("s", "key", b'{"a":1}', effect) == ({"n": 2}, 201)


def test_idempotency_releases_claim_when_effect_fails(aws: dict[str, str]) -> None:
    store = IdempotencyStore(aws["ACCOUNTS_TABLE"])

    def boom() -> tuple[Any, int]:
        raise RuntimeError("downstream failed")

    with pytest.raises(RuntimeError):
        store.run("s", "key2", b"{}", boom)
    assert store.run("s", "key2", b"{}", lambda: ({"ok": True}, 200)) == ({"ok": True}, 200)

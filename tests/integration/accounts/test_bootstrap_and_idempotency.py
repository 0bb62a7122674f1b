from __future__ import annotations

from typing import Any

import pytest

from functions.shared.faults import RuleViolated, StateConflict
from functions.shared.idempotency import LOCK_TIMEOUT_S, Claim, IdempotencyStore


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
    with pytest.raises(StateConflict):
        store.begin("acct_a", "k", "h1")
    with pytest.raises(RuleViolated):
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


def test_a_route_that_joins_its_transaction_commits_effect_and_answer_together(aws: dict[str, str]) -> None:
    """The idempotent-route wrapper (issue 15): the stored answer is an item of the effect's own transaction."""
    from functions.shared import aws as aws_clients

    store = IdempotencyStore(aws["ACCOUNTS_TABLE"], now=Clock())
    table = aws["ACCOUNTS_TABLE"]
    effects: list[str] = []

    def effect(claim: Claim, fail_after: bool = False) -> tuple[Any, int]:
        n = f"THING#{len(effects)}"
        put = {"Put": {"TableName": table, "Item": {"pk": {"S": n}, "sk": {"S": "T"}}}}
        aws_clients.dynamodb().transact_write_items(TransactItems=[put, *claim.completion(201, {"thing": n})])
        effects.append(n)
        if fail_after:  # the effect and its answer are committed; the process dies before answering
            raise RuntimeError("crash after the transaction")
        return {"thing": n}, 201

    # Given the first attempt committed its transaction and then crashed
    with pytest.raises(RuntimeError):
        store.run_in_transaction("acct_a", "k1", b"{}", lambda c: effect(c, fail_after=True))
    # When the client retries with the same key, the answer is replayed: no second effect
    replays: list[int] = []
    got = store.run_in_transaction("acct_a", "k1", b"{}", effect, on_replay=lambda s: replays.append(s.status))
    assert got == ({"thing": "THING#0"}, 201) and effects == ["THING#0"] and replays == [201]


def test_a_failed_transaction_releases_the_claim_and_records_no_answer(aws: dict[str, str]) -> None:
    from functions.shared import aws as aws_clients

    store = IdempotencyStore(aws["ACCOUNTS_TABLE"], now=Clock())
    table = aws["ACCOUNTS_TABLE"]
    attempts: list[int] = []

    def effect(claim: Claim) -> tuple[Any, int]:
        attempts.append(1)
        cond = {
            "Put": {
                "TableName": table,
                "Item": {"pk": {"S": "ONCE"}, "sk": {"S": "T"}},
                "ConditionExpression": "attribute_not_exists(pk)" if len(attempts) > 1 else "attribute_exists(pk)",
            }
        }
        try:
            aws_clients.dynamodb().transact_write_items(TransactItems=[cond, *claim.completion(201, {"n": 1})])
        except aws_clients.dynamodb().exceptions.TransactionCanceledException:
            raise StateConflict("lost", code="lost") from None
        return {"n": len(attempts)}, 201

    # Given the effect's transaction was refused (its condition failed), with the answer in it
    with pytest.raises(StateConflict):
        store.run_in_transaction("acct_a", "k2", b"{}", effect)
    # Then no answer was stored and the key is free: the retry runs the effect
    assert store.run_in_transaction("acct_a", "k2", b"{}", effect) == ({"n": 2}, 201)
    # And a route without a key joins nothing
    assert store.run_in_transaction("acct_a", None, b"{}", lambda c: (c.completion(200, {}), 200)) == ([], 200)

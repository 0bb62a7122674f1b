"""Idempotency-Key semantics for POSTs that create something or move money (API.md, Idempotency).

- Same key + same body within 24 h: the stored status and body are returned, with no second effect.
- Same key + different body: 422 ``idempotency_key_reused``.
- Same key while the first request is still in flight: 409 ``idempotency_in_progress``. A record left
  "in progress" by a crashed invocation is taken over after ``LOCK_TIMEOUT_S``.

Records live in the calling service's own table (``pk = IDEMP#<scope>#<sha256(key)>``) with a TTL of 24 h
(plus a day of slack, since DynamoDB deletes expired items lazily; expiry is also checked on read).
A service that must make its effect and the completion atomic puts ``completion_put(...)`` into the same
``TransactWriteItems`` as the effect.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar  # Any: the stored JSON body of a route (see Stored.body)

from pydantic import BaseModel

from functions.shared import aws
from functions.shared.ddb import from_item, to_item
from functions.shared.faults import InvalidInput, RuleViolated, StateConflict
from functions.shared.jsontypes import TransactItem

WINDOW_S = 24 * 3600
LOCK_TIMEOUT_S = 60
HEADER = "idempotency-key"
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Stored:
    status: int
    body: Any  # Any: a replayed JSON body, read back by the route that stored it


def body_hash(raw: str | bytes | None) -> str:
    data = raw.encode() if isinstance(raw, str) else (raw or b"")
    try:  # canonicalise JSON so whitespace and key order do not count as "another body"
        data = json.dumps(json.loads(data), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        pass
    return hashlib.sha256(data).hexdigest()


def validate_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise InvalidInput("Idempotency-Key must be 1 to 255 printable characters.", code="invalid_idempotency_key")
    return key


@dataclass
class Claim:
    """An Idempotency-Key claimed for one request (or no key: ``completion`` is then empty)."""

    store: IdempotencyStore
    scope: str
    key: str | None
    bhash: str
    joined: bool = False

    def completion(self, status: int, body: object) -> list[TransactItem]:
        """The item that records the answer, for the route's own transaction (none without a key)."""
        if self.key is None:
            return []
        self.joined = True
        return [self.store.completion_put(self.scope, self.key, self.bhash, status, body)]


class IdempotencyStore:
    def __init__(self, table_name: str, *, now: Callable[[], float] = time.time) -> None:
        self.table = table_name
        self.now = now

    @staticmethod
    def _pk(scope: str, key: str) -> str:
        return f"IDEMP#{scope}#{hashlib.sha256(key.encode()).hexdigest()}"

    def begin(self, scope: str, key: str, bhash: str) -> Stored | None:
        """Claim the key. Returns a stored response to replay, or None when the caller should proceed."""
        ddb = aws.client("dynamodb")
        now = int(self.now())
        pk = self._pk(scope, key)
        item = to_item(
            {
                "pk": pk,
                "sk": "IDEMP",
                "state": "in_progress",
                "body_hash": bhash,
                "started_at": now,
                "expires_at": now + WINDOW_S,
                "ttl": now + WINDOW_S + 86400,
            }
        )
        try:
            ddb.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues={":now": {"N": str(now)}},
            )
            return None
        except ddb.exceptions.ConditionalCheckFailedException:
            pass
        got = ddb.get_item(TableName=self.table, Key={"pk": {"S": pk}, "sk": {"S": "IDEMP"}}, ConsistentRead=True)
        existing = from_item(got.get("Item") or {})
        if not existing:  # expired and deleted in between: try once more
            return self.begin(scope, key, bhash)
        if existing["body_hash"] != bhash:
            raise RuleViolated(
                "This Idempotency-Key was used with a different request body.", code="idempotency_key_reused"
            )
        if existing["state"] == "completed":
            return Stored(int(existing["status"]), json.loads(existing["response"]))
        if existing["started_at"] + LOCK_TIMEOUT_S > now:
            raise StateConflict(
                "A request with this Idempotency-Key is still in progress.", code="idempotency_in_progress"
            )
        try:  # stale lock from a crashed invocation: take it over
            ddb.update_item(
                TableName=self.table,
                Key={"pk": {"S": pk}, "sk": {"S": "IDEMP"}},
                UpdateExpression="SET started_at = :now",
                ConditionExpression="#s = :ip AND started_at = :old",
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues={
                    ":now": {"N": str(now)},
                    ":ip": {"S": "in_progress"},
                    ":old": {"N": str(existing["started_at"])},
                },
            )
        except ddb.exceptions.ConditionalCheckFailedException:
            raise StateConflict(
                "A request with this Idempotency-Key is still in progress.", code="idempotency_in_progress"
            ) from None
        return None

    def completion_put(self, scope: str, key: str, bhash: str, status: int, body: object) -> TransactItem:
        now = int(self.now())
        return {
            "Put": {
                "TableName": self.table,
                "Item": to_item(
                    {
                        "pk": self._pk(scope, key),
                        "sk": "IDEMP",
                        "state": "completed",
                        "body_hash": bhash,
                        "status": status,
                        "response": json.dumps(body, separators=(",", ":")),
                        "started_at": now,
                        "expires_at": now + WINDOW_S,
                        "ttl": now + WINDOW_S + 86400,
                    }
                ),
            }
        }

    def complete(self, scope: str, key: str, bhash: str, status: int, body: object) -> None:
        put = self.completion_put(scope, key, bhash, status, body)["Put"]
        aws.dynamodb().put_item(TableName=put["TableName"], Item=put["Item"])

    def release(self, scope: str, key: str) -> None:
        """Forget an in-flight claim after a failure, so the client may retry with the same key."""
        ddb = aws.client("dynamodb")
        try:
            ddb.delete_item(
                TableName=self.table,
                Key={"pk": {"S": self._pk(scope, key)}, "sk": {"S": "IDEMP"}},
                ConditionExpression="#s = :ip",
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues={":ip": {"S": "in_progress"}},
            )
        except ddb.exceptions.ConditionalCheckFailedException:
            pass

    def run(
        self,
        scope: str,
        key: str | None,
        raw_body: str | bytes | None,
        effect: Callable[[], tuple[Any, int]],  # Any: the route's JSON body, stored and replayed as is
    ) -> tuple[Any, int]:  # Any: see ``effect``
        """Run ``effect`` at most once per (scope, key, body); replay its stored answer afterwards.

        Errors raised by ``effect`` release the claim (nothing was done, the client may retry).
        """
        return self.run_in_transaction(scope, key, raw_body, lambda _claim: effect())

    def run_in_transaction(
        self,
        scope: str,
        key: str | None,
        raw_body: str | bytes | None,
        effect: Callable[[Claim], tuple[Any, int]],  # Any: the route's JSON body, stored and replayed as is
        *,
        on_replay: Callable[[Stored], None] | None = None,
    ) -> tuple[Any, int]:  # Any: see ``effect``
        """The one idempotent-route wrapper. ``effect`` gets the ``Claim``; a route whose effect is one DynamoDB
        transaction puts ``claim.completion(status, body)`` into it, so the effect and the stored answer commit
        together (a crash between them cannot leave an effect whose retry would repeat it). A route that does not
        join is completed right after its effect. ``on_replay`` runs for a replayed answer (e.g. re-sending a
        message the first attempt may have lost). Errors raised by ``effect`` release the claim."""
        key = validate_key(key)
        claim = Claim(self, scope, key, body_hash(raw_body) if key is not None else "")
        if key is None:
            return effect(claim)
        stored = self.begin(scope, key, claim.bhash)
        if stored is not None:
            if on_replay is not None:
                on_replay(stored)
            return stored.body, stored.status
        try:
            body, status = effect(claim)
        except BaseException:
            self.release(scope, key)
            raise
        if not claim.joined:
            self.complete(scope, key, claim.bhash, status, body)
        return body, status

    def run_model(
        self, scope: str, key: str | None, raw_body: str | bytes | None, effect: Callable[[], M], model: type[M]
    ) -> M:
        """``run`` for a route that answers 200 with ``model`` (so its OpenAPI schema still comes from its type)."""
        body, _ = self.run(scope, key, raw_body, lambda: (effect().model_dump(mode="json"), 200))
        return model.model_validate(body)

"""The embedded DynamoDB (moto), made fit for the local mode: a transaction rollback that saves only the items a
transaction touches, and one lock around each DynamoDB request.

Why (docs/decision_log.md, 2026-11-29):

- moto 5's ``transact_write_items`` deep-copies every table a transaction names, once per item, so that it can roll
  back. A local transaction therefore costs O(table size x items): 4.6 s for 10 items on a 20,000-item table, and the
  copies are what made ``make run`` slow down and grow. :func:`transact_write_items` below is moto's own algorithm
  (same order of checks, same exceptions, same cancellation reasons), with one change: before an item is written, a
  deep copy of *that item* (or "absent") is saved, and a rollback puts those items back. Items are the only state a
  transaction changes; the stream shard's records (if a table has a stream) are truncated back as well.
- DynamoDB is atomic per item; moto's conditional update is a read, a check and a write that two threads can
  interleave, and its transactions mutate shared dicts. One re-entrant lock around every DynamoDB request makes each
  request atomic, as in DynamoDB (and each transaction atomic, as DynamoDB's are), so concurrency tests exercise the
  project's interleavings (two requests racing for one item), not moto's internal ones.

Applied by ``make run`` (``local.server``), by the benchmark's separate moto process (``python -m
local.motoserver``) and by the test fixtures (``tests/fixtures.py``). Never imported by ``functions/``.
``tests/integration/test_embedded_dynamodb.py`` runs moto's transaction semantics against a patched and an unpatched
server and requires the same answers.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb import models as ddb_models
from moto.dynamodb import responses as ddb_responses
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

_ORIGINAL_TRANSACT: Callable[..., None] = DynamoDBBackend.transact_write_items
_ORIGINAL_CALL_ACTION: Callable[..., Any] = ddb_responses.DynamoHandler.call_action

#: One lock for every DynamoDB request of this process's embedded server (re-entrant: a request never waits on
#: itself). Exposed so that tests can assert it is held while a request runs.
REQUEST_LOCK = threading.RLock()

_installed = False


class _Savepoint:
    """The state of the items a transaction touched, taken just before each was first written."""

    def __init__(self) -> None:
        self._items: dict[tuple[int, Any, Any], tuple[Table, DynamoType, DynamoType | None, Item | None, bool]] = {}
        self._streams: dict[int, tuple[Any, int]] = {}

    def save(self, table: Table, key: dict[str, Any]) -> None:
        if table.hash_key_attr not in key or (table.range_key_attr is not None and table.range_key_attr not in key):
            return  # malformed key: the operation fails validation before it writes anything
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr is not None else None
        ident = (id(table), hash_value, range_value)
        if ident in self._items:
            return
        hash_present = hash_value in table.items  # items is a defaultdict: look without creating
        current: Item | None = None
        if hash_present:
            bucket = table.items[hash_value]
            current = bucket.get(range_value) if range_value is not None else bucket  # type: ignore[union-attr]
        self._items[ident] = (table, hash_value, range_value, copy.deepcopy(current), hash_present)
        shard = table.stream_shard
        if shard is not None and id(table) not in self._streams:
            self._streams[id(table)] = (shard, len(shard.items))

    def restore(self) -> None:
        for table, hash_value, range_value, saved, hash_present in self._items.values():
            if range_value is None:
                if saved is None:
                    table.items.pop(hash_value, None)
                else:
                    table.items[hash_value] = saved
                continue
            if saved is not None:
                table.items[hash_value][range_value] = saved
                continue
            if hash_value in table.items:
                table.items[hash_value].pop(range_value, None)
                if not table.items[hash_value] and not hash_present:
                    del table.items[hash_value]
        for shard, length in self._streams.values():
            del shard.items[length:]


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto 5.2's ``DynamoDBBackend.transact_write_items`` with an item-level savepoint instead of table copies."""
    if len(transact_items) > 100:
        raise ddb_models.TooManyTransactionsException()
    savepoint = _Savepoint()
    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise ddb_models.MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[str, str, dict[str, Any]] | tuple[None, None, None]] = []
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            raise ddb_models.TransactWriteSingleOpException
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            names = op.get("ExpressionAttributeNames")
            values = op.get("ExpressionAttributeValues")
            return_on_failure = op.get("ReturnValuesOnConditionCheckFailure")

            if op_type == "Put":
                attrs = op["Item"]
                table = self.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]

            check_unicity(table_name, key)

            current = self.get_item(table_name, key)
            if condition_expression is not None:
                condition_op = ddb_models.get_filter_expression(condition_expression, names, values)
                if not condition_op.expr(current):
                    if return_on_failure == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ddb_models.ConditionalCheckFailed(item=original_item)

            if op_type != "ConditionCheck":
                savepoint.save(self.get_table(table_name), key)
            if op_type == "Put":
                self.put_item(
                    table_name,
                    op["Item"],
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Delete":
                self.delete_item(
                    table_name,
                    key,
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Update":
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            errors.append((None, None, None))
        except (ddb_models.MultipleTransactionsException, ddb_models.MockValidationException):
            savepoint.restore()
            raise
        except ddb_models.ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))  # type: ignore[arg-type]
        except Exception as e:
            errors.append((type(e).__name__, str(e), original_item))  # type: ignore[arg-type]

    if any(code is not None for code, _, _ in errors):
        savepoint.restore()
        raise ddb_models.TransactionCanceledException(errors)


def _locked_call_action(self: Any) -> Any:
    with REQUEST_LOCK:
        return _ORIGINAL_CALL_ACTION(self)


def install() -> None:
    """Patch this process's moto (idempotent). Call before moto serves a request."""
    global _installed
    if _installed:
        return
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    ddb_responses.DynamoHandler.call_action = functools.wraps(_ORIGINAL_CALL_ACTION)(_locked_call_action)  # type: ignore[method-assign]
    _installed = True


def uninstall() -> None:
    """Restore moto's own behaviour (the equivalence test compares both)."""
    global _installed
    DynamoDBBackend.transact_write_items = _ORIGINAL_TRANSACT  # type: ignore[method-assign]
    ddb_responses.DynamoHandler.call_action = _ORIGINAL_CALL_ACTION  # type: ignore[method-assign]
    _installed = False


def installed() -> bool:
    return _installed

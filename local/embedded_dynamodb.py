"""The embedded DynamoDB (moto), made fit for the local mode: a transaction rollback that saves only the items a
transaction touches, and one lock around each DynamoDB request.

Why (docs/decision_log.md, 2026-11-29):

- moto 5's ``transact_write_items`` deep-copies every table a transaction names, once per item, so that it can roll
  back. A local transaction therefore costs O(table size x items): 4.6 s for 10 items on a 20,000-item table, and the
  copies are what made ``make run`` slow down and grow. :func:`transact_write_items` below is moto's own algorithm
  (same order of checks, same exceptions, same cancellation reasons), with one change: before an item is written, a
  deep copy of *that item* (or "absent") is saved, and a rollback puts those items back. Items are the only state a
  transaction changes; the stream shard's records (if a table has a stream) are truncated back as well.
- Reads that miss must not store anything: moto's ``Table.items`` is a ``defaultdict``, so a ``GetItem`` or a
  ``DeleteItem`` of an absent key on a table with a sort key left an empty partition behind, for ever (a client probing
  random ids grew the server). :func:`_get_item` and :func:`_delete_item` look without creating.
- A query on the table's own key reads its partition, not the table: moto's ``Table.query`` sorts every item of the
  table (``all_items``) and filters them by partition, on every query. :func:`_query` tells :func:`_all_items` which
  partition the query names, so it returns only that partition (already the result's order: it is sorted by range
  key). An index query (:func:`_index_candidates`) gets only the items whose index hash attributes equal the
  query's, in the same order, instead of the whole table sorted (moto then sorts and filters them as before); a
  catalogue search asks one index query per asset, which cost a full sort of the table each time.
- An item is built in linear time: moto's ``LimitedSizeDict`` re-adds the size of every attribute already set each
  time one more is set, so building an item of n attributes cost O(n^2) (a third of the consumer's transaction time
  on the server). :func:`_item_init` keeps the running size and raises ``ItemSizeTooLarge`` at the same attribute.
- Data-plane answers are written as JSON directly: moto serialises each answer by walking botocore's shape model
  value by value, about 20 ms for a 4 KB ``BatchGetItem`` answer (most of the local delivery path's server time).
  Its items are already in DynamoDB's wire format, so :func:`_execute_result` writes them with ``json.dumps``
  (``None`` members left out and binary values base64-encoded, as the serializer does) for the item operations;
  every other operation and every error keeps moto's serializer.
- Inside a transaction, an update of the plain form ``SET #a = :a, ... ADD #n :n, ...`` (top-level, distinct,
  non-key attributes; scalar values; ADD on numbers; every name and value used) is applied directly by
  :func:`_simple_update`, with moto's own number addition and size check; anything else goes through moto's parser,
  validator and executor (about 4 ms per update here, the consumer's largest server cost).
- A condition is parsed once per (expression, names, values): moto parses every condition from its text on every
  use (twice per transaction item), and the parsed tree is a pure function of those three. :class:`_ParsedCondition`
  keeps the tree and the names and values it found, in a bounded LRU cache; a parse that fails is not cached.
- An item request without binary values is read with ``json.loads``: moto's request parser walks botocore's shape
  model to turn base64 blobs into bytes (the only conversion a DynamoDB item request needs; it has no timestamps),
  which for a 100-item transaction cost more than the transaction. A body that mentions ``"B"`` or ``"BS"`` keeps
  moto's parser.
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

import base64
import copy
import functools
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from moto.dynamodb import comparisons as ddb_comparisons
from moto.dynamodb import models as ddb_models
from moto.dynamodb import responses as ddb_responses
from moto.dynamodb.exceptions import ItemSizeTooLarge, ItemSizeToUpdateTooLarge
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import Table
from moto.dynamodb.models.utilities import bytesize
from moto.dynamodb.responses import DynamoResult

_ORIGINAL_TRANSACT: Callable[..., None] = DynamoDBBackend.transact_write_items
_ORIGINAL_EXECUTE: Callable[..., Any] = DynamoResult.execute_result
_ITEM_OPERATIONS = frozenset(
    {
        "GetItem",
        "BatchGetItem",
        "Query",
        "Scan",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)
_ORIGINAL_PARSER: Callable[..., Any] = ddb_comparisons.create_condition_expression_parser
_PARSER_USERS = (ddb_comparisons, ddb_models, ddb_responses)  # modules that call it by name
_ORIGINAL_ITEM_INIT: Callable[..., None] = Item.__init__
ITEM_SIZE_LIMIT = 405_000  # moto's limit (LimitedSizeDict.__setitem__)
_ORIGINAL_TABLE = {name: getattr(Table, name) for name in ("get_item", "delete_item", "query", "all_items")}
_ORIGINAL_CALL_ACTION: Callable[..., Any] = ddb_responses.DynamoHandler.call_action
_ORIGINAL_PARSE: Callable[..., Any] = ddb_responses.DynamoHandler.parse_parameters
_BLOB_MARKERS = re.compile(r'"BS?"\s*:')

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
        current: Any = None
        if hash_present:
            bucket: Any = table.items[hash_value]
            current = bucket.get(range_value) if range_value is not None else bucket
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
                    table.items[hash_value] = saved  # type: ignore[assignment]
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


_SET_ITEM = r"#\w+ = :\w+"
_ADD_ITEM = r"#\w+ :\w+"
_SIMPLE_UPDATE = re.compile(
    rf"(?:SET (?P<set>{_SET_ITEM}(?:, {_SET_ITEM})*))?(?: ?ADD (?P<add>{_ADD_ITEM}(?:, {_ADD_ITEM})*))?"
)
_SCALARS = frozenset({"S", "N", "BOOL", "NULL"})


def _simple_update(backend: DynamoDBBackend, table_name: str, key: dict[str, Any], op: dict[str, Any]) -> bool:
    """Apply a plain SET/ADD update as moto's executor would; False (nothing done) when the update is not plain."""
    match = _SIMPLE_UPDATE.fullmatch(op["UpdateExpression"])
    if match is None or not (match["set"] or match["add"]):
        return False
    names: dict[str, str] = op.get("ExpressionAttributeNames") or {}
    values: dict[str, Any] = op.get("ExpressionAttributeValues") or {}
    sets = [tuple(part.split(" = ")) for part in match["set"].split(", ")] if match["set"] else []
    adds = [tuple(part.split(" ")) for part in match["add"].split(", ")] if match["add"] else []
    used_names = [n for n, _ in sets + adds]
    used_values = [v for _, v in sets + adds]
    if sorted(used_names) != sorted(names) or sorted(used_values) != sorted(values):
        return False  # unused, missing or repeated names or values: moto's validator says what is wrong
    table = backend.get_table(table_name)
    targets = [names[n] for n in used_names]
    if len(set(targets)) != len(targets) or {table.hash_key_attr, table.range_key_attr} & set(targets):
        return False
    for _, v in sets:
        if len(values[v]) != 1 or next(iter(values[v])) not in _SCALARS:
            return False
    for _, v in adds:
        if list(values[v]) != ["N"]:
            return False
    if table.hash_key_attr not in key or (table.range_key_attr is not None and table.range_key_attr not in key):
        return False
    hash_value = DynamoType(key[table.hash_key_attr])
    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr is not None else None
    item = table.get_item(hash_value, range_value)
    for n, _ in adds:  # moto raises IncorrectDataType for ADD to a non-number: let it
        existing = item.attrs.get(names[n]) if item is not None else None
        if existing is not None and existing.type != "N":
            return False
    orig_item = copy.deepcopy(item)
    if item is None:
        data: dict[str, Any] = {table.hash_key_attr: key[table.hash_key_attr]}
        if range_value is not None:
            data[table.range_key_attr] = key[table.range_key_attr]  # type: ignore[index]
        table.put_item(data)
        item = table.get_item(hash_value, range_value)
    assert item is not None
    try:
        for n, v in sets:
            item.attrs[names[n]] = DynamoType(values[v])
        for n, v in adds:
            current = item.attrs.get(names[n]) or DynamoType({"N": "0"})
            item.attrs[names[n]] = current + DynamoType(values[v])
    except ItemSizeTooLarge:
        raise ItemSizeToUpdateTooLarge() from None
    if table.stream_shard is not None:
        table.stream_shard.add(orig_item, item)
    return True


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
            elif op_type == "Update" and not _simple_update(self, table_name, key, op):
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


def _item_init(self: Item, hash_key: DynamoType, range_key: DynamoType | None, attrs: dict[str, Any]) -> None:
    """moto's ``Item.__init__`` with the size check made incremental: at each attribute the sum of the sizes of the
    names and values set so far plus the new one is compared with the limit, as ``LimitedSizeDict`` does."""
    self.hash_key = hash_key
    self.range_key = range_key
    built = LimitedSizeDict()
    total = 0
    for key, value in attrs.items():
        converted = DynamoType(value)
        size = bytesize(key) + converted.size()
        if total + size > ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge
        dict.__setitem__(built, key, converted)
        total += size
    self.attrs = built


def _wire(value: Any) -> Any:
    """A result in DynamoDB's JSON wire format: ``None`` members dropped, bytes base64-encoded."""
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_wire(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    return value


def _execute_result(self: DynamoResult, context: Any) -> Any:
    if context.operation_model.name not in _ITEM_OPERATIONS or not isinstance(self.result, dict):
        return _ORIGINAL_EXECUTE(self, context)
    body = json.dumps(_wire(self.result), separators=(",", ":"))
    return 200, {"Content-Type": "application/x-amz-json-1.0"}, body


class _ParsedCondition:
    """What moto's ``ConditionExpressionParser`` gives its callers (``parse()``, the names and values found), parsed
    once per distinct (expression, names, values)."""

    _cache: OrderedDict[str, tuple[Any, list[str], list[str]]] = OrderedDict()
    LIMIT = 2048

    def __init__(self, expr: str | None, names: dict[str, str] | None, values: dict[str, Any] | None) -> None:
        self._args = (expr, names, values)
        self._key = json.dumps([expr, names, values], sort_keys=True, default=repr)
        self._names: list[str] = []
        self._values: list[str] = []

    def parse(self) -> Any:
        hit = self._cache.get(self._key)
        if hit is None:
            parser = _ORIGINAL_PARSER(*self._args)
            op = parser.parse()  # a parse error propagates and is not cached
            hit = (op, list(parser.expr_attr_names_found), list(getattr(parser, "expr_attr_values_found", [])))
            self._cache[self._key] = hit
            if len(self._cache) > self.LIMIT:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(self._key)
        self._names, self._values = list(hit[1]), list(hit[2])
        return hit[0]

    @property
    def expr_attr_names_found(self) -> list[str]:
        return self._names

    @property
    def expr_attr_values_found(self) -> list[str]:
        return self._values


def _get_item(
    self: Table,
    hash_key: DynamoType,
    range_key: DynamoType | None = None,
    projection_expression: list[list[str]] | None = None,
) -> Item | None:
    """moto's ``Table.get_item`` without inserting an empty partition when the key is absent."""
    if self.has_range_key and not range_key:
        raise ddb_models.MockValidationException("Table has a range key, but no range key was passed into get_item")
    bucket = self.items.get(hash_key)
    result: Item | None
    if bucket is None:
        result = None
    elif range_key:
        result = bucket.get(range_key)  # type: ignore[union-attr]
    else:
        result = bucket  # type: ignore[assignment]
    if projection_expression and result:
        result = result.project(projection_expression)
    return result


def _delete_item(self: Table, hash_key: DynamoType, range_key: DynamoType | None) -> Item | None:
    """moto's ``Table.delete_item`` without inserting an empty partition when the key is absent."""
    if range_key:
        bucket = self.items.get(hash_key)
        if bucket is None or range_key not in bucket:  # type: ignore[operator]
            return None
        item = bucket.pop(range_key)  # type: ignore[union-attr]
        if not bucket:
            del self.items[hash_key]
    else:
        if hash_key not in self.items:
            return None
        item = self.items.pop(hash_key)
    if self.stream_shard is not None:
        self.stream_shard.add(item, None)
    return item  # type: ignore[no-any-return]


def _query(self: Table, hash_key: DynamoType | None, *args: Any, **kwargs: Any) -> Any:
    index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
    if index_name is None and hash_key is not None:
        self.__dict__["_imprimatur_partition"] = hash_key
    elif index_name is not None and kwargs.get("hash_key_conditions"):
        self.__dict__["_imprimatur_index_keys"] = list(kwargs["hash_key_conditions"])
    try:
        return _ORIGINAL_TABLE["query"](self, hash_key, *args, **kwargs)
    finally:
        self.__dict__.pop("_imprimatur_partition", None)
        self.__dict__.pop("_imprimatur_index_keys", None)


def _index_candidates(self: Table, conditions: list[tuple[str, DynamoType]]) -> list[Item]:
    """The items whose index hash attributes equal the query's (moto's own test: present, truthy and ``==``), in
    ``all_items``' order: a superset moto filters again, so the answer is moto's, without sorting the whole table."""
    found: list[Item] = []
    for bucket in self.items.values():
        items: list[Item] = list(bucket.values()) if self.range_key_attr else [bucket]  # type: ignore[union-attr,list-item]
        for item in items:
            attrs = item.attrs
            for name, want in conditions:
                have = attrs.get(name)
                if not have or have != want:
                    break
            else:
                found.append(item)
    return sorted(found, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


def _all_items(self: Table) -> list[Item]:
    partition = self.__dict__.get("_imprimatur_partition")
    if partition is None:
        conditions = self.__dict__.get("_imprimatur_index_keys")
        if conditions:
            return _index_candidates(self, conditions)
        return _ORIGINAL_TABLE["all_items"](self)  # type: ignore[no-any-return]
    bucket = self.items.get(partition)
    if bucket is None:
        return []
    if not self.range_key_attr:
        return [bucket]  # type: ignore[list-item]
    return sorted(bucket.values(), key=lambda x: x.range_key)  # type: ignore[union-attr]


def _parse_parameters(self: Any, request: Any) -> None:
    body = self.body
    if (
        self._get_action() in _ITEM_OPERATIONS
        and isinstance(body, str)
        and body.startswith("{")
        and not _BLOB_MARKERS.search(body)
    ):
        self.params = json.loads(body)
        return
    _ORIGINAL_PARSE(self, request)


def _locked_call_action(self: Any) -> Any:
    with REQUEST_LOCK:
        return _ORIGINAL_CALL_ACTION(self)


def install() -> None:
    """Patch this process's moto (idempotent). Call before moto serves a request."""
    global _installed
    if _installed:
        return
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    Item.__init__ = _item_init  # type: ignore[method-assign]
    for module in _PARSER_USERS:
        module.create_condition_expression_parser = _ParsedCondition  # type: ignore[attr-defined]
    DynamoResult.execute_result = _execute_result  # type: ignore[method-assign,assignment]
    Table.get_item = _get_item  # type: ignore[method-assign]
    Table.delete_item = _delete_item  # type: ignore[method-assign]
    Table.query = _query  # type: ignore[method-assign]
    Table.all_items = _all_items  # type: ignore[method-assign]
    ddb_responses.DynamoHandler.parse_parameters = _parse_parameters  # type: ignore[method-assign]
    ddb_responses.DynamoHandler.call_action = functools.wraps(_ORIGINAL_CALL_ACTION)(_locked_call_action)  # type: ignore[method-assign]
    _installed = True


def uninstall() -> None:
    """Restore moto's own behaviour (the equivalence test compares both)."""
    global _installed
    DynamoDBBackend.transact_write_items = _ORIGINAL_TRANSACT  # type: ignore[method-assign]
    Item.__init__ = _ORIGINAL_ITEM_INIT  # type: ignore[method-assign]
    for module in _PARSER_USERS:
        module.create_condition_expression_parser = _ORIGINAL_PARSER  # type: ignore[attr-defined]
    DynamoResult.execute_result = _ORIGINAL_EXECUTE  # type: ignore[method-assign]
    for name, fn in _ORIGINAL_TABLE.items():
        setattr(Table, name, fn)
    ddb_responses.DynamoHandler.parse_parameters = _ORIGINAL_PARSE  # type: ignore[method-assign]
    ddb_responses.DynamoHandler.call_action = _ORIGINAL_CALL_ACTION  # type: ignore[method-assign]
    _installed = False


def installed() -> bool:
    return _installed

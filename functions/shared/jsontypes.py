"""Static types shared by the services (issue 15, typed seams): JSON values, and DynamoDB items on both sides of the
low-level client.

- ``JSONValue`` / ``JSONObject``: what ``json.loads`` returns and what a body or a Lambda event is made of.
- ``AttrValue`` / ``AttrItem``: an item in DynamoDB's wire format (``{"pk": {"S": ...}}``), typed by the boto3 stubs
  (a dev dependency: imported only while type checking, so the aliases are strings at run time).
- ``Record``: an item as ``functions.shared.ddb.from_item`` returns it (plain Python values). A DAL narrows it to its
  own ``TypedDict`` where it knows the record's shape.
- ``TransactItem``: one action of ``TransactWriteItems``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias  # Any: LambdaEvent below, the one untyped edge

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from mypy_boto3_dynamodb.type_defs import (
        AttributeValueTypeDef,
        ConditionCheckTypeDef,
        PutTypeDef,
        TransactWriteItemTypeDef,
        UpdateTypeDef,
    )

JSONScalar: TypeAlias = "str | int | float | bool | None"
JSONValue: TypeAlias = "str | int | float | bool | Sequence[JSONValue] | Mapping[str, JSONValue] | None"
"""Containers are read-only (covariant), so a ``dict[str, int]`` is a JSON value; ``JSONObject`` is the mutable top."""
JSONObject: TypeAlias = "dict[str, JSONValue]"

AttrValue: TypeAlias = "AttributeValueTypeDef"
AttrItem: TypeAlias = "dict[str, AttributeValueTypeDef]"
TransactItem: TypeAlias = "TransactWriteItemTypeDef"
PutAction: TypeAlias = "PutTypeDef"
UpdateAction: TypeAlias = "UpdateTypeDef"
CheckAction: TypeAlias = "ConditionCheckTypeDef"

Record: TypeAlias = "dict[str, object]"

LambdaEvent: TypeAlias = "dict[str, Any]"  # Any: an event or proxy result at a Lambda's edge, read field by field
"""A Lambda event (API Gateway HTTP API v2, SQS, a stream) or a proxy result, at the edge of a handler only: the
handler reads the few fields it needs and validates them (pydantic, ``functions.shared.limits``) before any logic."""

__all__ = [
    "AttrItem",
    "AttrValue",
    "CheckAction",
    "JSONObject",
    "JSONScalar",
    "JSONValue",
    "LambdaEvent",
    "PutAction",
    "Record",
    "TransactItem",
    "UpdateAction",
]

"""DynamoDB item (de)serialisation for the low-level client, with integers kept as ``int``."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, cast  # Any: from_item's values as stored (see from_item)

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from functions.shared.jsontypes import AttrItem, AttrValue

_ser = TypeSerializer()
_de = TypeDeserializer()


def _clean(value: object) -> object:
    if isinstance(value, float):
        raise TypeError("floats are not stored: use integers (money is in micros)")
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


_MAX_N = 10**38  # DynamoDB numbers hold 38 digits; beyond that boto3's serializer decides (and refuses)


def _value(value: object) -> AttrValue:
    """boto3's ``TypeSerializer.serialize(_clean(value))`` in one pass for the types items are made of (str, bool,
    int, dict, list, None); sets, bytes, Decimal and huge numbers go to boto3's serializer. The metering consumer
    serialises about 20 attributes per event: boto3's type dispatch was a tenth of its CPU."""
    kind = type(value)
    if kind is str:
        return {"S": cast(str, value)}
    if kind is bool:
        return {"BOOL": cast(bool, value)}
    if kind is int and -_MAX_N < cast(int, value) < _MAX_N:
        return {"N": str(value)}
    if kind is dict:
        return {"M": {k: _value(v) for k, v in cast("dict[str, object]", value).items() if v is not None}}
    if kind is list or kind is tuple:
        return {"L": [_value(v) for v in cast("list[object]", value)]}
    if value is None:
        return {"NULL": True}
    return _serialize(value)


def _serialize(value: object) -> AttrValue:
    """boto3's own serialiser (sets, bytes, Decimal, huge numbers, and the errors for what it refuses)."""
    return cast("AttrValue", _ser.serialize(_clean(value)))


def to_value(value: object) -> AttrValue:
    try:
        return _value(value)
    except Exception:  # refused: let boto3's path raise its own error, in its own order
        return _serialize(value)


def to_item(data: Mapping[str, object]) -> AttrItem:
    return {k: to_value(v) for k, v in data.items() if v is not None}


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return sorted(_plain(v) for v in value)  # type: ignore[type-var]  # a set's members are of one type
    return value


def from_item(item: Mapping[str, AttrValue]) -> dict[str, Any]:  # Any: fields as stored; the DAL narrows them
    return {k: _plain(_de.deserialize(v)) for k, v in item.items()}

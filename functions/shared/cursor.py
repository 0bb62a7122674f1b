"""Opaque pagination cursors: url-safe base64 of a DynamoDB ``LastEvaluatedKey``.

A cursor is checked on the way back in: it must decode, be a flat object of string attributes with exactly
the expected key names, and (where given) keep the partition key of the query it came from, so a tampered
cursor is a 400 and can never move a query into another tenant's partition.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping

from functions.shared.faults import InvalidInput
from functions.shared.jsontypes import AttrItem, AttrValue


def encode(last_key: Mapping[str, AttrValue] | None) -> str | None:
    if not last_key:
        return None
    plain = {k: next(iter(v.values())) for k, v in last_key.items()}
    raw = json.dumps(plain, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None, *, key_names: tuple[str, ...], expect: dict[str, str] | None = None) -> AttrItem | None:
    if cursor is None or cursor == "":
        return None
    try:
        if len(cursor) > 2048:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        plain = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("The cursor is not valid.", code="invalid_cursor") from None
    if (
        not isinstance(plain, dict)
        or set(plain) != set(key_names)
        or not all(isinstance(v, str) and 0 < len(v) <= 1024 for v in plain.values())
    ):
        raise InvalidInput("The cursor is not valid.", code="invalid_cursor")
    for name, value in (expect or {}).items():
        if plain.get(name) != value:
            raise InvalidInput("The cursor does not belong to this query.", code="invalid_cursor")
    return {k: {"S": v} for k, v in plain.items()}

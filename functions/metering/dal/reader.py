"""Read-only access to metering records for other services (docs/data-contracts.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from mypy_boto3_dynamodb.type_defs import KeysAndAttributesOutputTypeDef, KeysAndAttributesTypeDef

    from functions.shared.jsontypes import AttrItem, AttrValue


def spend_key(license_id: str) -> AttrItem:
    return {"pk": {"S": f"SPEND#{license_id}"}, "sk": {"S": "SPEND"}}


def spend_from_item(item: Mapping[str, AttrValue] | None) -> int:
    """Gross micros charged so far on the licence (0 when nothing is recorded)."""
    value = (item or {}).get("spent_micros", {}).get("N")
    return int(value) if value is not None else 0


def spent_by_license(table: str, license_ids: list[str]) -> dict[str, int]:
    """Gross micros charged so far per licence (as booked by the metering consumer), one ``BatchGetItem`` per 100."""
    from functions.shared import aws

    out: dict[str, int] = {}
    ids = list(dict.fromkeys(license_ids))
    for i in range(0, len(ids), 100):
        request: Mapping[str, KeysAndAttributesTypeDef | KeysAndAttributesOutputTypeDef] = {
            table: {"Keys": [spend_key(x) for x in ids[i : i + 100]], "ConsistentRead": True}
        }
        for _ in range(8):
            got = aws.dynamodb().batch_get_item(RequestItems=request)
            for item in got.get("Responses", {}).get(table, []):
                out[item["pk"]["S"].removeprefix("SPEND#")] = spend_from_item(item)
            request = got.get("UnprocessedKeys") or {}
            if not request:
                break
    return out

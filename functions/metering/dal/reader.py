"""Read-only access to metering records for other services (docs/data-contracts.md)."""

from __future__ import annotations

from typing import Any


def spend_key(license_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"SPEND#{license_id}"}, "sk": {"S": "SPEND"}}


def spend_from_item(item: dict[str, Any]) -> int:
    """Gross micros charged so far on the licence (0 when nothing is recorded)."""
    value = (item or {}).get("spent_micros", {}).get("N")
    return int(value) if value is not None else 0

"""Read-only access to licences for other services (docs/data-contracts.md)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING, Any

from functions.shared import aws
from functions.shared.ddb import from_item

if TYPE_CHECKING:
    from functions.shared.config import BaseEnv

_FIELDS = (
    "id",
    "buyer_id",
    "publisher_id",
    "offer_id",
    "scope",
    "use",
    "terms",
    "terms_sha256",
    "status",
    "budget_cap_micros",
    "starts_at",
    "expires_at",
    "created_at",
    "cancelled_at",
    "revoked_at",
    "lapsed_at",
    "renew_from",
    "pay_per_crawl",
)


@cache
def _env_model() -> type[BaseEnv]:
    """The reader's environment model, defined once (pydantic is imported on first use, not at import: the delivery
    hot path imports this module). A class defined per call would be a new ``load_env`` cache key every call."""
    from functions.shared.config import BaseEnv

    class _Env(BaseEnv):
        __env_singleton__ = True  # built once by the cached _env_model(): load_env may cache it
        LICENSING_TABLE: str

    return _Env


def _table() -> str:
    from functions.shared.config import load_env

    return str(load_env(_env_model()).LICENSING_TABLE)


def license_key(license_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"LIC#{license_id}"}, "sk": {"S": "LIC"}}


def license_from_item(item: dict[str, Any]) -> dict[str, Any]:
    data = from_item(item)
    return {k: data.get(k) for k in _FIELDS}


def get_license(license_id: str) -> dict[str, Any] | None:
    got = aws.client("dynamodb").get_item(TableName=_table(), Key=license_key(license_id))
    return license_from_item(got["Item"]) if "Item" in got else None


def active_subscriptions() -> Iterator[dict[str, Any]]:
    """Active subscription licences, from the sparse ``SUBS`` index (no scan)."""
    ddb = aws.client("dynamodb")
    args: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": "gsi4",
        "KeyConditionExpression": "gsi4pk = :p",
        "ExpressionAttributeValues": {":p": {"S": "SUBS"}},
    }
    while True:
        got = ddb.query(**args)
        for item in got.get("Items", []):
            yield license_from_item(item)
        if "LastEvaluatedKey" not in got:
            return
        args["ExclusiveStartKey"] = got["LastEvaluatedKey"]


def get_licenses(ids: set[str]) -> dict[str, dict[str, Any]]:
    """Licences by id (unknown ids are absent), one ``BatchGetItem`` per 100."""
    table = _table()
    out: dict[str, dict[str, Any]] = {}
    keys = [license_key(i) for i in sorted(ids) if i.startswith("lic_") and len(i) < 64]
    for i in range(0, len(keys), 100):
        request: dict[str, Any] = {table: {"Keys": keys[i : i + 100]}}
        for _ in range(8):
            got = aws.client("dynamodb").batch_get_item(RequestItems=request)
            for item in got.get("Responses", {}).get(table, []):
                lic = license_from_item(item)
                out[lic["id"]] = lic
            request = got.get("UnprocessedKeys") or {}
            if not request:
                break
    return out

"""Read-only access to the catalogue for other services (docs/data-contracts.md). No writes, no models:
plain dicts, cheap to import (the delivery hot path uses ``asset_key``/``asset_from_item``)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from functions.shared import aws
from functions.shared.ddb import from_item

if TYPE_CHECKING:
    from functions.shared.config import BaseEnv

_ASSET_FIELDS = (
    "id",
    "publisher_id",
    "title",
    "description",
    "kind",
    "media_type",
    "language",
    "tags",
    "size_bytes",
    "sha256",
    "status",
    "s3_key",
    "collection_id",
    "pool_ids",
    "published_at",
    "created_at",
    "updated_at",
)
_OFFER_FIELDS = (
    "id",
    "publisher_id",
    "scope",
    "uses",
    "pricing",
    "term_days",
    "attribution_required",
    "territories",
    "user_types",
    "max_licenses",
    "status",
    "created_at",
)


@cache
def _env_model() -> type[BaseEnv]:
    """The reader's environment model, defined once (pydantic is imported on first use, not at import: the delivery
    hot path imports this module). A class defined per call would be a new ``load_env`` cache key every call."""
    from functions.shared.config import BaseEnv

    class _Env(BaseEnv):
        __env_singleton__ = True  # built once by the cached _env_model(): load_env may cache it
        CATALOG_TABLE: str

    return _Env


def _table() -> str:
    from functions.shared.config import load_env

    return str(load_env(_env_model()).CATALOG_TABLE)


def asset_key(asset_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"ASSET#{asset_id}"}, "sk": {"S": "ASSET"}}


def asset_from_item(item: dict[str, Any], now_iso: str | None = None) -> dict[str, Any]:
    data = from_item(item)
    now = now_iso or datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    leaves = data.get("pool_leaves") or {}
    out = {k: data.get(k) for k in _ASSET_FIELDS}
    out["tags"] = out["tags"] or []
    out["pool_ids"] = [p for p in (data.get("pool_ids") or []) if p not in leaves or leaves[p] > now]
    return out


def _get(pk: str, sk: str) -> dict[str, Any] | None:
    got = aws.client("dynamodb").get_item(TableName=_table(), Key={"pk": {"S": pk}, "sk": {"S": sk}})
    return got.get("Item")


def get_asset(asset_id: str) -> dict[str, Any] | None:
    item = _get(f"ASSET#{asset_id}", "ASSET")
    return asset_from_item(item) if item else None


def offer_from_item(item: dict[str, Any]) -> dict[str, Any]:
    data = from_item(item)
    return {k: data.get(k) for k in _OFFER_FIELDS}


def get_offer(offer_id: str) -> dict[str, Any] | None:
    item = _get(f"OFFER#{offer_id}", "OFFER")
    return offer_from_item(item) if item else None


def _offers_for_scope(scope_type: str, scope_id: str) -> list[dict[str, Any]]:
    ddb = aws.client("dynamodb")
    out: list[dict[str, Any]] = []
    args: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :pk",
        "FilterExpression": "#s = :a",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":pk": {"S": f"OFFERS#{scope_type}#{scope_id}"}, ":a": {"S": "active"}},
    }
    while True:
        got = ddb.query(**args)
        out += [offer_from_item(i) for i in got.get("Items", [])]
        if "LastEvaluatedKey" not in got:
            return out
        args["ExclusiveStartKey"] = got["LastEvaluatedKey"]


def active_offers_for_asset(asset: dict[str, Any]) -> list[dict[str, Any]]:
    """Active offers whose scope is the asset, its collection, or one of its pools (oldest first)."""
    offers = _offers_for_scope("asset", asset["id"])
    if asset.get("collection_id"):
        offers += _offers_for_scope("collection", asset["collection_id"])
    for pool_id in asset.get("pool_ids") or []:
        offers += _offers_for_scope("pool", pool_id)
    return sorted(offers, key=lambda o: (o["created_at"], o["id"]))


def get_pool(pool_id: str) -> dict[str, Any] | None:
    item = _get(f"POOL#{pool_id}", "POOL")
    if not item:
        return None
    data = from_item(item)
    return {k: data.get(k) for k in ("id", "name", "description", "created_by", "created_at")}


def pool_members(pool_id: str, now_iso: str | None = None) -> list[dict[str, Any]]:
    """Current members ``{asset_id, publisher_id, joined_at, leaves_at}`` (including those leaving later)."""
    ddb = aws.client("dynamodb")
    args: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :m)",
        "ExpressionAttributeValues": {":pk": {"S": f"POOL#{pool_id}"}, ":m": {"S": "MEMBER#"}},
    }
    now = now_iso or datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    out: list[dict[str, Any]] = []
    while True:
        got = ddb.query(**args)
        for i in got.get("Items", []):
            m = from_item(i)
            if m.get("leaves_at") and m["leaves_at"] <= now:
                continue
            out.append({k: m.get(k) for k in ("asset_id", "publisher_id", "joined_at", "leaves_at")})
        if "LastEvaluatedKey" not in got:
            return out
        args["ExclusiveStartKey"] = got["LastEvaluatedKey"]


def asset_from_item_model(asset: Any) -> dict[str, Any]:
    """The reader's dict view of a catalogue ``Asset`` model (used inside the catalogue service)."""
    data = asset.model_dump()
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    out = {k: data.get(k) for k in _ASSET_FIELDS}
    out["pool_ids"] = asset.effective_pool_ids(now)
    return out

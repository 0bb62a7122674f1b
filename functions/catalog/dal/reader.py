"""Read-only access to the catalogue for other services (docs/data-contracts.md). No writes, no models: plain dicts
typed by the records below (TypedDicts, one definition each), cheap to import (the delivery hot path uses
``asset_key``/``asset_from_item``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, cast

from functions.shared import aws, clock
from functions.shared.ddb import from_item
from functions.shared.jsontypes import AttrItem, AttrValue
from functions.shared.typeddict import TypedDict

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import QueryInputTypeDef

    from functions.catalog.models.domain import Asset, AssetStatus
    from functions.catalog.models.input import Model as PricingModel


class Scope(TypedDict):
    """What an offer covers (and a licence taken on it, frozen into its terms)."""

    type: Literal["asset", "collection", "pool"]
    id: str


class _PricingModel(TypedDict):
    model: PricingModel


class Pricing(_PricingModel, total=False):
    """An offer's price (absent fields are not stored): ``amount_micros`` per access, per unit, once or per period."""

    amount_micros: int
    currency: str
    unit: str  # per_unit only
    period_days: int  # subscription only


class AssetRecord(TypedDict):
    """An asset as the reader returns it (``asset_from_item``, ``get_asset``)."""

    id: str
    publisher_id: str
    title: str
    description: str | None
    kind: str
    media_type: str
    language: str
    tags: list[str]
    size_bytes: int
    sha256: str
    status: AssetStatus
    s3_key: str  # the object key in the content bucket
    content_version: str | None  # the S3 VersionId that was verified (None before verification, or unversioned)
    delivery_key: str | None  # the key of the verified bytes' copy in the delivery bucket (None: no copy)
    collection_id: str | None
    pool_ids: list[str]  # the pools it is a member of now (not those it has left)
    published_at: str | None
    created_at: str
    updated_at: str


class OfferRecord(TypedDict):
    """An offer as the reader returns it (``offer_from_item``, ``get_offer``, ``active_offers_for_asset``)."""

    id: str
    publisher_id: str
    scope: Scope
    uses: list[str]
    pricing: Pricing
    term_days: int | None
    attribution_required: bool
    territories: list[str] | None
    user_types: list[str] | None
    max_licenses: int | None
    status: Literal["active", "retired"]
    created_at: str


class PoolRecord(TypedDict):
    id: str
    name: str
    description: str
    created_by: str
    created_at: str


class PoolMemberRecord(TypedDict):
    asset_id: str
    publisher_id: str
    joined_at: str
    leaves_at: str | None  # set when the member leaves at the end of a period


_ASSET_FIELDS = tuple(AssetRecord.__annotations__)
_OFFER_FIELDS = tuple(OfferRecord.__annotations__)
_POOL_FIELDS = tuple(PoolRecord.__annotations__)
_MEMBER_FIELDS = tuple(PoolMemberRecord.__annotations__)


@dataclass(frozen=True)
class _Env:
    """The reader's one setting, read without pydantic (``functions.shared.settings``): the delivery hot path and the
    402 path call this reader."""

    CATALOG_TABLE: str


def _table() -> str:
    from functions.shared.settings import load_settings

    return load_settings(_Env).CATALOG_TABLE


def asset_key(asset_id: str) -> AttrItem:
    return {"pk": {"S": f"ASSET#{asset_id}"}, "sk": {"S": "ASSET"}}


def asset_from_item(item: Mapping[str, AttrValue], now_iso: str | None = None) -> AssetRecord:
    data = from_item(item)
    now = now_iso or clock.now_iso()
    leaves = data.get("pool_leaves") or {}
    out = cast(AssetRecord, {k: data.get(k) for k in _ASSET_FIELDS})
    out["tags"] = out["tags"] or []
    out["pool_ids"] = [p for p in (data.get("pool_ids") or []) if p not in leaves or leaves[p] > now]
    return out


def _get(pk: str, sk: str) -> AttrItem | None:
    got = aws.dynamodb().get_item(TableName=_table(), Key={"pk": {"S": pk}, "sk": {"S": sk}})
    return got.get("Item")


def get_asset(asset_id: str) -> AssetRecord | None:
    item = _get(f"ASSET#{asset_id}", "ASSET")
    return asset_from_item(item) if item else None


def offer_from_item(item: Mapping[str, AttrValue]) -> OfferRecord:
    data = from_item(item)
    return cast(OfferRecord, {k: data.get(k) for k in _OFFER_FIELDS})


def get_offer(offer_id: str) -> OfferRecord | None:
    item = _get(f"OFFER#{offer_id}", "OFFER")
    return offer_from_item(item) if item else None


def _offers_for_scope(scope_type: str, scope_id: str) -> list[OfferRecord]:
    ddb = aws.dynamodb()
    out: list[OfferRecord] = []
    args: QueryInputTypeDef = {
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


def active_offers_for_asset(
    asset: AssetRecord, shared: dict[tuple[str, str], list[OfferRecord]] | None = None
) -> list[OfferRecord]:
    """Active offers whose scope is the asset, its collection, or one of its pools (oldest first). ``shared``, when
    given, keeps the collection and pool offers already read (a search page reads each shared scope once)."""

    def scope(scope_type: str, scope_id: str) -> list[OfferRecord]:
        if shared is None:
            return _offers_for_scope(scope_type, scope_id)
        if (scope_type, scope_id) not in shared:
            shared[(scope_type, scope_id)] = _offers_for_scope(scope_type, scope_id)
        return shared[(scope_type, scope_id)]

    offers = list(_offers_for_scope("asset", asset["id"]))
    collection_id = asset.get("collection_id")
    if collection_id:
        offers += scope("collection", collection_id)
    for pool_id in asset.get("pool_ids") or []:
        offers += scope("pool", pool_id)
    return sorted(offers, key=lambda o: (o["created_at"], o["id"]))


def get_pool(pool_id: str) -> PoolRecord | None:
    item = _get(f"POOL#{pool_id}", "POOL")
    if not item:
        return None
    data = from_item(item)
    return cast(PoolRecord, {k: data.get(k) for k in _POOL_FIELDS})


def pool_members(pool_id: str, now_iso: str | None = None) -> list[PoolMemberRecord]:
    """Current members ``{asset_id, publisher_id, joined_at, leaves_at}`` (including those leaving later)."""
    ddb = aws.dynamodb()
    args: QueryInputTypeDef = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :m)",
        "ExpressionAttributeValues": {":pk": {"S": f"POOL#{pool_id}"}, ":m": {"S": "MEMBER#"}},
    }
    now = now_iso or clock.now_iso()
    out: list[PoolMemberRecord] = []
    while True:
        got = ddb.query(**args)
        for i in got.get("Items", []):
            m = from_item(i)
            if m.get("leaves_at") and m["leaves_at"] <= now:
                continue
            out.append(cast(PoolMemberRecord, {k: m.get(k) for k in _MEMBER_FIELDS}))
        if "LastEvaluatedKey" not in got:
            return out
        args["ExclusiveStartKey"] = got["LastEvaluatedKey"]


def asset_from_item_model(asset: Asset) -> AssetRecord:
    """The reader's dict view of a catalogue ``Asset`` model (used inside the catalogue service)."""
    data = asset.model_dump()
    now = clock.now_iso()
    out = cast(AssetRecord, {k: data.get(k) for k in _ASSET_FIELDS})
    out["pool_ids"] = asset.effective_pool_ids(now)
    return out

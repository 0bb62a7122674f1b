from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel

from functions.shared.model import DeferredModel

if TYPE_CHECKING:
    from functions.catalog.dal.reader import OfferRecord
    from functions.catalog.models.domain import Offer


class AssetOut(DeferredModel):
    id: str
    publisher_id: str
    title: str
    description: str | None = None
    kind: str
    media_type: str
    language: str
    tags: list[str]
    size_bytes: int
    sha256: str
    status: str
    status_reason: str | None = None
    collection_id: str | None = None
    pool_ids: list[str] = []
    published_at: str | None = None
    created_at: str
    updated_at: str


class PutUpload(DeferredModel):
    method: str
    url: str
    headers: dict[str, str]
    expires_at: str


class Part(DeferredModel):
    part_number: int
    url: str


class MultipartUpload(DeferredModel):
    method: str
    upload_id: str
    part_size: int
    parts: list[Part]
    expires_at: str


class CreateAssetResponse(DeferredModel):
    asset: AssetOut
    upload: PutUpload | MultipartUpload


class AssetList(DeferredModel):
    items: list[AssetOut]
    next_cursor: str | None = None


class OfferPricing(DeferredModel):
    model: str
    amount_micros: int
    currency: str
    unit: str | None = None
    period_days: int | None = None


class OfferOut(DeferredModel):
    id: str
    publisher_id: str
    scope: dict[str, str]
    uses: list[str]
    pricing: OfferPricing
    term_days: int | None = None
    attribution_required: bool
    territories: list[str] | None = None
    user_types: list[str] | None = None
    max_licenses: int | None = None
    status: str
    created_at: str
    retired_at: str | None = None
    publisher_name: str | None = None  # the publisher's display name (issue 19), on public reads


class OfferList(DeferredModel):
    items: list[OfferOut]
    next_cursor: str | None = None


class CatalogItem(AssetOut):
    offers: list[OfferOut]
    publisher_name: str | None = None  # the publisher's display name (issue 19): buyers see who they license from


class CatalogPage(DeferredModel):
    items: list[CatalogItem]
    next_cursor: str | None = None


class CollectionOut(DeferredModel):
    id: str
    publisher_id: str
    title: str
    description: str | None = None
    created_at: str


class PublisherOut(DeferredModel):
    id: str
    name: str  # the display name when the publisher set one, else its account name
    asset_count: int
    offer_count: int
    rsl_url: str
    robots_txt: str
    # the public profile the publisher edits (PATCH /v1/me; issue 19)
    display_name: str | None = None
    website: str | None = None
    description: str | None = None
    logo_url: str | None = None


class PoolOut(DeferredModel):
    id: str
    name: str
    description: str
    created_at: str
    member_count: int


class PoolMembersOut(DeferredModel):
    pool_id: str
    asset_ids: list[str]


class PoolLeaveOut(DeferredModel):
    pool_id: str
    asset_id: str
    leaves_at: str


def offer_out(o: Offer | OfferRecord) -> OfferOut:
    data = o.model_dump() if isinstance(o, BaseModel) else o
    return OfferOut.model_validate(data)

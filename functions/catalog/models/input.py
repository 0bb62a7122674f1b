"""Request bodies of the catalogue API, with every constraint the contract implies."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, field_validator, model_validator

from functions.catalog.models.domain import MAX_ASSET_BYTES, MEDIA_TYPES, PUT_MAX_BYTES, TERRITORIES
from functions.shared.limits import Currency, timestamp
from functions.shared.model import DeferredModel

Kind = Literal["article", "dataset", "image", "audio", "video", "book", "other"]
Use = Literal["all", "ai-all", "ai-train", "ai-input", "ai-index", "search"]
UserType = Literal["commercial", "non-commercial", "education", "government", "personal"]
Model = Literal["per_access", "per_unit", "flat", "subscription", "free"]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]
Tag = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9 _.-]*$"
    ),
]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")]
Sha256 = Annotated[str, StringConstraints(to_lower=True, pattern=r"^[0-9a-fA-F]{64}$")]
IdStr = Annotated[str, StringConstraints(max_length=64)]
PUBLISHED_AHEAD = timedelta(days=1)  # a publication date may be announced a day ahead, not further


class _Strict(DeferredModel):
    model_config = ConfigDict(extra="forbid")


class CreateAssetRequest(_Strict):
    title: Title
    description: Description | None = None
    kind: Kind
    media_type: str = Field(max_length=100)
    language: Language
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    size_bytes: int = Field(ge=1, le=MAX_ASSET_BYTES, strict=True)
    sha256: Sha256
    published_at: str | None = Field(default=None, description="RFC 3339; at most a day after the marketplace's clock")
    collection_id: IdStr | None = None
    upload_method: Literal["PUT", "MULTIPART"] | None = Field(
        default=None,
        description="Default: a single PUT up to 100 MiB, multipart above. A client may ask for multipart for a "
        "smaller file (resumable, parallel parts); a PUT above 100 MiB is refused.",
    )

    @field_validator("media_type")
    @classmethod
    def _media_type(cls, v: str) -> str:
        v = v.strip().lower()
        if v not in MEDIA_TYPES:
            raise ValueError(f"media_type must be one of: {', '.join(sorted(MEDIA_TYPES))}")
        return v

    @field_validator("published_at")
    @classmethod
    def _published_at(cls, v: str | None) -> str | None:
        return v if v is None else timestamp(v, "published_at", max_ahead=PUBLISHED_AHEAD)

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(v))

    @model_validator(mode="after")
    def _method(self) -> CreateAssetRequest:
        if self.upload_method == "PUT" and self.size_bytes > PUT_MAX_BYTES:
            raise ValueError("a single PUT carries at most 100 MiB: use MULTIPART")
        return self


class UpdateAssetRequest(_Strict):
    title: Title | None = None
    description: Description | None = None
    kind: Kind | None = None
    language: Language | None = None
    tags: list[Tag] | None = Field(default=None, max_length=20)
    published_at: str | None = Field(default=None, description="RFC 3339; at most a day after the marketplace's clock")
    collection_id: IdStr | None = None

    @field_validator("published_at")
    @classmethod
    def _published_at(cls, v: str | None) -> str | None:
        return v if v is None else timestamp(v, "published_at", max_ahead=PUBLISHED_AHEAD)

    @model_validator(mode="after")
    def _not_empty(self) -> UpdateAssetRequest:
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        return self


class PartEtag(_Strict):
    part_number: int = Field(ge=1, le=10_000, strict=True)
    etag: str = Field(min_length=1, max_length=200)


class CompleteRequest(_Strict):
    parts: list[PartEtag] | None = Field(default=None, max_length=10_000)


class CreateCollectionRequest(_Strict):
    title: Title
    description: Description | None = None


class Pricing(_Strict):
    model: Model
    amount_micros: int = Field(default=0, ge=0, le=10**15, strict=True)
    currency: Currency = "USD"
    unit: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)] | None = None
    period_days: int | None = Field(default=None, ge=1, le=366, strict=True)

    @model_validator(mode="after")
    def _rules(self) -> Pricing:
        if self.model == "free":
            if self.amount_micros != 0:
                raise ValueError("a free offer has no amount")
        elif self.amount_micros <= 0:
            raise ValueError(f"a {self.model} offer needs amount_micros > 0")
        if self.model == "per_unit" and not self.unit:
            raise ValueError("a per_unit offer names its unit (e.g. '1k tokens')")
        if self.model != "per_unit" and self.unit is not None:
            raise ValueError("only a per_unit offer has a unit")
        if self.model == "subscription" and self.period_days is None:
            raise ValueError("a subscription offer needs period_days")
        if self.model != "subscription" and self.period_days is not None:
            raise ValueError("only a subscription offer has period_days")
        return self


class CreateOfferRequest(_Strict):
    asset_id: IdStr | None = None
    collection_id: IdStr | None = None
    pool_id: IdStr | None = None
    uses: list[Use] = Field(min_length=1, max_length=6)
    pricing: Pricing
    term_days: int | None = Field(default=None, ge=1, le=3650, strict=True)
    attribution_required: bool = Field(default=False, strict=True)
    territories: list[str] | None = Field(default=None, min_length=1, max_length=250)
    user_types: list[UserType] | None = Field(default=None, min_length=1, max_length=5)
    max_licenses: int | None = Field(default=None, ge=1, le=1_000_000, strict=True)

    @field_validator("territories")
    @classmethod
    def _territories(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        bad = [t for t in v if t not in TERRITORIES]
        if bad:
            raise ValueError(f"territories must be ISO 3166-1 alpha-2 codes or EU; not: {', '.join(bad[:5])}")
        return list(dict.fromkeys(v))

    @field_validator("uses", "user_types")
    @classmethod
    def _dedupe(cls, v: list[str] | None) -> list[str] | None:
        return list(dict.fromkeys(v)) if v is not None else v

    @model_validator(mode="after")
    def _one_scope(self) -> CreateOfferRequest:
        scopes = [s for s in (self.asset_id, self.collection_id, self.pool_id) if s is not None]
        if len(scopes) != 1:
            raise ValueError("give exactly one of asset_id, collection_id or pool_id")
        return self


class CreatePoolRequest(_Strict):
    name: Title
    description: Description = ""


class PoolMembersRequest(_Strict):
    asset_ids: list[IdStr] | None = Field(default=None, max_length=100)
    collection_ids: list[IdStr] | None = Field(default=None, max_length=20)

    @model_validator(mode="after")
    def _some(self) -> PoolMembersRequest:
        if not self.asset_ids and not self.collection_ids:
            raise ValueError("give asset_ids and/or collection_ids")
        return self

"""Catalogue domain: assets, collections, offers, pools, and the limits the API documents."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from functions.shared.model import DeferredModel

MIB = 1024 * 1024
PUT_MAX_BYTES = 100 * MIB  # up to this size an upload is one presigned PUT; above, presigned multipart
PART_SIZE = 16 * MIB  # multipart part size (S3 allows 5 MiB..5 GiB, at most 10,000 parts)
MAX_ASSET_BYTES = 50 * 1024 * MIB  # 50 GiB per asset
PUT_URL_TTL_S = 15 * 60  # a presigned PUT is valid for 15 minutes
PART_URL_TTL_S = 6 * 3600  # multipart part URLs for 6 hours (large uploads take time)
SYNC_VERIFY_MAX_BYTES = 64 * MIB
"""Up to this size ``complete`` reads and hashes the object itself (about 2 s at the stated rates, within the API
function's 10 s); above it, ``complete`` answers 202 and the verifier hashes it (docs/performance.md). A single PUT
whose SHA-256 S3 checked on upload is never re-hashed, whatever its size."""
DELIVERY_COPY_MAX_BYTES = 512 * 1024
"""Verified objects up to this size are copied to the delivery bucket (``DELIVERY_BUCKET``, S3 Express One Zone;
issue 16) and delivered from there. Above it an S3 Express GET is no longer cheaper than S3 Standard's: it bills
USD 0.0006 per GB retrieved, and (0.40 - 0.03) USD per million GETs is the retrieval charge of about 600 KiB."""

# Media types accepted (checked at creation, and against the stored bytes at verification).
MEDIA_TYPES = frozenset(
    {
        "text/plain", "text/html", "text/markdown", "text/csv", "application/json", "application/x-ndjson",
        "application/xml", "application/pdf", "application/zip", "application/gzip", "application/x-tar",
        "application/epub+zip", "application/parquet", "image/png", "image/jpeg", "image/webp", "audio/mpeg",
        "audio/wav", "video/mp4", "application/octet-stream",
    }
)  # fmt: skip

_ISO_3166_ALPHA2 = (
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ "
    "CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR "
    "GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO "
    "JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR "
    "MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO "
    "RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV "
    "TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"
)
TERRITORIES = frozenset(_ISO_3166_ALPHA2.split()) | {"EU"}

AssetStatus = Literal["pending_upload", "verifying", "available", "rejected", "withdrawn"]


class UploadState(DeferredModel):
    method: Literal["PUT", "MULTIPART"]
    upload_id: str | None = None
    part_size: int | None = None
    part_count: int | None = None


class Asset(DeferredModel):
    id: str
    publisher_id: str
    title: str
    description: str | None = None
    kind: str
    media_type: str
    language: str
    tags: list[str] = Field(default_factory=list)
    size_bytes: int
    sha256: str
    status: AssetStatus
    status_reason: str | None = None
    s3_key: str
    collection_id: str | None = None
    pool_ids: list[str] = Field(default_factory=list)
    pool_leaves: dict[str, str] = Field(default_factory=dict)  # pool_id -> when the opt-out takes effect
    upload: UploadState
    published_at: str | None = None
    created_at: str
    updated_at: str
    verified_at: str | None = None
    content_version: str | None = None  # the S3 VersionId whose bytes were verified; deliveries presign on it
    delivery_key: str | None = None  # the verified bytes' copy in DELIVERY_BUCKET, if any; deliveries presign on it

    def effective_pool_ids(self, now_iso: str) -> list[str]:
        return [p for p in self.pool_ids if p not in self.pool_leaves or self.pool_leaves[p] > now_iso]


class Collection(DeferredModel):
    id: str
    publisher_id: str
    title: str
    description: str | None = None
    created_at: str


class Offer(DeferredModel):
    id: str
    publisher_id: str  # the offering account; for a pool offer, the admin who published it
    scope: dict[str, str]  # {"type": "asset"|"collection"|"pool", "id": ...}
    uses: list[str]
    pricing: dict[str, int | str | None]  # functions.catalog.dal.reader.Pricing, as the request model dumped it
    term_days: int | None = None
    attribution_required: bool = False
    territories: list[str] | None = None
    user_types: list[str] | None = None
    max_licenses: int | None = None
    status: Literal["active", "retired"]
    created_at: str
    retired_at: str | None = None


class Pool(DeferredModel):
    id: str
    name: str
    description: str = ""
    created_by: str
    created_at: str

from __future__ import annotations

from functions.shared.model import DeferredModel


class LicenseOut(DeferredModel):
    id: str
    buyer_id: str
    publisher_id: str
    buyer_name: str | None = None
    """The buyer account's name (null when the account cannot be read)."""
    publisher_name: str | None = None
    """The publisher account's name (null when the account cannot be read)."""
    offer_id: str
    scope: dict[str, str]
    use: str
    terms: dict[str, object]  # the offer's terms frozen at grant (JSON, hashed; shape: dal.reader.Terms)
    terms_sha256: str
    status: str
    budget_cap_micros: int | None = None
    starts_at: str
    expires_at: str | None = None
    created_at: str
    cancelled_at: str | None = None
    revoked_at: str | None = None
    revoke_reason: str | None = None
    lapsed_at: str | None = None
    spent_micros: int = 0
    """What has been charged on the licence (equal to its ledger postings once metering settles)."""
    remaining_micros: int | None = None
    """``budget_cap_micros - spent_micros`` (null when uncapped); budget held by unexpired internal reservations
    still counts as remaining."""


class GrantResponse(DeferredModel):
    license: LicenseOut
    certificate: str


class LicenseList(DeferredModel):
    items: list[LicenseOut]
    next_cursor: str | None = None


class CertificateOut(DeferredModel):
    license_id: str
    certificate: str
    jwks_url: str


class Jwk(DeferredModel):
    kty: str
    crv: str
    x: str
    y: str
    use: str
    alg: str
    kid: str


class Jwks(DeferredModel):
    keys: list[Jwk]


class ContentOut(DeferredModel):
    url: str
    expires_at: str
    license_id: str
    sha256: str
    size_bytes: int
    media_type: str

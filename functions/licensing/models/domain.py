from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

LicenseStatus = Literal["active", "cancelled", "revoked", "lapsed"]


class License(BaseModel):
    id: str
    buyer_id: str
    publisher_id: str
    offer_id: str
    scope: dict[str, str]
    use: str
    terms: dict[str, Any]  # frozen copy of the offer's terms at grant time
    terms_sha256: str
    status: LicenseStatus
    budget_cap_micros: int | None = None
    starts_at: str
    expires_at: str | None = None
    created_at: str
    cancelled_at: str | None = None
    revoked_at: str | None = None
    revoke_reason: str | None = None
    lapsed_at: str | None = None
    renew_from: int = 0  # first subscription period to charge (a licence reactivated after lapsing skips the gap)
    pay_per_crawl: bool = False
    certificate: str

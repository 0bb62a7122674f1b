from __future__ import annotations

from typing import Any, Literal  # Any: the frozen terms (see License.terms)

from pydantic import BaseModel

LicenseStatus = Literal["active", "cancelled", "revoked", "lapsed"]


class License(BaseModel):
    id: str
    buyer_id: str
    publisher_id: str
    offer_id: str
    scope: dict[str, str]
    use: str
    terms: dict[str, Any]  # Any: the offer's terms frozen at grant (JSON, hashed; shape: dal.reader.Terms)
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

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, cast

from functions.shared.model import DeferredModel

if TYPE_CHECKING:
    from functions.catalog.dal.reader import Pricing

LicenseStatus = Literal["active", "cancelled", "revoked", "lapsed"]


class License(DeferredModel):
    id: str
    buyer_id: str
    publisher_id: str
    offer_id: str
    scope: dict[str, str]
    use: str
    terms: dict[str, object]  # the offer's terms frozen at grant (JSON, hashed; shape: dal.reader.Terms)
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

    @property
    def pricing(self) -> Pricing:
        """The frozen terms' price: stored JSON in the offer's ``Pricing`` shape (``licenses.frozen_terms``)."""
        return cast("Pricing", self.terms["pricing"])

"""The entitlement decision of content delivery, on plain dicts (no I/O): may this licence deliver this asset for
this use now, within its terms? (The budget cap is a reservation: ``budget``.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions.shared.uses import covers

if TYPE_CHECKING:
    from functions.catalog.dal.reader import AssetRecord
    from functions.licensing.dal.reader import LicenseRecord, Terms


def covers_asset(lic: LicenseRecord, asset: AssetRecord) -> bool:
    scope = lic.get("scope") or {}
    kind, sid = scope.get("type"), scope.get("id")
    if kind == "asset":
        return bool(sid == asset["id"])
    if kind == "collection":
        return bool(sid and sid == asset.get("collection_id"))
    if kind == "pool":
        return sid in (asset.get("pool_ids") or [])
    return False


def access_price(lic: LicenseRecord) -> int:
    terms: Terms = lic.get("terms") or {}
    pricing = terms.get("pricing")
    return int(pricing.get("amount_micros") or 0) if pricing and pricing.get("model") == "per_access" else 0


def refusal(lic: LicenseRecord, asset: AssetRecord, use: str, now_iso: str) -> str | None:
    """None when the licence entitles this delivery; otherwise the problem ``code`` of the 403. The budget cap is
    checked apart, by a reservation (``functions.licensing.logic.budget``)."""
    if lic["status"] in ("revoked", "cancelled", "lapsed"):
        return f"license_{lic['status']}"
    expires_at = lic.get("expires_at")
    if expires_at and now_iso >= expires_at:
        return "license_expired"
    if lic.get("starts_at") and now_iso < lic["starts_at"]:
        return "license_not_started"
    if not covers_asset(lic, asset):
        return "license_scope"
    if not covers([lic["use"]], use):
        return "license_use"
    return None

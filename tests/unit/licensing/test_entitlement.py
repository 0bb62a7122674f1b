"""The entitlement decision (``functions.licensing.logic.entitlement.refusal``), pure: every refusal code, in the
order the delivery route checks them, without the embedded AWS."""

from __future__ import annotations

from typing import Any

import pytest

from functions.licensing.logic.entitlement import access_price, covers_asset, refusal

NOW = "2026-09-15T12:00:00Z"
ASSET: dict[str, Any] = {"id": "ast_1", "collection_id": "col_1", "pool_ids": ["pool_1"]}


def licence(**changes: Any) -> dict[str, Any]:
    base = {
        "id": "lic_1",
        "status": "active",
        "use": "ai-input",
        "scope": {"type": "asset", "id": "ast_1"},
        "starts_at": "2026-09-01T00:00:00Z",
        "expires_at": "2026-10-01T00:00:00Z",
        "terms": {"pricing": {"model": "per_access", "amount_micros": 10_000, "currency": "USD"}},
    }
    return {**base, **changes}


@pytest.mark.parametrize(
    ("changes", "use", "now", "code"),
    [
        ({}, "ai-input", NOW, None),
        ({"status": "revoked"}, "ai-input", NOW, "license_revoked"),
        ({"status": "cancelled"}, "ai-input", NOW, "license_cancelled"),
        ({"status": "lapsed"}, "ai-input", NOW, "license_lapsed"),
        ({}, "ai-input", "2026-10-01T00:00:00Z", "license_expired"),  # the expiry instant is outside the term
        ({}, "ai-input", "2026-09-30T23:59:59Z", None),
        ({"expires_at": None}, "ai-input", "2099-01-01T00:00:00Z", None),  # open-ended
        ({}, "ai-input", "2026-08-31T23:59:59Z", "license_not_started"),
        ({}, "ai-input", "2026-09-01T00:00:00Z", None),  # the start instant is inside
        ({"scope": {"type": "asset", "id": "ast_2"}}, "ai-input", NOW, "license_scope"),
        ({"scope": {"type": "collection", "id": "col_1"}}, "ai-input", NOW, None),
        ({"scope": {"type": "collection", "id": "col_2"}}, "ai-input", NOW, "license_scope"),
        ({"scope": {"type": "pool", "id": "pool_1"}}, "ai-input", NOW, None),
        ({"scope": {"type": "pool", "id": "pool_2"}}, "ai-input", NOW, "license_scope"),
        ({"scope": {"type": "publisher", "id": "acct_1"}}, "ai-input", NOW, "license_scope"),  # unknown kind
        ({}, "ai-train", NOW, "license_use"),
        ({"use": "ai-all"}, "ai-train", NOW, None),
        ({"use": "ai-all"}, "search", NOW, "license_use"),
        ({"use": "all"}, "search", NOW, None),
        # a licence that is both ended and out of scope answers with its status first
        ({"status": "revoked", "scope": {"type": "asset", "id": "ast_2"}}, "ai-train", NOW, "license_revoked"),
        ({"scope": {"type": "asset", "id": "ast_2"}}, "ai-train", "2026-12-01T00:00:00Z", "license_expired"),
        ({"scope": {"type": "asset", "id": "ast_2"}}, "ai-train", NOW, "license_scope"),
    ],
)
def test_refusal(changes: dict[str, Any], use: str, now: str, code: str | None) -> None:
    assert refusal(licence(**changes), ASSET, use, now) == code  # type: ignore[arg-type]


def test_a_collection_scope_needs_the_asset_to_be_in_a_collection() -> None:
    lic = licence(scope={"type": "collection", "id": None})
    assert not covers_asset(lic, {"id": "ast_1", "collection_id": None})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pricing", "micros"),
    [
        ({"model": "per_access", "amount_micros": 10_000, "currency": "USD"}, 10_000),
        ({"model": "per_unit", "amount_micros": 10_000, "currency": "USD"}, 0),
        ({"model": "flat", "amount_micros": 5_000_000, "currency": "USD"}, 0),
        ({"model": "free"}, 0),
        (None, 0),
    ],
)
def test_only_a_per_access_licence_has_an_access_price(pricing: dict[str, Any] | None, micros: int) -> None:
    assert access_price(licence(terms={"pricing": pricing})) == micros  # type: ignore[arg-type]

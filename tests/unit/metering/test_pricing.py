"""Pricing a usage or charge message (``functions.metering.logic.pricing.price``), pure: what each pricing model
charges, who is credited, the fee, and what is poison, without the embedded AWS."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.metering.logic.pricing import PLATFORM, PoisonMessage, price
from tests.unit.depth import examples

FEE_BPS = 1_000  # 10 %


def licence(model: str = "per_access", amount: int = 10_000, scope: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "id": "lic_1",
        "buyer_id": "acct_buyer",
        "publisher_id": "acct_pub",
        "use": "ai-input",
        "scope": scope or {"type": "asset", "id": "ast_1"},
        "terms": {"pricing": {"model": model, "amount_micros": amount, "currency": "EUR"}},
    }


def usage(source: str = "delivery", units: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "usage",
        "event_id": "evt_1",
        "license_id": "lic_1",
        "buyer_id": "acct_buyer",
        "publisher_id": "acct_pub",
        "asset_id": "ast_1",
        "use": "ai-input",
        "units": units,
        "source": source,
        "occurred_at": "2026-09-15T12:00:00Z",
        **extra,
    }


def charge(amount: int = 5_000_000) -> dict[str, Any]:
    return {
        "kind": "charge",
        "charge_id": "chg_1",
        "license_id": "lic_1",
        "buyer_id": "acct_buyer",
        "amount_micros": amount,
        "occurred_at": "2026-09-01T00:00:00Z",
    }


@pytest.mark.parametrize(
    ("model", "msg", "gross"),
    [
        ("per_access", usage("delivery"), 10_000),  # one access, one price, whatever the units
        ("per_access", usage("delivery", units=7), 10_000),
        ("per_access", usage("report", units=7), 0),  # reported units are not accesses
        ("per_unit", usage("report", units=7), 70_000),
        ("per_unit", usage("delivery"), 0),
        ("flat", usage("delivery"), 0),  # charged by charge messages only
        ("subscription", usage("report", units=3), 0),
        ("free", usage("delivery"), 0),
        ("flat", charge(5_000_000), 5_000_000),
        ("subscription", charge(0), 0),
    ],
)
def test_each_model_charges_what_its_terms_say(model: str, msg: dict[str, Any], gross: int) -> None:
    e = price(msg, licence(model), FEE_BPS)  # type: ignore[arg-type]
    assert (e.gross, e.fee, e.net, e.currency) == (gross, gross // 10, gross - gross // 10, "EUR")
    if gross:
        assert e.postings == [
            {"account": "acct_buyer", "amount_micros": -gross},
            {"account": "acct_pub", "amount_micros": gross - gross // 10},
            {"account": PLATFORM, "amount_micros": gross // 10},
        ]
    else:
        assert e.postings == []
    assert e.accesses == (1 if msg.get("source") == "delivery" else 0)


def test_deduplication_keys_differ_by_kind_and_buyer() -> None:
    a = price(usage(), licence(), FEE_BPS)  # type: ignore[arg-type]
    b = price(charge(), licence("flat"), FEE_BPS)  # type: ignore[arg-type]
    other = licence() | {"buyer_id": "acct_other"}
    c = price(usage(buyer_id="acct_other"), other, FEE_BPS)  # type: ignore[arg-type]
    assert len({a.dedup_key, b.dedup_key, c.dedup_key}) == 3
    assert price(usage(), licence(), FEE_BPS).dedup_key == a.dedup_key  # type: ignore[arg-type]


def test_a_pool_licence_credits_the_pool_and_remembers_whose_asset_it_was() -> None:
    e = price(usage(), licence(scope={"type": "pool", "id": "pool_1"}), FEE_BPS)  # type: ignore[arg-type]
    assert (e.publisher_id, e.pool_id, e.asset_publisher_id) == ("pool_1", "pool_1", "acct_pub")
    assert e.postings[1] == {"account": "pool_1", "amount_micros": 9_000}


def test_a_lease_is_kept_only_on_a_charged_delivery() -> None:
    assert price(usage(lease_id="lse_1"), licence(), FEE_BPS).lease_id == "lse_1"  # type: ignore[arg-type]
    assert price(usage(lease_id="lse_1"), licence("free", 0), FEE_BPS).lease_id is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("msg", "lic", "why"),
    [
        ({"kind": "refund"}, licence(), "unknown message kind"),
        ({k: v for k, v in usage().items() if k != "event_id"}, licence(), "missing fields: event_id"),
        (usage(), None, "unknown licence"),
        (usage(buyer_id="acct_other"), licence(), "does not belong to the buyer"),
        (usage(units=0), licence(), "units must be >= 1"),
        (charge(-1), licence("flat"), "negative charge"),
        (usage(occurred_at=20261130), licence(), "occurred_at is not an RFC 3339"),
        (usage(occurred_at="30/11/2026"), licence(), "occurred_at is not an RFC 3339"),
        (usage(occurred_at="2026-11-30"), licence(), "occurred_at is not an RFC 3339"),
    ],
)
def test_poison(msg: dict[str, Any], lic: dict[str, Any] | None, why: str) -> None:
    with pytest.raises(PoisonMessage, match=why):
        price(msg, lic, FEE_BPS)  # type: ignore[arg-type]


@settings(max_examples=examples(100, 1000), deadline=None)
@given(
    model=st.sampled_from(["per_access", "per_unit", "flat", "subscription", "free"]),
    amount=st.integers(0, 10**9),
    units=st.integers(1, 10**6),
    source=st.sampled_from(["delivery", "report"]),
    fee_bps=st.integers(0, 10_000),
)
def test_postings_balance_and_the_fee_never_exceeds_the_rate(
    model: str, amount: int, units: int, source: str, fee_bps: int
) -> None:
    e = price(usage(source, units), licence(model, amount), fee_bps)  # type: ignore[arg-type]
    assert sum(p["amount_micros"] for p in e.postings) == 0
    assert e.fee + e.net == e.gross and e.fee * 10_000 <= e.gross * fee_bps

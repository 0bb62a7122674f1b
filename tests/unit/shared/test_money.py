from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.shared import money
from tests.unit.depth import examples


@given(st.integers(min_value=0, max_value=10**15), st.integers(min_value=0, max_value=10_000))
def test_fee_split_is_exact_and_never_above_rate(gross: int, bps: int) -> None:
    fee, net = money.fee_split(gross, bps)
    assert fee + net == gross
    assert 0 <= fee <= gross * bps / 10_000


def test_fee_split_rounds_fee_down() -> None:
    assert money.fee_split(10_001, 1000) == (1000, 9001)


@settings(max_examples=examples(40, 400), deadline=None)
@given(
    st.dictionaries(st.text(min_size=1, max_size=5), st.integers(min_value=0, max_value=10**6), max_size=20),
    st.integers(min_value=0, max_value=10**12),
)
def test_pro_rata_sums_exactly_and_zero_weight_gets_nothing(weights: dict[str, int], total: int) -> None:
    shares = money.pro_rata(total, weights)
    assert set(shares) == set(weights)
    if any(w > 0 for w in weights.values()):
        assert sum(shares.values()) == total
    else:
        assert sum(shares.values()) == 0
    assert all(shares[k] == 0 for k, w in weights.items() if w == 0)


def test_pro_rata_remainder_is_deterministic() -> None:
    assert money.pro_rata(10, {"a": 1, "b": 1, "c": 1}) == {"a": 4, "b": 3, "c": 3}


@pytest.mark.parametrize(
    ("text", "expected"),
    [("USD 0.010000", ("USD", 10_000)), ("EUR 1", ("EUR", 1_000_000)), ("USD 2.5", ("USD", 2_500_000))],
)
def test_parse_price_header(text: str, expected: tuple[str, int]) -> None:
    assert money.parse_price_header(text) == expected


@pytest.mark.parametrize("bad", ["", "USD", "usd 1", "USD -1", "USD 1.0000001", "USD 1e3", "1 USD"])
def test_parse_price_header_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        money.parse_price_header(bad)


def test_format_price_header_round_trips() -> None:
    assert money.format_price_header("USD", 10_000) == "USD 0.010000"
    assert money.parse_price_header(money.format_price_header("GBP", 123_456_789)) == ("GBP", 123_456_789)

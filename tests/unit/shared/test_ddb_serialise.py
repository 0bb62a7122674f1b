"""``functions.shared.ddb.to_item``/``to_value`` give exactly what boto3's ``TypeSerializer`` gives for the cleaned
value (None members dropped, floats refused), including its errors, for every kind of value an item can hold."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.shared.ddb import _clean, to_item, to_value
from tests.unit.depth import examples

scalars = st.one_of(
    st.text(max_size=8),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.binary(max_size=4),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
    st.frozensets(st.text(min_size=1, max_size=4), min_size=1, max_size=3).map(set),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=5), inner, max_size=4),
    ),
    max_leaves=12,
)


def _outcome(fn: Any, value: Any) -> Any:
    try:
        return ("ok", fn(value))
    except Exception as e:  # the same error type is part of the contract
        return ("error", type(e))


@settings(max_examples=examples(60, 800), deadline=None)
@given(values)
def test_to_value_is_boto3s_serializer(value: Any) -> None:
    assert _outcome(to_value, value) == _outcome(lambda v: TypeSerializer().serialize(_clean(v)), value)


@settings(max_examples=examples(30, 400), deadline=None)
@given(st.dictionaries(st.text(max_size=5), values, max_size=6))
def test_to_item_is_boto3s_serializer(data: dict[str, Any]) -> None:
    ser = TypeSerializer()
    expected = _outcome(lambda d: {k: ser.serialize(_clean(v)) for k, v in d.items() if v is not None}, data)
    assert _outcome(to_item, data) == expected


def test_a_typical_journal_entry() -> None:
    entry = {"pk": "EVT#a#1", "units": 3, "ok": True, "gone": None, "postings": [{"account": "x", "amount": -5}]}
    assert to_item(entry) == {
        "pk": {"S": "EVT#a#1"},
        "units": {"N": "3"},
        "ok": {"BOOL": True},
        "postings": {"L": [{"M": {"account": {"S": "x"}, "amount": {"N": "-5"}}}]},
    }
    assert to_value(Decimal("1.5")) == {"N": "1.5"}

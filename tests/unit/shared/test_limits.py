"""functions.shared.limits: the JSON depth and number-length rule agrees with a real parse, and the timestamp rule."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.shared import clock
from functions.shared.limits import EARLIEST, MAX_JSON_DEPTH, json_limit_violation, timestamp


def _depth(v: Any) -> int:
    if isinstance(v, dict):
        return 1 + max((_depth(x) for x in v.values()), default=0)
    if isinstance(v, list):
        return 1 + max((_depth(x) for x in v), default=0)
    return 0


_leaf = st.none() | st.booleans() | st.integers(-(10**25), 10**25) | st.text(alphabet='[]{}"\\1a', max_size=8)
_json = st.recursive(
    _leaf,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2),
    max_leaves=80,
)


@settings(max_examples=200, deadline=None)
@given(_json, st.integers(min_value=0, max_value=70))
def test_the_scan_agrees_with_the_parsed_depth_and_digits(value: Any, wrap: int) -> None:
    doc = "[" * wrap + json.dumps(value) + "]" * wrap
    parsed = json.loads(doc)
    too_long = any(len(t) > 20 for t in _ints(parsed))
    got = json_limit_violation(doc)
    if too_long:
        assert got is not None and "digits" in got
    elif _depth(parsed) > MAX_JSON_DEPTH:
        assert got is not None and "nested" in got
    else:
        assert got is None


def _ints(v: Any) -> list[str]:
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return []
    if isinstance(v, int):
        return [str(abs(v))]
    items = v.values() if isinstance(v, dict) else v
    return [t for x in items for t in _ints(x)]


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("[" * 65 + "]" * 65, True),
        ("[" * 64 + "]" * 64, False),
        ('"' + "[" * 1000 + '"', False),  # inside a string
        ('["\\"' + "[" * 100 + '"]', False),  # an escaped quote does not end the string
        ("1" * 20, False),
        ("1" * 21, True),
        ('{"a": "' + "9" * 100 + '"}', False),
        ("[" * 1_000_000, True),  # linear, no recursion
    ],
)
def test_examples(text: str, refused: bool) -> None:
    assert (json_limit_violation(text) is not None) is refused


def test_uploads_take_a_deeper_limit_and_long_numbers() -> None:
    assert json_limit_violation("[" * 512 + "]" * 512, max_depth=512, long_numbers=True) is None
    assert json_limit_violation("[" * 513 + "]" * 513, max_depth=512, long_numbers=True) is not None
    assert json_limit_violation("1" * 100, max_depth=512, long_numbers=True) is None


@pytest.mark.parametrize(
    "value",
    ["2026-02-29T00:00:00Z", "2026-11-31T00:00:00Z", "2026-11-29T23:59:60Z", "2026-11-29T00:00:00+14:60", "2026-11-29"],
)
def test_timestamps_must_be_real_instants(value: str) -> None:
    with pytest.raises(ValueError):
        timestamp(value, "at")


def test_timestamp_window_is_relative_to_the_marketplace_clock() -> None:
    ahead = timedelta(minutes=5)
    try:
        clock.set_offset(-365 * 86400)  # a year back: "now" a year ago
        last_year = clock.iso(clock.now())
        assert timestamp(last_year, "at", earliest=EARLIEST, max_ahead=ahead) == last_year
        with pytest.raises(ValueError):
            timestamp(clock.iso(clock.now() + timedelta(days=30)), "at", max_ahead=ahead)
    finally:
        clock.set_offset(0)
    with pytest.raises(ValueError):
        timestamp("1999-12-31T23:59:59.999Z", "at", earliest=EARLIEST)
    assert timestamp("2000-01-01T00:00:00Z", "at", earliest=EARLIEST)
    assert timestamp("2026-11-29T10:00:00.123456789+02:00", "at")

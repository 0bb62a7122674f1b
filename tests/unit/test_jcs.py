"""Our RFC 8785 (JCS) serialiser agrees byte for byte with the ``rfc8785`` package (Trail of Bits) as a peer."""

from __future__ import annotations

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.shared.jcs import canonical, sha256_hex
from tests.unit.depth import examples

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=examples(60, 800), deadline=None)
@given(JSON)
def test_matches_the_rfc8785_package(value: object) -> None:
    assert canonical(value).encode("utf-8") == rfc8785.dumps(value)


def test_keys_sort_by_utf16_code_units_and_the_hash_is_of_the_canonical_bytes() -> None:
    value = {"\U0001f600": 1, "\uffff": 2, "a": [True, None, "\u2028\n"]}
    assert canonical(value).encode() == rfc8785.dumps(value)
    import hashlib

    assert sha256_hex(value) == hashlib.sha256(rfc8785.dumps(value)).hexdigest()

"""Status lists, pure rules: the encoding read back by an independent decoder written from the IETF draft, list
numbering and rollover, and when a stored token may be served again."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.licensing.logic import statuslist
from tests.status_list_decoder import (
    DRAFT_EXAMPLE_LST,
    DRAFT_EXAMPLE_STATUSES,
    decode_list,
    jwt_parts,
)

AT = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def test_the_independent_decoder_reads_the_drafts_own_example() -> None:
    # Given the draft's example list (bits 1, bytes 0xB9 0xA3)
    decoded = decode_list({"bits": 1, "lst": DRAFT_EXAMPLE_LST})
    # Then the decoder (not product code) reads the draft's statuses, least significant bit first
    assert decoded.data == bytes([0xB9, 0xA3])
    assert [decoded.status(i) for i in range(16)] == DRAFT_EXAMPLE_STATUSES


def test_encoding_the_drafts_example_gives_the_drafts_bytes() -> None:
    # Given the draft example's INVALID indices
    invalid = [i for i, s in enumerate(DRAFT_EXAMPLE_STATUSES) if s]
    # When the product encodes them into a 16-entry list
    lst = statuslist.encode(invalid, size=16)
    # Then the compressed bytes inflate to the draft's array, and the independent decoder agrees
    decoded = decode_list({"bits": 1, "lst": lst})
    assert decoded.data == bytes([0xB9, 0xA3])
    assert decoded.invalid() == set(invalid)


@pytest.mark.parametrize("invalid", [set(), {0}, {7}, {8}, {1_048_575}, {3, 64, 65, 1000, 999_999}])
def test_a_full_size_list_round_trips_through_the_independent_decoder(invalid: set[int]) -> None:
    # When a full list (2^20 entries) is encoded
    lst = statuslist.encode(invalid)
    decoded = decode_list({"bits": 1, "lst": lst})
    # Then it covers every index (none is out of bounds) and exactly the INVALID ones are 1
    assert len(decoded) == statuslist.LIST_SIZE == 2**20
    assert decoded.invalid() == invalid
    # And it is the ZLIB format (RFC 1950: CMF 0x78, DEFLATE), small while mostly VALID
    raw = __import__("base64").urlsafe_b64decode(lst + "=" * (-len(lst) % 4))
    assert raw[0] == 0x78 and zlib.decompress(raw) == decoded.data and len(lst) < 1000


def test_an_index_outside_the_list_is_refused() -> None:
    with pytest.raises(ValueError):
        statuslist.encode([16], size=16)


def test_indices_roll_over_to_a_new_list_at_the_list_size() -> None:
    assert statuslist.position(0) == (0, 0)
    assert statuslist.position(2**20 - 1) == (0, 2**20 - 1)
    assert statuslist.position(2**20) == (1, 0)
    assert statuslist.position(5, size=4) == (1, 1)


def test_token_claims_follow_the_draft() -> None:
    # When the claims of list 3 are built
    claims = statuslist.token_claims("https://api.example.com", 3, "eNo", AT)
    # Then sub is the list's own URI, iat is now, exp later, ttl at most 300 s, and the list is 1-bit
    assert claims["sub"] == "https://api.example.com/v1/status-lists/3"
    assert claims["iat"] == int(AT.timestamp()) < claims["exp"]
    assert 0 < claims["ttl"] <= 300
    assert claims["status_list"] == {"bits": 1, "lst": "eNo"}
    assert statuslist.status_claim("https://api.example.com", 3, 7) == {"status_list": {"idx": 7, "uri": claims["sub"]}}


@pytest.mark.parametrize(
    ("token_version", "token_iat", "version", "age_s", "servable"),
    [
        (4, 0, 4, 0, True),
        (4, 0, 4, 59, True),
        (4, 0, 4, 60, False),  # re-signed at least every minute
        (3, 0, 4, 1, False),  # a change since it was signed: re-signed at once
        (None, None, 0, 0, False),  # never signed
        (4, 0, 4, -5, False),  # signed "in the future" by a skewed clock: sign again
    ],
)
def test_a_stored_token_is_served_only_while_current_and_young(
    token_version: int | None, token_iat: int | None, version: int, age_s: int, servable: bool
) -> None:
    iat = None if token_iat is None else int(AT.timestamp())
    at = datetime.fromtimestamp(AT.timestamp() + age_s, UTC)
    assert statuslist.servable(token_version, iat, version, at) is servable


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("0", 0),
        ("7", 7),
        ("123", 123),
        ("01", None),
        ("-1", None),
        ("x", None),
        ("1.0", None),
        ("٣", None),
        ("9999999999", None),
    ],
)
def test_list_numbers_are_canonical_decimals(text: str, n: int | None) -> None:
    assert statuslist.parse_list_number(text) == n


class _Lists:
    """An in-memory list store that records what it was asked (a fake, not a mock)."""

    def __init__(self, *, exists: bool = True) -> None:
        self.version = 0
        self.invalid: set[int] = set()
        self.token: dict[str, Any] | None = None
        self._exists = exists
        self.reads_of_pages = 0

    def meta(self, n: int) -> dict[str, Any] | None:
        if self.token is None and self.version == 0:
            return None
        return {"version": self.version, **(self.token or {})}

    def exists(self, n: int) -> bool:
        return self._exists

    def invalid_indices(self, n: int) -> set[int]:
        self.reads_of_pages += 1
        return set(self.invalid)

    def save_token(self, n: int, token: str, version: int, iat: int) -> None:
        self.token = {"token": token, "token_version": version, "token_iat": iat}


def _sign(digest: bytes) -> bytes:
    # A DER ECDSA-shaped signature of zeros: the structure, not the cryptography, is under test here
    return bytes([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01])


def test_current_token_signs_once_then_serves_until_a_change_or_a_minute() -> None:
    lists = _Lists()
    # When list 0 is asked for twice within a minute
    first = statuslist.current_token(lists, "kid1", _sign, "https://api.example.com", 0, AT)
    again = statuslist.current_token(lists, "kid1", _sign, "https://api.example.com", 0, AT)
    # Then it was built and signed once
    assert first == again and lists.reads_of_pages == 1
    header, claims = jwt_parts(str(first))
    assert header == {"alg": "ES256", "kid": "kid1", "typ": "statuslist+jwt"}
    assert decode_list(claims["status_list"]).invalid() == set()
    # When a bit changes (the DAL bumps the version in the same transaction)
    lists.invalid.add(5)
    lists.version += 1
    changed = statuslist.current_token(lists, "kid1", _sign, "https://api.example.com", 0, AT)
    # Then the next request is signed again and shows the bit
    assert changed != first and decode_list(jwt_parts(str(changed))[1]["status_list"]).status(5) == 1
    # And a minute later it is signed again even without a change
    later = datetime.fromtimestamp(AT.timestamp() + 60, UTC)
    assert statuslist.current_token(lists, "kid1", _sign, "https://api.example.com", 0, later) != changed
    assert lists.reads_of_pages == 3


def test_a_list_that_does_not_exist_has_no_token() -> None:
    assert statuslist.current_token(_Lists(exists=False), "k", _sign, "https://a.b", 9, AT) is None

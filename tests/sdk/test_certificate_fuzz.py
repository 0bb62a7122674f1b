"""Issue 17, section 3: the SDK's offline certificate verifier rejects ANY malformed token with ``VerificationFailed``.

v1 let through ``AttributeError`` (a header that is JSON but not an object), ``TypeError`` (a payload that is a
number, a token that is not a string, a ``kid`` that is a list) and ``RecursionError`` (a deeply nested payload).
Hypothesis throws random strings, random base64url parts, truncations, single-character flips and hand-made
near-misses (wrong algorithm, non-JSON or non-object parts) at ``verify_certificate`` and ``decode_claims``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from imprimatur_client.certificates import decode_claims, verify_certificate
from imprimatur_client.errors import VerificationFailed

_KEY = ec.generate_private_key(ec.SECP256R1())
_NUMS = _KEY.public_key().public_numbers()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64json(value: Any) -> str:
    return _b64(json.dumps(value).encode())


JWKS = {
    "keys": [
        {
            "kty": "EC",
            "crv": "P-256",
            "kid": "k1",
            "x": _b64(_NUMS.x.to_bytes(32, "big")),
            "y": _b64(_NUMS.y.to_bytes(32, "big")),
        }
    ]
}


def sign(header: Any, claims: Any, *, raw_payload: str | None = None) -> str:
    signing_input = f"{_b64json(header)}.{raw_payload if raw_payload is not None else _b64json(claims)}"
    r, s = decode_dss_signature(_KEY.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


VALID = sign({"alg": "ES256", "kid": "k1", "typ": "JWT"}, {"sub": "lic_x", "exp": 4_000_000_000, "nbf": 0})
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def rejected(token: Any, jwks: dict[str, Any] = JWKS) -> VerificationFailed:
    with pytest.raises(VerificationFailed) as info:
        verify_certificate(token, jwks)
    return info.value


def test_the_valid_token_verifies() -> None:
    assert verify_certificate(VALID, JWKS)["sub"] == "lic_x"


@FUZZ
@given(st.text(max_size=400))
def test_random_text(token: str) -> None:
    rejected(token)
    if token.count(".") != 2:
        with pytest.raises(VerificationFailed):
            decode_claims(token)


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_as_text_and_as_bytes(data: bytes) -> None:
    rejected(data.decode("latin-1"))
    rejected(data)


@FUZZ
@given(st.lists(st.binary(max_size=120), min_size=3, max_size=3))
def test_three_random_base64url_parts(parts: list[bytes]) -> None:
    rejected(".".join(_b64(p) for p in parts))


@FUZZ
@given(st.integers(min_value=0, max_value=len(VALID) - 1))
def test_every_truncation(cut: int) -> None:
    rejected(VALID[:cut])


@FUZZ
@given(st.integers(min_value=0, max_value=len(VALID) - 1), st.sampled_from("AQw_-=.+/ é\x00"))
def test_one_character_changed(at: int, char: str) -> None:
    token = VALID[:at] + char + VALID[at + 1 :]
    if token != VALID:
        rejected(token)


@FUZZ
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=10,
    )
)
def test_any_json_as_header_or_payload(value: Any) -> None:
    sig = VALID.split(".")[2]
    rejected(f"{_b64json(value)}.{VALID.split('.')[1]}.{sig}")
    rejected(f"{VALID.split('.')[0]}.{_b64json(value)}.{sig}")


@pytest.mark.parametrize(
    "token",
    [
        None,
        12345,
        b"a.b.c",
        "",
        "..",
        "a.b",
        "a.b.c.d",
        VALID + ".",
        VALID.replace(".", "..", 1),
        sign({"alg": "none", "kid": "k1"}, {"sub": "x"}).rsplit(".", 1)[0] + ".",
        sign({"alg": "HS256", "kid": "k1"}, {"sub": "x"}),
        sign({"alg": "RS256", "kid": "k1"}, {"sub": "x"}),
        sign({"alg": "ES256", "kid": ["k1"]}, {"sub": "x"}),
        sign({"alg": "ES256", "kid": {"k": 1}}, {"sub": "x"}),
        sign({"alg": "ES256"}, {"sub": "x"}),
        sign({"alg": "ES256", "kid": "other"}, {"sub": "x"}),
        sign(["ES256"], {"sub": "x"}),
        sign("ES256", {"sub": "x"}),
        sign({"alg": "ES256", "kid": "k1"}, None, raw_payload=_b64(b"not json")),
        sign({"alg": "ES256", "kid": "k1"}, None, raw_payload=_b64(b"\xff\xfe\xfd")),
        sign({"alg": "ES256", "kid": "k1"}, None, raw_payload="!!!not base64!!!"),
        sign({"alg": "ES256", "kid": "k1"}, None, raw_payload=_b64(b"[" * 100_000 + b"]" * 100_000)),
        sign({"alg": "ES256", "kid": "k1"}, 42),
        sign({"alg": "ES256", "kid": "k1"}, [1, 2]),
        sign({"alg": "ES256", "kid": "k1"}, {"exp": "tomorrow"}),
        sign({"alg": "ES256", "kid": "k1"}, {"exp": True}),
        sign({"alg": "ES256", "kid": "k1"}, {"nbf": [1]}),
        sign({"alg": "ES256", "kid": "k1"}, {"exp": 1}),  # signed, well formed, but expired
        _b64json({"alg": "ES256", "kid": "k1"}) + "." + _b64json({"sub": "x"}) + "." + _b64(b"\x00" * 63),
        _b64json({"alg": "ES256", "kid": "k1"}) + "." + _b64json({"sub": "x"}) + "." + _b64(b"\x00" * 64),
    ],
)
def test_near_misses(token: Any) -> None:
    rejected(token)


@pytest.mark.parametrize(
    "jwks",
    [
        {"keys": [{"kid": "k1"}]},
        {"keys": [{"kid": "k1", "x": 5, "y": None}]},
        {"keys": [{"kid": "k1", "x": "!!", "y": "!!"}]},
        {"keys": [{"kid": "k1", "x": _b64(b"\x01" * 32), "y": _b64(b"\x02" * 32)}]},  # not a point on P-256
        {"keys": ["k1"]},
        {"keys": None},
        {},
    ],
)
def test_a_malformed_jwks_key_is_verification_failed(jwks: dict[str, Any]) -> None:
    rejected(VALID, jwks)


@pytest.mark.parametrize("token", [None, "a", "a.b.c", "a.!!.c", f"a.{_b64json(5)}.c", f"a.{_b64(b'[' * 50_000)}.c"])
def test_decode_claims_rejects_malformed_tokens(token: Any) -> None:
    with pytest.raises(VerificationFailed):
        decode_claims(token)


def test_deep_nesting_is_refused_even_with_a_raised_recursion_limit() -> None:
    # Given a buyer's process whose recursion limit another library raised (py_ecc sets 100,000 at import)
    import sys

    before = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)
    try:
        # When a token's payload nests 200,000 arrays (json.loads would overflow the C stack: a segfault)
        token = sign({"alg": "ES256", "kid": "k1"}, None, raw_payload=_b64(b"[" * 200_000))
        # Then it is VerificationFailed, before any parse
        assert "deeper than 64" in str(rejected(token))
    finally:
        sys.setrecursionlimit(before)

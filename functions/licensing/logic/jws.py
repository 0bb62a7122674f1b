"""Compact JWS (ES256) signed by the stack's KMS key, and the matching JWK, without a crypto dependency in Lambda:
the SHA-256 of the JWS signing input is computed here and KMS signs that digest (``sign_compact_digest``, KMS
``MessageType=DIGEST``: a token of any size can be signed, and a status list can outgrow the 4 KiB KMS accepts as a
RAW message) and returns a DER ECDSA signature, which is re-encoded as the 64-byte ``r || s`` that JOSE requires
(RFC 7518 §3.4); the public key comes from KMS as DER SubjectPublicKeyInfo, whose last 65 bytes are the uncompressed
P-256 point ``04 || x || y``."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping

from functions.shared.jsontypes import JSONObject


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical(data: object) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _der_int(data: bytes, i: int) -> tuple[int, int]:
    if data[i] != 0x02:
        raise ValueError("DER: INTEGER expected")
    length = data[i + 1]
    return int.from_bytes(data[i + 2 : i + 2 + length], "big"), i + 2 + length


def der_to_raw(der: bytes, size: int = 32) -> bytes:
    """DER ``SEQUENCE { INTEGER r, INTEGER s }`` → ``r || s`` (each ``size`` bytes, big-endian)."""
    if der[0] != 0x30:
        raise ValueError("DER: SEQUENCE expected")
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    r, i = _der_int(der, i)
    s, _ = _der_int(der, i)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def jwk_from_spki(spki_der: bytes) -> dict[str, str]:
    point = spki_der[-65:]
    if point[0] != 0x04:
        raise ValueError("expected an uncompressed P-256 point")
    jwk = {"kty": "EC", "crv": "P-256", "x": b64url(point[1:33]), "y": b64url(point[33:65])}
    thumb = hashlib.sha256(canonical({"crv": jwk["crv"], "kty": "EC", "x": jwk["x"], "y": jwk["y"]})).digest()
    return {**jwk, "use": "sig", "alg": "ES256", "kid": b64url(thumb)}


def sign_compact_digest(
    claims: Mapping[str, object], kid: str, sign_digest: Callable[[bytes], bytes], *, typ: str = "JWT"
) -> str:
    """``sign_digest`` signs a SHA-256 digest with ECDSA P-256 and returns the DER signature (KMS ``Sign``, DIGEST)."""
    header = {"alg": "ES256", "typ": typ, "kid": kid}
    signing_input = f"{b64url(canonical(header))}.{b64url(canonical(claims))}".encode()
    der = sign_digest(hashlib.sha256(signing_input).digest())
    return f"{signing_input.decode()}.{b64url(der_to_raw(der))}"


def unverified_parts(token: str) -> tuple[JSONObject, JSONObject]:
    """Header and claims of a compact JWS this service signed itself (read back from storage, not from a caller)."""
    header, payload, _sig = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload))

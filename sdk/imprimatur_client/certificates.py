"""Offline verification of licence certificates (compact JWS, ES256) against the marketplace's JWKS.

Needs the ``verify`` extra (``cryptography``); importing this module does not, calling ``verify_certificate`` does.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from imprimatur_client.errors import MissingExtra, VerificationFailed

_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _b64(text: str) -> bytes:
    """Strict, unpadded base64url (RFC 7515): any other character, or an encoding that is not the canonical one of
    its bytes (unused low bits set in the last character), is a ``ValueError``, so one token has one spelling."""
    if not set(text) <= _B64URL:
        raise ValueError("not base64url")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != text:
        raise ValueError("not the canonical base64url of its bytes")
    return raw


def _malformed(why: str) -> VerificationFailed:
    return VerificationFailed(f"not a compact JWS: {why}", code="malformed_certificate")


MAX_NESTING = 64


def _nesting(text: str) -> int:
    """The deepest array/object nesting of a JSON text, strings skipped (escapes included)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _json_object(part: str, what: str) -> dict[str, Any]:
    """A JWS part as a JSON object; anything else (bad base64, not UTF-8, not JSON, too deep, not an object) is
    ``VerificationFailed``."""
    try:
        text = _b64(part).decode("utf-8")
        if _nesting(text) > MAX_NESTING:  # before parsing: json.loads recurses in C, and a host process may have
            raise ValueError(f"nested deeper than {MAX_NESTING} levels")  # raised the recursion limit (py_ecc does)
        value = json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise _malformed(f"the {what} is not base64url JSON ({str(exc)[:80]})") from None
    if not isinstance(value, dict):
        raise _malformed(f"the {what} is not a JSON object")
    return value


def _parts(token: Any) -> list[str]:
    if not isinstance(token, str):
        raise _malformed(f"a certificate is a string, not {type(token).__name__}")
    parts = token.split(".")
    if len(parts) != 3:
        raise _malformed(f"a compact JWS has 3 parts, this has {len(parts)}")
    return parts


def decode_claims(token: str) -> dict[str, Any]:
    """The claims of a certificate, NOT verified (for display; use ``verify_certificate`` to trust them)."""
    return _json_object(_parts(token)[1], "payload")


def _time_claim(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise _malformed(f"the {name} claim is not a number")
    return float(value)


def verify_certificate(token: str, jwks: dict[str, Any], *, now: float | None = None) -> dict[str, Any]:
    """Return the certificate's claims if its signature verifies with a key of ``jwks`` and it is in term.

    Raises ``VerificationFailed`` (``code``: ``malformed_certificate``, ``unexpected_algorithm``, ``unknown_key``,
    ``bad_signature``, ``expired``, ``not_yet_valid``), or ``MissingExtra`` without the ``verify`` extra.
    """
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
    except ImportError:
        raise MissingExtra("Certificate verification", "verify", "cryptography") from None
    header_b64, payload_b64, sig_b64 = _parts(token)
    header = _json_object(header_b64, "header")
    claims = _json_object(payload_b64, "payload")
    try:
        sig = _b64(sig_b64)
    except ValueError as exc:
        raise _malformed(f"the signature is not base64url ({exc})") from None
    if header.get("alg") != "ES256" or len(sig) != 64:
        raise VerificationFailed("only ES256 certificates are issued", code="unexpected_algorithm")
    kid = header.get("kid")
    keys = [k for k in (jwks.get("keys") or []) if isinstance(k, dict) and isinstance(kid, str) and k.get("kid") == kid]
    if not keys:
        raise VerificationFailed("no key in the JWKS matches the certificate's kid", code="unknown_key")
    k = keys[0]
    try:
        public = ec.EllipticCurvePublicNumbers(
            int.from_bytes(_b64(k["x"]), "big"), int.from_bytes(_b64(k["y"]), "big"), ec.SECP256R1()
        ).public_key()
    except (KeyError, TypeError, ValueError):
        raise VerificationFailed(
            "the JWKS key matching the kid is not a P-256 public key", code="unknown_key"
        ) from None
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        public.verify(der, f"{header_b64}.{payload_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise VerificationFailed(
            "the signature does not verify: the certificate was altered or is not ours", code="bad_signature"
        ) from None
    t = time.time() if now is None else now
    exp, nbf = _time_claim(claims, "exp"), _time_claim(claims, "nbf")
    if exp is not None and t >= exp:
        raise VerificationFailed("the certificate has expired", code="expired")
    if nbf is not None and t + 300 < nbf:
        raise VerificationFailed("the certificate is not valid yet", code="not_yet_valid")
    return dict(claims)

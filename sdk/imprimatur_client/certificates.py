"""Offline verification of licence certificates (compact JWS, ES256) against the marketplace's JWKS.

Needs the ``verify`` extra (``cryptography``); importing this module does not, calling ``verify_certificate`` does.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from imprimatur_client.errors import MissingExtra, VerificationFailed


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def decode_claims(token: str) -> dict[str, Any]:
    """The claims of a certificate, NOT verified (for display; use ``verify_certificate`` to trust them)."""
    try:
        return dict(json.loads(_b64(token.split(".")[1])))
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise VerificationFailed(f"not a compact JWS: {exc}", code="malformed_certificate") from None


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
    try:
        header_b64, payload_b64, sig_b64 = token.split(".")
        header = json.loads(_b64(header_b64))
        claims = json.loads(_b64(payload_b64))
        sig = _b64(sig_b64)
    except (ValueError, UnicodeDecodeError) as exc:
        raise VerificationFailed(f"not a compact JWS: {exc}", code="malformed_certificate") from None
    if header.get("alg") != "ES256" or len(sig) != 64:
        raise VerificationFailed("only ES256 certificates are issued", code="unexpected_algorithm")
    keys = [k for k in jwks.get("keys", []) if k.get("kid") == header.get("kid")]
    if not keys:
        raise VerificationFailed("no key in the JWKS matches the certificate's kid", code="unknown_key")
    k = keys[0]
    public = ec.EllipticCurvePublicNumbers(
        int.from_bytes(_b64(k["x"]), "big"), int.from_bytes(_b64(k["y"]), "big"), ec.SECP256R1()
    ).public_key()
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        public.verify(der, f"{header_b64}.{payload_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise VerificationFailed(
            "the signature does not verify: the certificate was altered or is not ours", code="bad_signature"
        ) from None
    t = time.time() if now is None else now
    if "exp" in claims and t >= claims["exp"]:
        raise VerificationFailed("the certificate has expired", code="expired")
    if "nbf" in claims and t + 300 < claims["nbf"]:
        raise VerificationFailed("the certificate is not valid yet", code="not_yet_valid")
    return dict(claims)

"""The embedded KMS (moto), taught ``Sign`` with ``MessageType=DIGEST``.

Why (docs/decision_log.md, 2026-11-29): the licensing function signs the SHA-256 of a JWS signing input, because a
status list token can outgrow the 4 KiB that KMS accepts as a RAW message. moto 5 ignores ``MessageType`` and would
hash the digest again, so every signature made in the local mode would fail to verify. Here a DIGEST request is
signed as KMS signs it: ECDSA over the given 32-byte digest (``Prehashed(SHA256)``), after the same checks KMS makes
(a signing key, the algorithm the key supports, a digest of the algorithm's length). RAW requests are untouched.

Applied by ``local.embedded_aws.install``; never imported by ``functions/``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from moto.kms.exceptions import ValidationException
from moto.kms.responses import KmsResponse

_ORIGINAL: dict[str, Any] = {"sign": KmsResponse.sign}
_installed = False


def _sign(self: KmsResponse) -> str:
    if self._get_param("MessageType") != "DIGEST":
        return str(_ORIGINAL["sign"](self))
    key_id = self._get_param("KeyId")
    digest = self._get_param("Message")
    algorithm = self._get_param("SigningAlgorithm")
    self._validate_key_id(key_id)
    key = self.kms_backend.describe_key(key_id)
    if key.key_usage != "SIGN_VERIFY" or algorithm not in key.signing_algorithms:
        raise ValidationException(f"The key {key_id} cannot sign with {algorithm}.")
    if algorithm != "ECDSA_SHA_256" or len(digest) != 32:
        raise ValidationException("DIGEST signing here supports ECDSA_SHA_256 over a 32-byte SHA-256 digest.")
    private: ec.EllipticCurvePrivateKey = key.private_key.private_key  # type: ignore[attr-defined]
    signature = private.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    return json.dumps(
        {"KeyId": key.arn, "Signature": base64.b64encode(signature).decode(), "SigningAlgorithm": algorithm}
    )


def install() -> None:
    global _installed
    if not _installed:
        KmsResponse.sign = _sign  # type: ignore[method-assign]
        _installed = True


def uninstall() -> None:
    global _installed
    KmsResponse.sign = _ORIGINAL["sign"]  # type: ignore[method-assign]
    _installed = False

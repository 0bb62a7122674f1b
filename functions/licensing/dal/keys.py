"""The licence-signing KMS key: sign a digest, read the public key (cached for the life of the instance)."""

from __future__ import annotations

import logging
from functools import cache

from functions.licensing.logic.jws import jwk_from_spki
from functions.shared import aws


class Signer:
    def __init__(self, key_id: str) -> None:
        self.key_id = key_id

    def sign_digest(self, digest: bytes) -> bytes:
        """ECDSA P-256 over a SHA-256 digest computed by the caller (KMS ``Sign`` with ``MessageType=DIGEST``)."""
        got = aws.client("kms").sign(
            KeyId=self.key_id, Message=digest, MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_256"
        )
        return bytes(got["Signature"])

    def jwk(self) -> dict[str, str]:
        return _jwk(self.key_id)

    @property
    def kid(self) -> str:
        return self.jwk()["kid"]


def public_jwk_or_none(key_id: str) -> dict[str, str] | None:
    """A retired key's public JWK; None (logged) when KMS cannot give it (deleted, disabled, or not readable by this
    function): the JWKS still serves the other keys."""
    from botocore.exceptions import ClientError

    try:
        return _jwk(key_id)
    except ClientError as exc:
        logging.getLogger("imprimatur.keys").error("retired signing key %s unreadable: %s", key_id, exc)
        return None


@cache
def _jwk(key_id: str) -> dict[str, str]:
    der = aws.client("kms").get_public_key(KeyId=key_id)["PublicKey"]
    return jwk_from_spki(bytes(der))

"""The licence-signing KMS key: sign a digest, read the public key (cached for the life of the instance)."""

from __future__ import annotations

from functools import cache

from functions.licensing.logic.jws import jwk_from_spki
from functions.shared import aws


class Signer:
    def __init__(self, key_id: str) -> None:
        self.key_id = key_id

    def sign_raw(self, message: bytes) -> bytes:
        got = aws.client("kms").sign(
            KeyId=self.key_id, Message=message, MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256"
        )
        return bytes(got["Signature"])

    def jwk(self) -> dict[str, str]:
        return _jwk(self.key_id)


@cache
def _jwk(key_id: str) -> dict[str, str]:
    der = aws.client("kms").get_public_key(KeyId=key_id)["PublicKey"]
    return jwk_from_spki(bytes(der))

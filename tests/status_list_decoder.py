"""An independent reader of IETF Token Status Lists (draft-ietf-oauth-status-list, "Status List" and "Status List
Token in JWT Format"), written from the draft and importing nothing from the product, so the tests check the
product's lists against the standard rather than against themselves.

The draft: the list is a byte array; each index takes ``bits`` bits, "packed into bytes from the least significant bit
('0') to the most significant bit ('7')"; the array is compressed with DEFLATE in the ZLIB format; in JSON the result
is base64url without padding. With ``bits: 1``, index ``i`` is bit ``i % 8`` of byte ``i // 8``.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass
from typing import Any

DRAFT_EXAMPLE_LST = "eNrbuRgAAhcBXQ"
"""The draft's 1-bit example: statuses 1,0,0,1,1,1,0,1 | 1,1,0,0,0,1,0,1 -> bytes 0xB9 0xA3."""
DRAFT_EXAMPLE_STATUSES = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class StatusList:
    bits: int
    data: bytes

    def __len__(self) -> int:
        return len(self.data) * 8 // self.bits

    def status(self, idx: int) -> int:
        if not 0 <= idx < len(self):
            raise IndexError(f"index {idx} is out of bounds of a list of {len(self)}")  # the draft: reject the token
        per_byte = 8 // self.bits
        byte = self.data[idx // per_byte]
        shift = (idx % per_byte) * self.bits
        return (byte >> shift) & ((1 << self.bits) - 1)

    def invalid(self) -> set[int]:
        # every index of a zero byte is VALID (0), so only the nonzero bytes' indices are read (a full list is 2^20)
        per_byte = 8 // self.bits
        return {
            i
            for n, byte in enumerate(self.data)
            if byte
            for i in range(n * per_byte, (n + 1) * per_byte)
            if self.status(i) == 1
        }


def decode_list(status_list: dict[str, Any]) -> StatusList:
    bits = status_list["bits"]
    assert bits in (1, 2, 4, 8)
    return StatusList(bits, zlib.decompress(_b64url(status_list["lst"])))


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a compact JWT, unverified (verify the signature apart, e.g. with joserfc)."""
    header, payload, _ = token.split(".")
    return json.loads(_b64url(header)), json.loads(_b64url(payload))

"""Prefixed, time-ordered, opaque identifiers (``acct_01j...``).

The body is a ULID in lower-case Crockford base32: 48 bits of milliseconds then 80 random bits, so IDs
created later sort later (useful as sort keys) and cannot be guessed.
"""

from __future__ import annotations

import os
import re
import time

PREFIXES = ("acct", "key", "ast", "col", "off", "lic", "pool", "stm", "txn", "evt", "dist", "lse")
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_ID_RE = re.compile(r"^([a-z]+)_([0-9a-hjkmnp-tv-z]{26})$")


def _encode(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        out.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))


def new_id(prefix: str, *, now_ms: int | None = None) -> str:
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    rand = int.from_bytes(os.urandom(10), "big")
    return f"{prefix}_{_encode(ms, 10)}{_encode(rand, 16)}"


def is_id(value: str, prefix: str) -> bool:
    m = _ID_RE.match(value)
    return bool(m and m.group(1) == prefix)

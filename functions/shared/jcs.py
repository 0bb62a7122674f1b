"""RFC 8785 JSON Canonicalization Scheme (JCS) for the values a statement holds: objects, arrays, strings, integers,
booleans and null (no floats: money is integer micros). Members sorted by their UTF-16 code units, no whitespace,
strings escaped as ECMAScript ``JSON.stringify`` does. Checked against the ``rfc8785`` package in the tests."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _string(s: str) -> str:
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _utf16(key: str) -> bytes:
    return key.encode("utf-16-be")


def canonical(value: object) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        if abs(value) > 2**53 - 1:
            raise ValueError("integer outside the IEEE 754 exact range (JCS)")
        return str(value)
    if isinstance(value, float):
        raise TypeError("floats are not canonicalised here: money is integer micros")
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Mapping):
        keys = sorted(value, key=_utf16)
        return "{" + ",".join(f"{_string(k)}:{canonical(value[k])}" for k in keys) + "}"
    if isinstance(value, Sequence):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    raise TypeError(f"cannot canonicalise {type(value).__name__}")


def sha256_hex(value: object) -> str:
    return hashlib.sha256(canonical(value).encode("utf-8")).hexdigest()

"""Money: integer micros only (1 unit of currency = 1,000,000 micros). This module owns all arithmetic
and rounding on money; nothing else multiplies or divides an amount.

Rounding rules (deterministic, documented in docs/decision_log.md):
- ``fee_split(gross, fee_bps)``: the platform fee is ``floor(gross * fee_bps / 10_000)``; the publisher's
  net is ``gross - fee``. The fee never exceeds the published rate, and fee + net == gross exactly.
- ``times(unit_price, units)``: exact integer product (units are integers).
- ``pro_rata(total, weights)``: largest-remainder method; remainders broken by key order; the shares sum
  exactly to ``total`` and a zero weight gets zero.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

MICROS = 1_000_000
CURRENCIES = frozenset({"USD", "EUR", "GBP", "CHF", "JPY", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN", "CZK"})
_PRICE_RE = re.compile(r"^\s*([A-Z]{3})\s+(\d{1,12})(?:\.(\d{1,6}))?\s*$")


def fee_split(gross_micros: int, fee_bps: int) -> tuple[int, int]:
    """Return ``(fee, net)`` for a gross amount."""
    if gross_micros < 0:
        raise ValueError("gross must be >= 0")
    fee = gross_micros * fee_bps // 10_000
    return fee, gross_micros - fee


def times(unit_price_micros: int, units: int) -> int:
    return unit_price_micros * units


def pro_rata(total_micros: int, weights: Mapping[str, int]) -> dict[str, int]:
    """Split ``total`` between keys in proportion to integer weights, exactly (largest remainder)."""
    positive = {k: w for k, w in weights.items() if w > 0}
    shares = dict.fromkeys(weights, 0)
    wsum = sum(positive.values())
    if wsum == 0 or total_micros == 0:
        return shares
    remainders = []
    allocated = 0
    for key in sorted(positive):
        quotient, remainder = divmod(total_micros * positive[key], wsum)
        shares[key] = quotient
        allocated += quotient
        remainders.append((-remainder, key))
    for _, key in sorted(remainders)[: total_micros - allocated]:
        shares[key] += 1
    return shares


def parse_price_header(value: str) -> tuple[str, int]:
    """Parse ``"USD 0.010000"`` (the ``crawler-*-price`` header form) into ``(currency, micros)``."""
    m = _PRICE_RE.match(value or "")
    if not m:
        raise ValueError("price must look like 'USD 0.010000'")
    currency, whole, frac = m.group(1), m.group(2), m.group(3) or ""
    return currency, int(whole) * MICROS + int(frac.ljust(6, "0"))


def format_price_header(currency: str, micros: int) -> str:
    whole, frac = divmod(micros, MICROS)
    return f"{currency} {whole}.{frac:06d}"

"""One price syntax for the SDK and the CLI: ``0.05`` or ``USD 0.05`` (an ISO 4217 code, then an amount with at most
six decimals). Amounts are integer micros (1 unit = 1,000,000 micros); nothing here uses floats."""

from __future__ import annotations

import re

_PRICE = re.compile(r"^\s*(?:([A-Za-z]{3})\s+)?(\d{1,12})(?:\.(\d{1,6}))?\s*$")


class PriceError(ValueError):
    """A price that is not ``0.05`` or ``USD 0.05``; the message names the option or argument it came from."""


def parse(text: str, name: str = "price", default_currency: str = "USD") -> tuple[str, int]:
    """``"USD 0.05"`` → ``("USD", 50000)``; ``"0.05"`` → ``(default_currency, 50000)``."""
    m = _PRICE.match(text or "")
    if not m:
        raise PriceError(f"{name}: {text!r} is not a price like 0.05 or USD 0.05 (at most 6 decimals)")
    currency = (m.group(1) or default_currency).upper()
    return currency, int(m.group(2)) * 1_000_000 + int((m.group(3) or "").ljust(6, "0"))


def micros(text: str, name: str = "price", currency: str | None = None) -> int:
    """The micros of a price; when ``currency`` is given, a price naming another currency is an error."""
    cur, amount = parse(text, name, currency or "USD")
    if currency and cur != currency.upper():
        raise PriceError(f"{name}: {text!r} is in {cur}, expected {currency.upper()}")
    return amount


def header(text: str, name: str = "price") -> str:
    """The ``crawler-max-price`` / ``crawler-exact-price`` header value: ``USD 0.050000``."""
    cur, amount = parse(text, name)
    return f"{cur} {amount // 1_000_000}.{amount % 1_000_000:06d}"


def show(amount_micros: int, currency: str) -> str:
    """``USD 25.00``, ``USD 0.01``, ``USD 0.002``, ``EUR -1.50``: at least two decimals, exact, never rounded
    (``currency=""`` gives the number alone, for a column that names the currency)."""
    sign = "-" if amount_micros < 0 else ""
    whole, frac = divmod(abs(amount_micros), 1_000_000)
    digits = f"{frac:06d}".rstrip("0").ljust(2, "0")
    return f"{currency} {sign}{whole:,}.{digits}".lstrip()

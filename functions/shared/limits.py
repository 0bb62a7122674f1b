"""Input limits every service shares (docs/api.md, "Input limits"; issue 17).

- ``json_limit_violation(text)``: a JSON text nested deeper than ``MAX_JSON_DEPTH`` or with a number of more than
  ``MAX_NUMBER_DIGITS`` digits in a row is refused before it is parsed (Python's parser recurses per level and
  converts every digit of an integer: a deep body was a ``RecursionError``, a 5,000-digit one a ``ValueError``,
  both 500s). Checked at the edge of every HTTP function (``functions.shared.entry``) and by the upload verifier.
- ``timestamp(value, ...)``: an RFC 3339 timestamp that is a real calendar date, within a window around the
  marketplace's clock (``functions.shared.clock``).
- ``Currency``: an ISO 4217 code from ``functions.shared.money.CURRENCIES`` only.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from functions.shared import clock
from functions.shared.money import CURRENCIES

MAX_JSON_DEPTH = 64
MAX_NUMBER_DIGITS = 20

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")
_LONG_NUMBER = re.compile(rf"\d{{{MAX_NUMBER_DIGITS + 1},}}")


def json_limit_violation(text: str, *, max_depth: int = MAX_JSON_DEPTH, long_numbers: bool = False) -> str | None:
    """Why ``text`` is refused (nested more than ``max_depth`` levels, or, unless ``long_numbers``, a number of more
    than ``MAX_NUMBER_DIGITS`` digits), or None. Linear time, no recursion, and does not parse: strings are blanked
    first, so brackets and digits inside strings do not count."""
    long_number = None if long_numbers else _LONG_NUMBER
    if text.count("{") + text.count("[") <= max_depth and not (long_number and long_number.search(text)):
        return None  # fast path: the common small body cannot break either rule
    bare = _STRING.sub('""', text)
    if long_number and long_number.search(bare):
        return f"A number has more than {MAX_NUMBER_DIGITS} digits."
    depth = 0
    for m in _BRACKET.finditer(bare):
        if m.group() in "[{":
            depth += 1
            if depth > max_depth:
                return f"The JSON is nested more than {max_depth} levels deep."
        else:
            depth -= 1
    return None


_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$")
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


def timestamp(value: str, field: str, *, earliest: datetime | None = None, max_ahead: timedelta | None = None) -> str:
    """``value`` if it is an RFC 3339 timestamp of a real instant (no 30 February, no hour 25) not before
    ``earliest`` and not more than ``max_ahead`` after the marketplace's clock; ValueError (a 422) otherwise."""
    m = _RFC3339.match(value)
    if not m:
        raise ValueError(f"{field} must be an RFC 3339 timestamp (e.g. 2026-11-29T12:00:00Z)")
    base, frac, zone = m.groups()
    try:
        at = datetime.fromisoformat(f"{base}.{(frac or '0')[:6]}{'+00:00' if zone == 'Z' else zone}").astimezone(UTC)
    except ValueError:
        raise ValueError(f"{field} is not a real date and time") from None
    if earliest is not None and at < earliest:
        raise ValueError(f"{field} must not be before {clock.iso(earliest)}")
    if max_ahead is not None and at > clock.now() + max_ahead:
        raise ValueError(f"{field} must not be more than {_human(max_ahead)} in the future")
    return value


def _human(delta: timedelta) -> str:
    s = int(delta.total_seconds())
    return f"{s // 86400} day(s)" if s % 86400 == 0 else f"{s // 60} minutes"


def _known_currency(value: str) -> str:
    if value not in CURRENCIES:
        raise ValueError(f"currency must be one of: {', '.join(sorted(CURRENCIES))}")
    return value


Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$"), AfterValidator(_known_currency)]

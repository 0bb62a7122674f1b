"""Time in one place: RFC 3339 UTC strings with a ``Z`` and epoch seconds.

``set_offset`` moves the marketplace's clock (local mode and tests only: ``POST /local/clock`` in ``make run``, so a
month can pass and be closed); in the cloud nothing sets it and ``now()`` is the system clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def set_offset(seconds: float) -> None:
    """Local mode and tests: run the clock ``seconds`` ahead of (or behind) the system clock."""
    global _offset
    _offset = timedelta(seconds=seconds)


def offset_seconds() -> float:
    return _offset.total_seconds()


def now() -> datetime:
    return datetime.now(UTC) + _offset if _offset else datetime.now(UTC)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def now_iso() -> str:
    return iso(now())


def parse_iso(value: str) -> datetime:
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)

"""When a metering transaction may skip the period check, and when a period may be closed (dal.store): the two
windows never meet, so a transaction without the check can never land in a closed period."""

from __future__ import annotations

from datetime import UTC, datetime

from functions.metering.dal.store import CLOSE_MARGIN_S, closable, period_bounds, unguarded_period


def ts(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def test_period_bounds_cross_the_year() -> None:
    assert period_bounds("2026-12") == (ts(2026, 12, 1), ts(2027, 1, 1))


def test_the_running_period_is_unguarded_until_its_last_minutes() -> None:
    assert unguarded_period(ts(2026, 11, 5, 12)) == "2026-11"
    assert unguarded_period(ts(2026, 11, 30, 23, 44)) == "2026-11"
    assert unguarded_period(ts(2026, 11, 30, 23, 45)) is None  # 15 minutes before its end: every booking is checked
    assert unguarded_period(ts(2026, 12, 1, 0, 0)) == "2026-12"


def test_a_period_closes_only_once_its_end_is_fifteen_minutes_past() -> None:
    assert not closable("2026-11", ts(2026, 11, 30, 12))
    assert not closable("2026-11", ts(2026, 12, 1, 0, 14))
    assert closable("2026-11", ts(2026, 12, 1, 0, 15))
    assert not closable("2026-12", ts(2026, 12, 1, 0, 15))


def test_the_windows_never_meet() -> None:
    """The last instant a transaction books in P unchecked is 2 x CLOSE_MARGIN_S before the first instant P can
    close: more than any transaction is in flight (the consumer's timeout is 60 s)."""
    _, end = period_bounds("2027-02")
    last_unchecked = max(t for t in range(int(end) - 3 * CLOSE_MARGIN_S, int(end)) if unguarded_period(t) == "2027-02")
    first_close = min(t for t in range(int(end), int(end) + 2 * CLOSE_MARGIN_S) if closable("2027-02", t))
    assert first_close - last_unchecked > 2 * CLOSE_MARGIN_S - 2 > 60

"""Licensing's own domain faults: facts other layers branch on by type, never by ``code``."""

from __future__ import annotations

from functions.shared.faults import StateConflict


class PayPerCrawlRace(StateConflict):
    """Another request created this buyer's pay-per-crawl licence for the offer between our read and our write;
    the caller reads again and uses it."""

    code = "ppc_race"

"""The metering table's journal keys (the rest of the layout is in ``functions.metering.dal.store``): one place builds
them, so neither the pricing logic nor the jobs spell a key."""

from __future__ import annotations


def event_key(buyer_id: str, event_id: str) -> str:
    """The journal (de-duplication) key of a usage event: one per buyer and event id."""
    return f"EVT#{buyer_id}#{event_id}"


def charge_key(charge_id: str) -> str:
    """The journal key of a charge (``sub:<licence>:<n>``, a grant's charge...)."""
    return f"CHG#{charge_id}"

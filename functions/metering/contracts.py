"""The usage queue's messages (SQS ``usage``, consumer ``metering_consumer``): one definition each, for every producer
(delivery and licence grants in licensing; reported usage and renewals in metering) and the consumer
(``functions.metering.logic.pricing``). TypedDicts only: the delivery hot path imports this module.

Required keys are those the consumer cannot do without: a message lacking one (absent, null or empty) is poison and
goes to the DLQ. The others it reads when present; every producer sends them (tests/unit/test_contracts.py).
docs/data-contracts.md describes the fields.
"""

from typing import Literal, NotRequired

from functions.shared.typeddict import TypedDict


class UsageMessage(TypedDict):
    """One metered use: a delivery (``source: delivery``, a fresh ``evt_`` id) or a reported usage event
    (``source: report``, the buyer's id). De-duplicated on ``(buyer_id, event_id)``."""

    kind: Literal["usage"]
    event_id: str
    source: NotRequired[Literal["delivery", "report"]]  # absent: report
    buyer_id: str
    license_id: str
    asset_id: str
    publisher_id: NotRequired[str | None]  # whose asset was used (null: unknown)
    pool_id: NotRequired[str | None]  # the pool of a pool licence (the consumer reads it from the licence)
    use: str
    units: int
    occurred_at: str  # RFC 3339
    lease_id: NotRequired[str]  # the budget lease a capped delivery was reserved in (functions.licensing.logic.budget)


class ChargeMessage(TypedDict):
    """A charge booked on a licence: a flat licence's grant (``grant:<lic>``) or a subscription period
    (``sub:<lic>:<n>``). De-duplicated on ``charge_id``; the amount is charged in the licence's currency."""

    kind: Literal["charge"]
    charge_id: str
    buyer_id: str
    publisher_id: NotRequired[str]
    license_id: str
    asset_id: NotRequired[str | None]  # the licensed asset of an asset-scoped licence
    pool_id: NotRequired[str | None]
    amount_micros: int
    currency: NotRequired[str]
    reason: NotRequired[str]  # flat | subscription
    occurred_at: str  # RFC 3339


UsageQueueMessage = UsageMessage | ChargeMessage

"""The licensing queue's messages (SQS ``licensing``, consumer ``functions.licensing.handlers.consumer``): effects on
licences decided by other services. One definition each, for the producers (metering's renewal job) and the consumer.
TypedDicts only. Required keys are those the consumer cannot do without (docs/data-contracts.md)."""

from typing import Literal, NotRequired

from functions.shared.typeddict import TypedDict


class LapseMessage(TypedDict):
    """A subscription renewal its budget cap cannot cover: the licence lapses (idempotent)."""

    kind: Literal["lapse"]
    license_id: str
    charge_id: NotRequired[str]  # the renewal's charge id (``sub:<lic>:<n>``), for the log

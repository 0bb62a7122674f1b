from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, field_validator

from functions.shared.limits import EARLIEST, timestamp
from functions.shared.model import DeferredModel

Use = Literal["all", "ai-all", "ai-train", "ai-input", "ai-index", "search"]
PERIOD = r"^\d{4}-(0[1-9]|1[0-2])$"


class UsageEvent(DeferredModel):
    model_config = ConfigDict(extra="forbid")

    event_id: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]
    license_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    asset_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    use: Use
    units: int = Field(ge=1, le=10**9, strict=True)
    occurred_at: str = Field(
        description="RFC 3339, a real instant from 2000-01-01 (else 422); more than 5 minutes after the marketplace's "
        "clock, the event is rejected on its own (in_future)"
    )

    @field_validator("occurred_at")
    @classmethod
    def _ts(cls, v: str) -> str:
        # the upper bound is per event (reporting.triage: in_future, 5 minutes of skew), not the whole request's
        return timestamp(v, "occurred_at", earliest=EARLIEST)


class ReportUsageRequest(DeferredModel):
    model_config = ConfigDict(extra="forbid")

    events: list[UsageEvent] = Field(min_length=1, max_length=500)


class DistributionRequest(DeferredModel):
    model_config = ConfigDict(extra="forbid")

    period: Annotated[str, StringConstraints(pattern=PERIOD)]

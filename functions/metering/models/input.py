from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

Use = Literal["all", "ai-all", "ai-train", "ai-input", "ai-index", "search"]
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
PERIOD = r"^\d{4}-(0[1-9]|1[0-2])$"


class UsageEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]
    license_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    asset_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    use: Use
    units: int = Field(ge=1, le=10**9)
    occurred_at: str

    @field_validator("occurred_at")
    @classmethod
    def _ts(cls, v: str) -> str:
        if not _RFC3339.match(v):
            raise ValueError("occurred_at must be an RFC 3339 timestamp")
        return v


class ReportUsageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[UsageEvent] = Field(min_length=1, max_length=500)


class DistributionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: Annotated[str, StringConstraints(pattern=PERIOD)]

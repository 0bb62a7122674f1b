from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from functions.shared.model import DeferredModel

Use = Literal["all", "ai-all", "ai-train", "ai-input", "ai-index", "search"]


class CreateLicenseRequest(DeferredModel):
    model_config = ConfigDict(extra="forbid")

    offer_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    use: Use
    budget_cap_micros: int | None = Field(default=None, ge=1, le=10**15, strict=True)


class RevokeRequest(DeferredModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class UpdateLicenseRequest(DeferredModel):
    model_config = ConfigDict(extra="forbid")

    budget_cap_micros: int = Field(ge=1, le=10**15, strict=True)

"""Signing keys as configuration describes them (the licensing environment, and the stack that writes it)."""

from __future__ import annotations

from pydantic import AwareDatetime, ConfigDict, Field

from functions.shared.model import DeferredModel


class RetiredKey(DeferredModel):
    """A signing key that no longer signs but whose certificates may still be in term: one entry of
    ``RETIRED_SIGNING_KEYS`` (JSON list), set by the stack from the ``retired_signing_keys`` context."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key_id: str = Field(min_length=1)  # KMS key id or ARN
    retired_at: AwareDatetime  # when the stack stopped signing with it (the deploy that replaced it)

"""Self sign-up (issue 19): the public request, its answer, the activation, and the stored verification."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, field_validator

from functions.accounts.models.input import _EMAIL
from functions.shared.model import DeferredModel

SignupRole = Literal["publisher", "buyer"]
Locale = Literal["en", "fr"]
_URL = r"^https://[^\s/?#]+\.[^\s/?#]+(/[^\s]*)?$"


class SignupRequest(DeferredModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=320, pattern=_EMAIL)]
    roles: list[SignupRole] = Field(min_length=1, max_length=2)
    organisation: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    website: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500, pattern=_URL)] | None = None
    locale: Locale | None = Field(default=None, description="Language of the mails (else from Accept-Language)")

    @field_validator("roles")
    @classmethod
    def _unique(cls, roles: list[SignupRole]) -> list[SignupRole]:
        if len(set(roles)) != len(roles):
            raise ValueError("roles must not repeat")
        return roles


class SignupAccepted(DeferredModel):
    """The same answer for every accepted sign-up, whether or not the address already has an account."""

    status: Literal["accepted"] = "accepted"
    detail: str = (
        "If this address can receive mail, a message is on its way to it: open its link to confirm the address "
        "and get your first API key."
    )


class ActivateRequest(DeferredModel):
    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Verification(DeferredModel):
    """A pending sign-up, stored under the SHA-256 of its link's token (never the token itself)."""

    token_hash: str
    name: str
    email: str
    roles: list[str]
    organisation: str | None = None
    website: str | None = None
    locale: Locale = "en"
    created_at: str
    expires_at: str

"""Request and response models of admin account management and the publisher profile (issue 19)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, field_validator

from functions.accounts.models.input import _EMAIL, Role
from functions.shared.model import DeferredModel

AccountStatusFilter = Literal["active", "pending", "suspended"]


def _https(url: str | None) -> str | None:
    if url is None:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or "." not in parts.hostname or parts.username:
        raise ValueError("must be an https:// URL with a host name")
    return url


HttpsUrl = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), AfterValidator(_https)]


class ProfileUpdate(DeferredModel):
    """A publisher's public profile; a field sent as ``null`` is cleared, a field left out is kept."""

    model_config = ConfigDict(extra="forbid")

    display_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)] | None = None
    website: HttpsUrl | None = None
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
    logo_url: HttpsUrl | None = None


class UpdateMeRequest(DeferredModel):
    """``PATCH /v1/me``: what an account may change about itself (a publisher's public profile)."""

    model_config = ConfigDict(extra="forbid")

    profile: ProfileUpdate


class UpdateAccountRequest(DeferredModel):
    """``PATCH /v1/accounts/{id}`` (admin): at least one field."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=320, pattern=_EMAIL)] | None = None
    roles: list[Role] | None = Field(default=None, min_length=1, max_length=3)
    profile: ProfileUpdate | None = None

    @field_validator("roles")
    @classmethod
    def _unique(cls, roles: list[Role] | None) -> list[Role] | None:
        if roles is not None and len(set(roles)) != len(roles):
            raise ValueError("roles must not repeat")
        return roles


class ProfileOut(DeferredModel):
    display_name: str | None = None
    website: str | None = None
    description: str | None = None
    logo_url: str | None = None


class AdminAccountOut(DeferredModel):
    """An account as an operator sees it, with who changed it last."""

    id: str
    name: str
    email: str
    roles: list[str]
    status: str
    created_at: str
    updated_at: str | None = None
    updated_by: str | None = None
    profile: ProfileOut | None = None


class AccountList(DeferredModel):
    items: list[AdminAccountOut]
    next_cursor: str | None = None


class IssuedKeyResponse(DeferredModel):
    key_id: str
    api_key: str
    created_at: str

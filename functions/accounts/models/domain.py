from __future__ import annotations

from typing import Literal

from pydantic import computed_field

from functions.shared.model import DeferredModel

AccountStatus = Literal["active", "pending", "suspended"]
"""``pending``: signed up and verified, awaiting an operator's approval (issue 19); its key reads ``GET /v1/me`` only."""
KeyStatus = Literal["active", "revoked"]


class PublisherProfile(DeferredModel):
    """A publisher's public profile (issue 19): shown in the catalogue, RSL ``<copyright>`` and statements."""

    display_name: str | None = None
    website: str | None = None
    description: str | None = None
    logo_url: str | None = None


class Account(DeferredModel):
    id: str
    name: str
    email: str
    roles: list[str]
    status: AccountStatus
    created_at: str
    # audit (issue 19): the last change by an operator or the account itself, and an optimistic-lock version
    updated_at: str | None = None
    updated_by: str | None = None
    version: int = 0
    profile: PublisherProfile | None = None

    # The admin list indexes' keys (functions/accounts/dal/index.py) are part of the account's dump, so every writer
    # that puts an account item (create, sign-up activation, edit) indexes it without knowing the index design.
    @computed_field  # type: ignore[prop-decorator]
    @property
    def gsi2pk(self) -> str:
        return "ACCTS"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def gsi2sk(self) -> str:
        return f"{self.created_at}#{self.id}"


class ApiKey(DeferredModel):
    key_id: str
    account_id: str
    key_hash: str
    prefix: str  # first characters of the secret, to recognise a key without revealing it
    status: KeyStatus
    created_at: str
    revoked_at: str | None = None
    created_by: str | None = None  # the admin who issued it for the account (POST /v1/accounts/{id}/keys)

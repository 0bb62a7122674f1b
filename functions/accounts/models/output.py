from __future__ import annotations

from functions.accounts.models.admin import ProfileOut
from functions.shared.model import DeferredModel


class AccountOut(DeferredModel):
    id: str
    name: str
    email: str
    roles: list[str]
    status: str
    created_at: str
    profile: ProfileOut | None = None  # a publisher's public profile (issue 19)


class CreateAccountResponse(DeferredModel):
    account: AccountOut
    api_key: str


class NewKeyResponse(DeferredModel):
    key_id: str
    api_key: str
    created_at: str


class KeyOut(DeferredModel):
    key_id: str
    prefix: str
    status: str
    created_at: str
    revoked_at: str | None = None


class KeyList(DeferredModel):
    items: list[KeyOut]
    next_cursor: str | None = None


class Health(DeferredModel):
    status: str
    version: str

from __future__ import annotations

from pydantic import BaseModel

from functions.accounts.models.admin import ProfileOut


class AccountOut(BaseModel):
    id: str
    name: str
    email: str
    roles: list[str]
    status: str
    created_at: str
    profile: ProfileOut | None = None  # a publisher's public profile (issue 19)


class CreateAccountResponse(BaseModel):
    account: AccountOut
    api_key: str


class NewKeyResponse(BaseModel):
    key_id: str
    api_key: str
    created_at: str


class KeyOut(BaseModel):
    key_id: str
    prefix: str
    status: str
    created_at: str
    revoked_at: str | None = None


class KeyList(BaseModel):
    items: list[KeyOut]
    next_cursor: str | None = None


class Health(BaseModel):
    status: str
    version: str

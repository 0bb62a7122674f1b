from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

AccountStatus = Literal["active", "suspended"]
KeyStatus = Literal["active", "revoked"]


class Account(BaseModel):
    id: str
    name: str
    email: str
    roles: list[str]
    status: AccountStatus
    created_at: str


class ApiKey(BaseModel):
    key_id: str
    account_id: str
    key_hash: str
    prefix: str  # first characters of the secret, to recognise a key without revealing it
    status: KeyStatus
    created_at: str
    revoked_at: str | None = None

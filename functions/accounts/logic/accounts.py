"""Account and key rules."""

from __future__ import annotations

import secrets

from functions.accounts.dal.store import AccountStore
from functions.accounts.models.domain import Account, ApiKey
from functions.accounts.models.input import CreateAccountRequest
from functions.shared.auth import KEY_PREFIX, hash_key
from functions.shared.clock import now_iso
from functions.shared.faults import Missing, StateConflict
from functions.shared.ids import new_id

MAX_ACTIVE_KEYS = 10


def _new_key(account_id: str) -> tuple[ApiKey, str]:
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        key_id=new_id("key"),
        account_id=account_id,
        key_hash=hash_key(secret),
        prefix=secret[:8],
        status="active",
        created_at=now_iso(),
    )
    return key, secret


def create_account(store: AccountStore, req: CreateAccountRequest) -> tuple[Account, str]:
    account = Account(
        id=new_id("acct"),
        name=req.name,
        email=req.email,
        roles=sorted(set(req.roles)),
        status="active",
        created_at=now_iso(),
    )
    key, secret = _new_key(account.id)
    if not store.create_account(account, key):
        raise StateConflict("An account with this email already exists.", code="email_taken")
    return account, secret


def get_account(store: AccountStore, account_id: str) -> Account:
    account = store.get_account(account_id, consistent=True)
    if account is None:
        raise Missing("No such account.")
    return account


def create_key(store: AccountStore, account_id: str) -> tuple[ApiKey, str]:
    active, _ = store.list_keys(account_id, 100, None)
    if sum(1 for k in active if k.status == "active") >= MAX_ACTIVE_KEYS:
        raise StateConflict(
            f"An account may hold at most {MAX_ACTIVE_KEYS} active keys; revoke one first.", code="too_many_keys"
        )
    key, secret = _new_key(account_id)
    store.add_key(key)
    return key, secret


def revoke_key(store: AccountStore, account_id: str, key_id: str) -> None:
    if not store.revoke_key(account_id, key_id, now_iso()):
        raise Missing(f"No key {key_id!r} on this account.")


def suspend(store: AccountStore, account_id: str) -> Account:
    account = store.set_status(account_id, "suspended")
    if account is None:
        raise Missing("No such account.")
    return account

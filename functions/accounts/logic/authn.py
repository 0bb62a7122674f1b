"""Authentication: an API key to a caller. Used by the gateway authoriser and by ``optional`` routes."""

from __future__ import annotations

from functions.accounts.dal.store import AccountStore
from functions.shared.auth import KEY_PREFIX, Principal, hash_key


def authenticate(token: str, store: AccountStore | None = None) -> Principal | None:
    """The caller for a valid, active key of an active account; None otherwise (never says why)."""
    if not token.startswith(KEY_PREFIX) or not 20 <= len(token) <= 200:
        return None
    if store is None:
        from functions.accounts.env import env

        store = AccountStore(env().ACCOUNTS_TABLE)
    key = store.key_by_hash(hash_key(token))
    if key is None or key.status != "active":
        return None
    account = store.get_account(key.account_id)
    if account is None or account.status not in ("active", "pending"):
        return None
    return Principal(
        account_id=account.id,
        roles=frozenset(account.roles),
        key_id=key.key_id,
        pending=account.status == "pending",
    )

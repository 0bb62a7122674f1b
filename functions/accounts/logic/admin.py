"""Admin account management and the publisher profile (issue 19, API v1.1): rules on top of
``functions.accounts.dal.admin``. Every change records who made it and when (``updated_by``, ``updated_at``)."""

from __future__ import annotations

from functions.accounts.dal.admin import AccountAdminStore
from functions.accounts.dal.index import normalise
from functions.accounts.dal.store import AccountStore
from functions.accounts.logic.accounts import MAX_ACTIVE_KEYS, _new_key
from functions.accounts.models.admin import ProfileUpdate, UpdateAccountRequest
from functions.accounts.models.domain import Account, ApiKey, PublisherProfile
from functions.shared.auth import Principal
from functions.shared.clock import now_iso
from functions.shared.faults import Missing, RuleViolated, StateConflict

MAX_Q = 100


def list_accounts(
    store: AccountAdminStore, q: str | None, status: str | None, role: str | None, limit: int, cursor: str | None
) -> tuple[list[Account], str | None]:
    if q is not None:
        needle = normalise(q)
        if not needle:
            raise RuleViolated("q must contain at least one character.", code="invalid_query")
        return store.search(needle[:MAX_Q], status=status, role=role, limit=limit, cursor_token=cursor)
    return store.list_accounts(status=status, role=role, limit=limit, cursor_token=cursor)


def get(store: AccountStore, account_id: str) -> Account:
    account = store.get_account(account_id, consistent=True)
    if account is None:
        raise Missing("No such account.")
    return account


def _with_profile(profile: PublisherProfile | None, update: ProfileUpdate) -> PublisherProfile | None:
    data = (profile or PublisherProfile()).model_dump()
    data |= {k: getattr(update, k) for k in update.model_fields_set}
    merged = PublisherProfile.model_validate(data)
    return merged if any(v is not None for v in merged.model_dump().values()) else None


def update(
    store: AccountStore, admin: AccountAdminStore, caller: Principal, account_id: str, req: UpdateAccountRequest
) -> Account:
    """An operator's edit of name, e-mail, roles and profile (fields left out are kept)."""
    changes = req.model_fields_set
    if not changes:
        raise RuleViolated("Send at least one of name, email, roles, profile.", code="nothing_to_change")
    for field in ("name", "email", "roles"):
        if field in changes and getattr(req, field) is None:
            raise RuleViolated(f"{field} cannot be null.", code="validation_failed")
    before = get(store, account_id)
    if account_id == caller.account_id and req.roles is not None and "admin" not in req.roles:
        raise StateConflict("An operator cannot remove their own admin role.", code="cannot_demote_self")
    data = before.model_dump()
    if req.name is not None:
        data["name"] = req.name
    if req.email is not None:
        data["email"] = req.email
    if req.roles is not None:
        data["roles"] = sorted(set(req.roles))
    after = Account.model_validate(data)
    if req.profile is not None:
        after.profile = _with_profile(before.profile, req.profile)
    return _save(admin, caller, before, after)


def update_profile(store: AccountStore, admin: AccountAdminStore, caller: Principal, update: ProfileUpdate) -> Account:
    """A publisher edits its own public profile (``PATCH /v1/me``)."""
    before = get(store, caller.account_id)
    after = before.model_copy(update={"profile": _with_profile(before.profile, update)})
    return _save(admin, caller, before, after)


def _save(admin: AccountAdminStore, caller: Principal, before: Account, after: Account) -> Account:
    after = after.model_copy(
        update={"updated_at": now_iso(), "updated_by": caller.account_id, "version": before.version + 1}
    )
    admin.update_account(before, after)
    return after


def _transition(store: AccountStore, caller: Principal, account_id: str, to: str, only_from: str) -> Account:
    account = store.set_status(account_id, to, by=caller.account_id, at=now_iso(), only_from=only_from)
    if account is None:
        current = get(store, account_id)  # 404 for an unknown account
        raise StateConflict(
            f"The account is {current.status}, not {only_from}.",
            code=f"not_{only_from}",
            extra={"status": current.status},
        )
    return account


def suspend(store: AccountStore, caller: Principal, account_id: str) -> Account:
    if account_id == caller.account_id:
        raise StateConflict("An operator cannot suspend their own account.", code="cannot_suspend_self")
    account = store.set_status(account_id, "suspended", by=caller.account_id, at=now_iso())
    if account is None:
        raise Missing("No such account.")
    return account


def reinstate(store: AccountStore, caller: Principal, account_id: str) -> Account:
    """Undo a suspension: the account's keys work again (within the authoriser cache TTL)."""
    return _transition(store, caller, account_id, "active", "suspended")


def issue_key(store: AccountStore, caller: Principal, account_id: str) -> tuple[ApiKey, str]:
    """A new key for an account that lost its own (shown once); the key records the operator who issued it."""
    get(store, account_id)
    keys, _ = store.list_keys(account_id, 100, None)
    if sum(1 for k in keys if k.status == "active") >= MAX_ACTIVE_KEYS:
        raise StateConflict(
            f"An account may hold at most {MAX_ACTIVE_KEYS} active keys; it must revoke one first.",
            code="too_many_keys",
        )
    key, secret = _new_key(account_id)
    key = key.model_copy(update={"created_by": caller.account_id})
    store.add_key(key)
    return key, secret

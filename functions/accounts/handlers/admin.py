"""Admin account management and the publisher's own profile (API v1.1, issue 19), a Powertools ``Router``
included by the accounts resolver (``functions.accounts.handlers.api``), which owns the error mapping.
(``POST /v1/accounts/{id}/approve`` lives with sign-up: ``functions.accounts.handlers.signup``.)"""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from functions.accounts.dal.admin import AccountAdminStore
from functions.accounts.dal.store import AccountStore
from functions.accounts.env import env
from functions.accounts.logic import admin as logic
from functions.accounts.models.admin import (
    AccountList,
    AccountStatusFilter,
    AdminAccountOut,
    IssuedKeyResponse,
    UpdateAccountRequest,
    UpdateMeRequest,
)
from functions.accounts.models.domain import Account
from functions.accounts.models.output import AccountOut
from functions.shared.api import json_response, path_id
from functions.shared.auth import Principal, require_principal
from functions.shared.idempotency import HEADER, IdempotencyStore
from functions.shared.responses import answer

router = Router()


def _caller() -> Principal:
    return require_principal(router.current_event.raw_event)


def _stores() -> tuple[AccountStore, AccountAdminStore]:
    table = env().ACCOUNTS_TABLE
    return AccountStore(table), AccountAdminStore(table)


def _out(account: Account) -> AdminAccountOut:
    return AdminAccountOut.model_validate(account.model_dump())


@router.get("/v1/accounts", summary="List or search accounts (admin)", tags=["accounts"])
def list_accounts(
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=100, description="prefix of a name, a word of it, an e-mail or a display name"),
    ] = None,
    status: Annotated[AccountStatusFilter | None, Query()] = None,
    role: Annotated[Literal["publisher", "buyer", "admin"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> AccountList:
    _caller().require("admin")
    _, admin = _stores()
    accounts, nxt = logic.list_accounts(admin, q, status, role, limit, cursor)
    return AccountList(items=[_out(a) for a in accounts], next_cursor=nxt)


@router.get("/v1/accounts/<id>", summary="An account (admin)", tags=["accounts"])
def get_account(id: str) -> AdminAccountOut:
    _caller().require("admin")
    store, _ = _stores()
    return _out(logic.get(store, path_id(id, "acct")))


@router.patch(
    "/v1/accounts/<id>",
    summary="Edit an account's name, e-mail, roles or public profile (admin)",
    tags=["accounts"],
)
def update_account(id: str, body: Annotated[UpdateAccountRequest, Body()]) -> AdminAccountOut:
    caller = _caller().require("admin")
    store, admin = _stores()
    return _out(logic.update(store, admin, caller, path_id(id, "acct"), body))


@router.post(
    "/v1/accounts/<id>/reinstate",
    summary="Undo a suspension: the account's keys work again (admin)",
    tags=["accounts"],
    responses={409: {"description": "The account is not suspended (code not_suspended)"}},
)
def reinstate_account(id: str) -> AdminAccountOut:
    caller = _caller().require("admin")
    account_id = path_id(id, "acct")
    store, _ = _stores()
    ev = router.current_event
    return IdempotencyStore(env().ACCOUNTS_TABLE).run_model(
        f"{caller.account_id}#{ev.path}",
        ev.headers.get(HEADER),
        ev.body,
        lambda: _out(logic.reinstate(store, caller, account_id)),
        AdminAccountOut,
    )


@router.post(
    "/v1/accounts/<id>/keys",
    summary="Issue a key for an account that lost its own (admin; shown once)",
    tags=["accounts"],
    responses={201: answer(IssuedKeyResponse, "Created")},
)
def issue_key(id: str) -> Response[str]:
    caller = _caller().require("admin")
    account_id = path_id(id, "acct")
    store, _ = _stores()

    def effect() -> tuple[object, int]:
        key, secret = logic.issue_key(store, caller, account_id)
        return IssuedKeyResponse(key_id=key.key_id, api_key=secret, created_at=key.created_at).model_dump(), 201

    ev = router.current_event
    out, status = IdempotencyStore(env().ACCOUNTS_TABLE).run(
        f"{caller.account_id}#{ev.path}", ev.headers.get(HEADER), ev.body, effect
    )
    return json_response(out, status)


@router.patch("/v1/me", summary="Edit the caller's public profile (publisher)", tags=["accounts"])
def update_me(body: Annotated[UpdateMeRequest, Body()]) -> AccountOut:
    caller = _caller().require("publisher")
    store, admin = _stores()
    return AccountOut.model_validate(logic.update_profile(store, admin, caller, body.profile).model_dump())

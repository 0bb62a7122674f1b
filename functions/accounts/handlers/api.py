"""Accounts API: accounts, keys, health and the OpenAPI document."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Annotated

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from functions.accounts.dal.store import AccountStore
from functions.accounts.env import env
from functions.accounts.handlers import admin as admin_routes
from functions.accounts.handlers import signup as signup_routes
from functions.accounts.logic import accounts as logic
from functions.accounts.logic import admin as admin_logic
from functions.accounts.models.input import CreateAccountRequest
from functions.accounts.models.output import (
    AccountOut,
    CreateAccountResponse,
    Health,
    KeyList,
    KeyOut,
    NewKeyResponse,
)
from functions.shared.api import json_response, make_resolver, path_id, principal
from functions.shared.entry import http_entry
from functions.shared.idempotency import HEADER, IdempotencyStore
from functions.shared.responses import answer

VERSION = "1.0.0"
logger = Logger()
app = make_resolver()


def _store() -> AccountStore:
    return AccountStore(env().ACCOUNTS_TABLE)


@app.get("/v1/health", summary="Liveness of the API", tags=["meta"])
def health() -> Health:
    return Health(status="ok", version=VERSION)


@cache
def _openapi_text() -> str:
    return resources.files("functions").joinpath("openapi.json").read_text()


@app.get("/v1/openapi.json", summary="The OpenAPI 3 document of the whole API", tags=["meta"], include_in_schema=False)
def openapi() -> Response[str]:
    return Response(200, "application/json", _openapi_text())


@app.post(
    "/v1/accounts",
    summary="Create an account (admin)",
    tags=["accounts"],
    responses={201: answer(CreateAccountResponse, "Created")},
)
def create_account(body: Annotated[CreateAccountRequest, Body()]) -> Response[str]:
    caller = principal(app).require("admin")

    def effect() -> tuple[object, int]:
        account, secret = logic.create_account(_store(), body)
        return CreateAccountResponse(account=AccountOut(**account.model_dump()), api_key=secret).model_dump(), 201

    ev = app.current_event
    out, status = IdempotencyStore(env().ACCOUNTS_TABLE).run(caller.account_id, ev.headers.get(HEADER), ev.body, effect)
    return json_response(out, status)


@app.post("/v1/accounts/<id>/suspend", summary="Suspend an account: its keys stop working (admin)", tags=["accounts"])
def suspend_account(id: str) -> AccountOut:
    caller = principal(app).require("admin")
    ev = app.current_event
    return IdempotencyStore(env().ACCOUNTS_TABLE).run_model(
        f"{caller.account_id}#{ev.path}",
        ev.headers.get(HEADER),
        ev.body,
        lambda: AccountOut(**admin_logic.suspend(_store(), caller, path_id(id, "acct")).model_dump()),
        AccountOut,
    )


@app.get("/v1/me", summary="The caller's account", tags=["accounts"])
def me() -> AccountOut:
    caller = principal(app, allow_pending=True)  # a pending account may read itself, and nothing else
    return AccountOut(**logic.get_account(_store(), caller.account_id).model_dump())


@app.post(
    "/v1/me/keys",
    summary="Create another API key (shown once)",
    tags=["accounts"],
    responses={201: answer(NewKeyResponse, "Created")},
)
def create_key() -> Response[str]:
    caller = principal(app)

    def effect() -> tuple[object, int]:
        key, secret = logic.create_key(_store(), caller.account_id)
        return NewKeyResponse(key_id=key.key_id, api_key=secret, created_at=key.created_at).model_dump(), 201

    ev = app.current_event
    out, status = IdempotencyStore(env().ACCOUNTS_TABLE).run(caller.account_id, ev.headers.get(HEADER), ev.body, effect)
    return json_response(out, status)


@app.get("/v1/me/keys", summary="The caller's keys (never the secret)", tags=["accounts"])
def list_keys(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> KeyList:
    caller = principal(app)
    keys, nxt = _store().list_keys(caller.account_id, limit, cursor)
    return KeyList(items=[KeyOut(**k.model_dump()) for k in keys], next_cursor=nxt)


@app.delete(
    "/v1/me/keys/<key_id>",
    summary="Revoke one of the caller's keys",
    tags=["accounts"],
    responses={204: {"description": "Revoked"}},
)
def revoke_key(key_id: str) -> Response[str]:
    caller = principal(app)
    logic.revoke_key(_store(), caller.account_id, path_id(key_id, "key"))
    return Response(204, None, "")


app.include_router(signup_routes.router)  # self sign-up and approval (issue 19)
app.include_router(admin_routes.router)  # admin account management, the publisher profile (issue 19)

handler = http_entry(app, env, logger)

"""Pools for collective licensing: create (admin), read, members opt in and out. A Powertools ``Router`` included by the catalogue resolver (``functions.catalog.handlers.api``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from functions.catalog.handlers.common import (
    catalog_store,
    idempotent,
    replayed,
)
from functions.catalog.logic import pools as pool_logic
from functions.catalog.models.input import (
    CreatePoolRequest,
    PoolMembersRequest,
)
from functions.catalog.models.output import (
    PoolLeaveOut,
    PoolMembersOut,
    PoolOut,
)
from functions.shared.api import path_id, principal
from functions.shared.responses import answer

if TYPE_CHECKING:
    pass


router = Router()


@router.post(
    "/v1/pools",
    summary="Create a pool for collective licensing (admin)",
    tags=["pools"],
    responses={201: answer(PoolOut, "Created")},
)
def create_pool(body: Annotated[CreatePoolRequest, Body()]) -> Response[str]:
    caller = principal(router)

    def effect() -> tuple[object, int]:
        pool = pool_logic.create_pool(catalog_store(), caller, body)
        return PoolOut(**pool.model_dump(), member_count=0).model_dump(), 201

    return idempotent(router, caller.account_id, effect)


@router.get("/v1/pools/<id>", summary="A pool (public)", tags=["pools"])
def get_pool(id: str) -> PoolOut:
    pool, members = pool_logic.get_pool(catalog_store(), path_id(id, "pool"))
    return PoolOut(**pool.model_dump(), member_count=members)


@router.post("/v1/pools/<id>/members", summary="Opt assets or collections into a pool (publisher)", tags=["pools"])
def add_pool_members(id: str, body: Annotated[PoolMembersRequest, Body()]) -> PoolMembersOut:
    caller = principal(router)
    return replayed(
        router,
        caller.account_id,
        lambda: PoolMembersOut(
            pool_id=id, asset_ids=pool_logic.add_members(catalog_store(), caller, path_id(id, "pool"), body)
        ),
        PoolMembersOut,
    )


@router.delete(
    "/v1/pools/<id>/members/<asset_id>", summary="Opt an asset out from the next period (publisher)", tags=["pools"]
)
def remove_pool_member(id: str, asset_id: str) -> PoolLeaveOut:
    caller = principal(router).require("publisher")
    leaves_at = pool_logic.remove_member(catalog_store(), caller, path_id(id, "pool"), path_id(asset_id, "ast"))
    return PoolLeaveOut(pool_id=id, asset_id=asset_id, leaves_at=leaves_at)

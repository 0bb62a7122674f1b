"""Assets and uploads: list, create (presigned upload), read, edit, withdraw, complete and verify; the public catalogue search. A Powertools ``Router`` included by the catalogue resolver (``functions.catalog.handlers.api``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from functions.catalog.env import env
from functions.catalog.handlers.common import (
    VERIFY_POLL_S,
    Cursor,
    IdQuery,
    Limit,
    asset_out,
    authenticate,
    catalog_store,
    content_store,
    idempotent,
    names,
)
from functions.catalog.logic import assets as asset_logic
from functions.catalog.logic.search import SearchFilters, search
from functions.catalog.models.input import (
    CompleteRequest,
    CreateAssetRequest,
    Kind,
    UpdateAssetRequest,
    Use,
)
from functions.catalog.models.output import (
    AssetList,
    AssetOut,
    CatalogItem,
    CatalogPage,
    CreateAssetResponse,
    offer_out,
)
from functions.shared.api import json_response, optional_principal, path_id, principal
from functions.shared.idempotency import HEADER, IdempotencyStore
from functions.shared.responses import answer

if TYPE_CHECKING:
    pass


router = Router()


@router.post(
    "/v1/assets",
    summary="List an asset and get presigned upload URL(s)",
    tags=["catalogue"],
    responses={201: answer(CreateAssetResponse, "Created")},
)
def create_asset(body: Annotated[CreateAssetRequest, Body()]) -> Response[str]:
    caller = principal(router).require("publisher")

    def effect() -> tuple[object, int]:
        asset, upload = asset_logic.create_asset(catalog_store(), content_store(), caller, body)
        return {"asset": asset_out(asset).model_dump(), "upload": upload}, 201

    return idempotent(router, caller.account_id, effect)


@router.get("/v1/assets", summary="The caller's own assets, in every status", tags=["catalogue"])
def list_my_assets(
    status: Annotated[
        Literal["pending_upload", "verifying", "available", "rejected", "withdrawn"] | None, Query()
    ] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> AssetList:
    caller = principal(router).require("publisher")
    found, nxt = catalog_store().publisher_assets(caller.account_id, limit, cursor, status)
    return AssetList(items=[asset_out(a) for a in found], next_cursor=nxt)


@router.get("/v1/assets/<id>", summary="An asset: anyone when available, the owner in every status", tags=["catalogue"])
def get_asset(id: str) -> AssetOut:
    caller = optional_principal(router, authenticate)
    return asset_out(asset_logic.get_asset(catalog_store(), path_id(id, "ast"), caller))


@router.patch("/v1/assets/<id>", summary="Change an asset's metadata (owner)", tags=["catalogue"])
def update_asset(id: str, body: Annotated[UpdateAssetRequest, Body()]) -> AssetOut:
    caller = principal(router).require("publisher")
    return asset_out(asset_logic.update_asset(catalog_store(), caller, path_id(id, "ast"), body))


@router.delete(
    "/v1/assets/<id>", summary="Withdraw an asset: no longer served, its offers retired (owner)", tags=["catalogue"]
)
def withdraw_asset(id: str) -> AssetOut:
    caller = principal(router).require("publisher")
    return asset_out(asset_logic.withdraw_asset(catalog_store(), content_store(), caller, path_id(id, "ast")))


@router.post(
    "/v1/assets/<id>/complete",
    summary="Finish a multipart upload (or a PUT) and verify it (owner)",
    description="Small objects (and single PUTs whose SHA-256 S3 checked on upload) are verified before the answer: "
    "200 with the asset `available` or `rejected`. A larger object is verified by the upload verifier: 202 with the "
    "asset `verifying`, a `Location` to poll (`GET /v1/assets/{id}`) and `Retry-After` in seconds.",
    tags=["catalogue"],
    responses={
        200: answer(AssetOut, "Verified (or nothing to do: not uploaded yet, already verified, withdrawn)"),
        202: {
            "description": "Accepted: the object is being verified; poll the asset until it leaves `verifying`",
            "content": {"application/json": {"model": AssetOut}},
            "headers": {
                "Location": {"schema": {"type": "string"}, "description": "The asset to poll"},
                "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds before polling again"},
            },
        },
    },
)
def complete_upload(id: str, body: Annotated[CompleteRequest | None, Body()] = None) -> Response[str]:
    caller = principal(router).require("publisher")
    req = body or CompleteRequest()
    asset_id = path_id(id, "ast")

    def effect() -> tuple[object, int]:
        out = asset_out(asset_logic.complete_upload(catalog_store(), content_store(), caller, asset_id, req))
        return out.model_dump(), 202 if out.status == "verifying" else 200

    ev = router.current_event  # scoped by path too: one key on two assets is two requests (API.md, Idempotency)
    out, status = IdempotencyStore(env().CATALOG_TABLE).run(
        f"{caller.account_id}#{ev.path}", ev.headers.get(HEADER), ev.body, effect
    )
    headers = {"Location": f"/v1/assets/{asset_id}", "Retry-After": str(VERIFY_POLL_S)} if status == 202 else None
    return json_response(out, status, headers)


@router.get(
    "/v1/catalog/assets", summary="Search available assets with their active offers (public)", tags=["catalogue"]
)
def catalog(
    q: Annotated[str | None, Query(max_length=200)] = None,
    kind: Annotated[Kind | None, Query()] = None,
    language: Annotated[str | None, Query(max_length=10)] = None,
    tag: Annotated[str | None, Query(max_length=40)] = None,
    publisher_id: IdQuery = None,
    collection_id: IdQuery = None,
    use: Annotated[Use | None, Query()] = None,
    max_price_micros: Annotated[int | None, Query(ge=0, le=10**15)] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> CatalogPage:
    filters: SearchFilters = {
        "q": q,
        "kind": kind,
        "language": language,
        "tag": tag,
        "publisher_id": publisher_id,
        "collection_id": collection_id,
        "use": use,
        "max_price_micros": max_price_micros,
    }
    found, nxt = search(catalog_store(), filters, limit, cursor)
    publisher_names = names(
        [a.publisher_id for a, _ in found] + [o["publisher_id"] for _, offers in found for o in offers]
    )
    items = [
        CatalogItem.model_validate(
            {
                **asset_out(a).model_dump(),
                "publisher_name": publisher_names.get(a.publisher_id),
                "offers": [
                    offer_out(o).model_copy(update={"publisher_name": publisher_names.get(o["publisher_id"])})
                    for o in offers
                ],
            }
        )
        for a, offers in found
    ]
    return CatalogPage(items=items, next_cursor=nxt)

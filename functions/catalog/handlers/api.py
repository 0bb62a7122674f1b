"""Catalogue API: assets and uploads, collections, publishers, offers, pools, RSL documents."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Literal

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from functions.catalog.dal.content import ContentStore
from functions.catalog.dal.store import CatalogStore
from functions.catalog.env import env
from functions.catalog.logic import assets as asset_logic
from functions.catalog.logic import offers as offer_logic
from functions.catalog.logic import pools as pool_logic
from functions.catalog.logic import rsl
from functions.catalog.logic.search import SearchFilters, search
from functions.catalog.models.input import (
    CompleteRequest,
    CreateAssetRequest,
    CreateCollectionRequest,
    CreateOfferRequest,
    CreatePoolRequest,
    Kind,
    PoolMembersRequest,
    UpdateAssetRequest,
    Use,
)
from functions.catalog.models.output import (
    AssetList,
    AssetOut,
    CatalogItem,
    CatalogPage,
    CollectionOut,
    CreateAssetResponse,
    OfferList,
    OfferOut,
    PoolLeaveOut,
    PoolMembersOut,
    PoolOut,
    PublisherOut,
    offer_out,
)
from functions.shared.api import json_response, make_resolver, optional_principal, path_id, principal
from functions.shared.clock import now_iso
from functions.shared.entry import http_entry
from functions.shared.errors import ApiError, BadRequest, NotFound
from functions.shared.idempotency import HEADER, IdempotencyStore, M
from functions.shared.ids import new_id
from functions.shared.urls import base_url

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

    from functions.accounts.dal.reader import PublicProfile
    from functions.catalog.dal.reader import OfferRecord
    from functions.catalog.models.domain import Asset

logger = Logger()
app = make_resolver()
OPENAPI_MODELS = (CreateAssetResponse, CollectionOut, OfferOut, PoolOut)
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=2048)]
IdQuery = Annotated[str | None, Query(max_length=64)]


def _store() -> CatalogStore:
    return CatalogStore(env().CATALOG_TABLE)


def _content() -> ContentStore:
    return ContentStore(env().CONTENT_BUCKET)


VERIFY_POLL_S = 5  # Retry-After of a 202 from complete: about 1.5 GB hashed at the verifier's stated rate


def _asset_out(a: Asset) -> AssetOut:
    return AssetOut.model_validate({**a.model_dump(), "pool_ids": a.effective_pool_ids(now_iso())})


def _idempotent(scope: str, effect: Callable[[], tuple[object, int]]) -> Response[str]:
    ev = app.current_event
    out, status = IdempotencyStore(env().CATALOG_TABLE).run(scope, ev.headers.get(HEADER), ev.body, effect)
    return json_response(out, status)


def _replayed(scope: str, effect: Callable[[], M], model: type[M]) -> M:
    """Honour an Idempotency-Key on a POST that answers 200 with ``model`` (API.md, Idempotency)."""
    ev = app.current_event  # scoped by path too: one key on two licences or assets is two requests
    return IdempotencyStore(env().CATALOG_TABLE).run_model(
        f"{scope}#{ev.path}", ev.headers.get(HEADER), ev.body, effect, model
    )


# ------------------------------------------------------------------------------------------------ assets
@app.post(
    "/v1/assets",
    summary="List an asset and get presigned upload URL(s)",
    tags=["catalogue"],
    responses={
        201: {
            "description": "Created",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CreateAssetResponse"}}},
        }
    },
)
def create_asset(body: Annotated[CreateAssetRequest, Body()]) -> Response[str]:
    caller = principal(app).require("publisher")

    def effect() -> tuple[object, int]:
        asset, upload = asset_logic.create_asset(_store(), _content(), caller, body)
        return {"asset": _asset_out(asset).model_dump(), "upload": upload}, 201

    return _idempotent(caller.account_id, effect)


@app.get("/v1/assets", summary="The caller's own assets, in every status", tags=["catalogue"])
def list_my_assets(
    status: Annotated[
        Literal["pending_upload", "verifying", "available", "rejected", "withdrawn"] | None, Query()
    ] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> AssetList:
    caller = principal(app).require("publisher")
    found, nxt = _store().publisher_assets(caller.account_id, limit, cursor, status)
    return AssetList(items=[_asset_out(a) for a in found], next_cursor=nxt)


@app.get("/v1/assets/<id>", summary="An asset: anyone when available, the owner in every status", tags=["catalogue"])
def get_asset(id: str) -> AssetOut:
    caller = optional_principal(app)
    return _asset_out(asset_logic.get_asset(_store(), path_id(id, "ast"), caller))


@app.patch("/v1/assets/<id>", summary="Change an asset's metadata (owner)", tags=["catalogue"])
def update_asset(id: str, body: Annotated[UpdateAssetRequest, Body()]) -> AssetOut:
    caller = principal(app).require("publisher")
    return _asset_out(asset_logic.update_asset(_store(), caller, path_id(id, "ast"), body))


@app.delete(
    "/v1/assets/<id>", summary="Withdraw an asset: no longer served, its offers retired (owner)", tags=["catalogue"]
)
def withdraw_asset(id: str) -> AssetOut:
    caller = principal(app).require("publisher")
    return _asset_out(asset_logic.withdraw_asset(_store(), _content(), caller, path_id(id, "ast")))


@app.post(
    "/v1/assets/<id>/complete",
    summary="Finish a multipart upload (or a PUT) and verify it (owner)",
    description="Small objects (and single PUTs whose SHA-256 S3 checked on upload) are verified before the answer: "
    "200 with the asset `available` or `rejected`. A larger object is verified by the upload verifier: 202 with the "
    "asset `verifying`, a `Location` to poll (`GET /v1/assets/{id}`) and `Retry-After` in seconds.",
    tags=["catalogue"],
    responses={
        200: {
            "description": "Verified (or nothing to do: not uploaded yet, already verified, withdrawn)",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AssetOut"}}},
        },
        202: {
            "description": "Accepted: the object is being verified; poll the asset until it leaves `verifying`",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AssetOut"}}},
            "headers": {
                "Location": {"schema": {"type": "string"}, "description": "The asset to poll"},
                "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds before polling again"},
            },
        },
    },
)
def complete_upload(id: str, body: Annotated[CompleteRequest | None, Body()] = None) -> Response[str]:
    caller = principal(app).require("publisher")
    req = body or CompleteRequest()
    asset_id = path_id(id, "ast")

    def effect() -> tuple[object, int]:
        out = _asset_out(asset_logic.complete_upload(_store(), _content(), caller, asset_id, req))
        return out.model_dump(), 202 if out.status == "verifying" else 200

    ev = app.current_event  # scoped by path too: one key on two assets is two requests (API.md, Idempotency)
    out, status = IdempotencyStore(env().CATALOG_TABLE).run(
        f"{caller.account_id}#{ev.path}", ev.headers.get(HEADER), ev.body, effect
    )
    headers = {"Location": f"/v1/assets/{asset_id}", "Retry-After": str(VERIFY_POLL_S)} if status == 202 else None
    return json_response(out, status, headers)


@app.get("/v1/catalog/assets", summary="Search available assets with their active offers (public)", tags=["catalogue"])
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
    found, nxt = search(_store(), filters, limit, cursor)
    names = _names([a.publisher_id for a, _ in found] + [o["publisher_id"] for _, offers in found for o in offers])
    items = [
        CatalogItem.model_validate(
            {
                **_asset_out(a).model_dump(),
                "publisher_name": names.get(a.publisher_id),
                "offers": [
                    offer_out(o).model_copy(update={"publisher_name": names.get(o["publisher_id"])}) for o in offers
                ],
            }
        )
        for a, offers in found
    ]
    return CatalogPage(items=items, next_cursor=nxt)


# ------------------------------------------------------------------------------------------- collections
@app.post(
    "/v1/collections",
    summary="Create a collection (publisher)",
    tags=["catalogue"],
    responses={
        201: {
            "description": "Created",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CollectionOut"}}},
        }
    },
)
def create_collection(body: Annotated[CreateCollectionRequest, Body()]) -> Response[str]:
    caller = principal(app).require("publisher")

    def effect() -> tuple[object, int]:
        from functions.catalog.models.domain import Collection

        col = Collection(
            id=new_id("col"),
            publisher_id=caller.account_id,
            title=body.title,
            description=body.description,
            created_at=now_iso(),
        )
        _store().put_collection(col)
        return CollectionOut.model_validate(col.model_dump()).model_dump(), 201

    return _idempotent(caller.account_id, effect)


@app.get("/v1/collections/<id>", summary="A collection (public)", tags=["catalogue"])
def get_collection(id: str) -> CollectionOut:
    col = _store().get_collection(path_id(id, "col"))
    if col is None:
        raise NotFound("No such collection.")
    return CollectionOut.model_validate(col.model_dump())


# -------------------------------------------------------------------------------------------- publishers
def _publisher(publisher_id: str) -> PublicProfile:
    from functions.accounts.dal.reader import publisher_profile

    table = env().ACCOUNTS_TABLE
    found = publisher_profile(table, publisher_id) if table else None
    if found is None:
        raise NotFound("No such publisher.")
    return found


def _publisher_name(publisher_id: str) -> str:
    """The name buyers see: the publisher's display name when it set one (issue 19), else its account name."""
    return _publisher(publisher_id)["name"]


def _names(publisher_ids: list[str]) -> dict[str, str]:
    """Publishers' display names for a page of public results: one batch read of accounts."""
    from functions.accounts.dal.reader import names_by_id

    table = env().ACCOUNTS_TABLE
    return names_by_id(table, publisher_ids) if table and publisher_ids else {}


def _named(offers: list[OfferOut]) -> list[OfferOut]:
    names = _names([o.publisher_id for o in offers])
    return [o.model_copy(update={"publisher_name": names.get(o.publisher_id)}) for o in offers]


@app.get("/v1/publishers/<id>", summary="A publisher's public profile", tags=["catalogue"])
def get_publisher(id: str) -> PublisherOut:
    pid = path_id(id, "acct")
    profile = _publisher(pid)
    name = profile["name"]
    store = _store()
    offers = sum(1 for o in store.iter_offers(f"OFFERS#PUB#{pid}", index="gsi2") if o.status == "active")
    rsl_url = f"{base_url()}/v1/publishers/{pid}/rsl.xml"
    return PublisherOut(
        id=pid,
        name=name,
        asset_count=store.count_index(f"PUB#{pid}"),
        offer_count=offers,
        rsl_url=rsl_url,
        robots_txt=rsl.robots_license_line(rsl_url),
        display_name=profile["display_name"],
        website=profile["website"],
        description=profile["description"],
        logo_url=profile["logo_url"],
    )


# ------------------------------------------------------------------------------------------------ offers
@app.post(
    "/v1/offers",
    summary="Publish an offer on an asset, a collection or (admin) a pool",
    tags=["offers"],
    responses={
        201: {
            "description": "Created",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OfferOut"}}},
        }
    },
)
def create_offer(body: Annotated[CreateOfferRequest, Body()]) -> Response[str]:
    caller = principal(app)

    def effect() -> tuple[object, int]:
        return offer_out(offer_logic.create_offer(_store(), caller, body)).model_dump(), 201

    return _idempotent(caller.account_id, effect)


@app.get("/v1/offers", summary="Offers by asset, collection, publisher or pool (public)", tags=["offers"])
def list_offers(
    asset_id: IdQuery = None,
    collection_id: IdQuery = None,
    publisher_id: IdQuery = None,
    pool_id: IdQuery = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> OfferList:
    given = [
        (k, v)
        for k, v in (("asset", asset_id), ("collection", collection_id), ("publisher", publisher_id), ("pool", pool_id))
        if v
    ]
    if len(given) != 1:
        raise BadRequest(
            "Give exactly one of asset_id, collection_id, publisher_id or pool_id.", code="one_filter_required"
        )
    kind, value = given[0]
    key, index = (f"OFFERS#PUB#{value}", "gsi2") if kind == "publisher" else (f"OFFERS#{kind}#{value}", "gsi1")
    store = _store()
    found, nxt = store.offers_by(key, index, limit, cursor)
    items = _named([offer_out(o) for o in offer_logic.public_offers(store, found, _viewer)])
    return OfferList(items=items, next_cursor=nxt)


def _viewer() -> Principal | None:
    """The caller of a public route, if it presents a valid key (a bad key reads as the public)."""
    try:
        return optional_principal(app)
    except ApiError:  # a bad or pending key: the public view
        return None


@app.get("/v1/offers/<id>", summary="An offer (public; of an asset not yet available: its owner)", tags=["offers"])
def get_offer(id: str) -> OfferOut:
    store = _store()
    offer = offer_logic.get_offer(store, path_id(id, "off"))
    if not offer_logic.public_offers(store, [offer], _viewer):
        raise NotFound("No such offer.")
    return _named([offer_out(offer)])[0]


@app.delete(
    "/v1/offers/<id>", summary="Retire an offer: no new licences, existing ones untouched (owner)", tags=["offers"]
)
def retire_offer(id: str) -> OfferOut:
    caller = principal(app)
    return offer_out(offer_logic.retire_offer(_store(), caller, path_id(id, "off")))


# ------------------------------------------------------------------------------------------------- pools
@app.post(
    "/v1/pools",
    summary="Create a pool for collective licensing (admin)",
    tags=["pools"],
    responses={
        201: {
            "description": "Created",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PoolOut"}}},
        }
    },
)
def create_pool(body: Annotated[CreatePoolRequest, Body()]) -> Response[str]:
    caller = principal(app)

    def effect() -> tuple[object, int]:
        pool = pool_logic.create_pool(_store(), caller, body)
        return PoolOut(**pool.model_dump(), member_count=0).model_dump(), 201

    return _idempotent(caller.account_id, effect)


@app.get("/v1/pools/<id>", summary="A pool (public)", tags=["pools"])
def get_pool(id: str) -> PoolOut:
    pool, members = pool_logic.get_pool(_store(), path_id(id, "pool"))
    return PoolOut(**pool.model_dump(), member_count=members)


@app.post("/v1/pools/<id>/members", summary="Opt assets or collections into a pool (publisher)", tags=["pools"])
def add_pool_members(id: str, body: Annotated[PoolMembersRequest, Body()]) -> PoolMembersOut:
    caller = principal(app)
    return _replayed(
        caller.account_id,
        lambda: PoolMembersOut(
            pool_id=id, asset_ids=pool_logic.add_members(_store(), caller, path_id(id, "pool"), body)
        ),
        PoolMembersOut,
    )


@app.delete(
    "/v1/pools/<id>/members/<asset_id>", summary="Opt an asset out from the next period (publisher)", tags=["pools"]
)
def remove_pool_member(id: str, asset_id: str) -> PoolLeaveOut:
    caller = principal(app).require("publisher")
    leaves_at = pool_logic.remove_member(_store(), caller, path_id(id, "pool"), path_id(asset_id, "ast"))
    return PoolLeaveOut(pool_id=id, asset_id=asset_id, leaves_at=leaves_at)


# --------------------------------------------------------------------------------------------------- RSL
def _rsl_response(body: bytes) -> Response[str]:
    return Response(200, rsl.MEDIA_TYPE, body.decode(), headers={"Cache-Control": "public, max-age=300"})


def _asset_content(base: str, asset: Asset, offers: list[OfferRecord], holder: str) -> Element:
    return rsl.content_element(
        url=f"{base}/v1/assets/{asset.id}/content",
        server=f"{base}/v1/licenses",
        offers=offers,
        copyright_holder=holder,
        terms_url=f"{base}/v1/offers?asset_id={asset.id}",
        lastmod=asset.updated_at,
    )


@app.get(
    "/v1/assets/<id>/rsl.xml",
    summary="RSL 1.0 licence terms of an available asset",
    tags=["open standards"],
    responses={200: {"description": "RSL document", "content": {rsl.MEDIA_TYPE: {"schema": {"type": "string"}}}}},
)
def asset_rsl(id: str) -> Response[str]:
    from functions.catalog.dal import reader

    asset = asset_logic.get_asset(_store(), path_id(id, "ast"), None)
    offers = reader.active_offers_for_asset(reader.asset_from_item_model(asset))
    base = base_url()
    return _rsl_response(rsl.document([_asset_content(base, asset, offers, _publisher_name(asset.publisher_id))]))


@app.get(
    "/v1/publishers/<id>/rsl.xml",
    summary="RSL 1.0 licence terms of a publisher's available assets",
    tags=["open standards"],
    responses={200: {"description": "RSL document", "content": {rsl.MEDIA_TYPE: {"schema": {"type": "string"}}}}},
)
def publisher_rsl(id: str) -> Response[str]:
    pid = path_id(id, "acct")
    holder = _publisher_name(pid)
    store = _store()
    base = base_url()
    contents = []
    found, nxt = search(store, {"publisher_id": pid}, 100, None)
    for _ in range(20):  # at most 2,000 assets per document; crawlers also get per-asset documents
        contents += [_asset_content(base, a, offers, holder) for a, offers in found]
        if not nxt:
            break
        found, nxt = search(store, {"publisher_id": pid}, 100, nxt)
    return _rsl_response(rsl.document(contents))


handler = http_entry(app, env, logger)

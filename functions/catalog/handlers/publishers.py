"""Publishers' public profiles and the RSL documents of their assets. A Powertools ``Router`` included by the catalogue resolver (``functions.catalog.handlers.api``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from functions.catalog.handlers.common import (
    asset_content,
    catalog_store,
    publisher,
    publisher_name,
    rsl_response,
)
from functions.catalog.logic import assets as asset_logic
from functions.catalog.logic import rsl
from functions.catalog.logic.search import search
from functions.catalog.models.output import (
    PublisherOut,
)
from functions.shared.api import path_id
from functions.shared.urls import base_url

if TYPE_CHECKING:
    pass


router = Router()


@router.get("/v1/publishers/<id>", summary="A publisher's public profile", tags=["catalogue"])
def get_publisher(id: str) -> PublisherOut:
    pid = path_id(id, "acct")
    profile = publisher(pid)
    name = profile["name"]
    store = catalog_store()
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


@router.get(
    "/v1/assets/<id>/rsl.xml",
    summary="RSL 1.0 licence terms of an available asset",
    tags=["open standards"],
    responses={200: {"description": "RSL document", "content": {rsl.MEDIA_TYPE: {"schema": {"type": "string"}}}}},
)
def asset_rsl(id: str) -> Response[str]:
    from functions.catalog.dal import reader

    asset = asset_logic.get_asset(catalog_store(), path_id(id, "ast"), None)
    offers = reader.active_offers_for_asset(reader.asset_from_item_model(asset))
    base = base_url()
    return rsl_response(rsl.document([asset_content(base, asset, offers, publisher_name(asset.publisher_id))]))


@router.get(
    "/v1/publishers/<id>/rsl.xml",
    summary="RSL 1.0 licence terms of a publisher's available assets",
    tags=["open standards"],
    responses={200: {"description": "RSL document", "content": {rsl.MEDIA_TYPE: {"schema": {"type": "string"}}}}},
)
def publisher_rsl(id: str) -> Response[str]:
    pid = path_id(id, "acct")
    holder = publisher_name(pid)
    store = catalog_store()
    base = base_url()
    contents = []
    found, nxt = search(store, {"publisher_id": pid}, 100, None)
    for _ in range(20):  # at most 2,000 assets per document; crawlers also get per-asset documents
        contents += [asset_content(base, a, offers, holder) for a, offers in found]
        if not nxt:
            break
        found, nxt = search(store, {"publisher_id": pid}, 100, nxt)
    return rsl_response(rsl.document(contents))

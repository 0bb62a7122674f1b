"""Offers: publish, list (public), read, retire. A Powertools ``Router`` included by the catalogue resolver (``functions.catalog.handlers.api``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from functions.catalog.handlers.common import (
    Cursor,
    IdQuery,
    Limit,
    catalog_store,
    idempotent,
    named,
    viewer,
)
from functions.catalog.logic import offers as offer_logic
from functions.catalog.models.input import (
    CreateOfferRequest,
)
from functions.catalog.models.output import (
    OfferList,
    OfferOut,
    offer_out,
)
from functions.shared.api import path_id, principal
from functions.shared.errors import BadRequest, NotFound
from functions.shared.responses import answer

if TYPE_CHECKING:
    pass


router = Router()


@router.post(
    "/v1/offers",
    summary="Publish an offer on an asset, a collection or (admin) a pool",
    tags=["offers"],
    responses={201: answer(OfferOut, "Created")},
)
def create_offer(body: Annotated[CreateOfferRequest, Body()]) -> Response[str]:
    caller = principal(router)

    def effect() -> tuple[object, int]:
        return offer_out(offer_logic.create_offer(catalog_store(), caller, body)).model_dump(), 201

    return idempotent(router, caller.account_id, effect)


@router.get("/v1/offers", summary="Offers by asset, collection, publisher or pool (public)", tags=["offers"])
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
    store = catalog_store()
    found, nxt = store.offers_by(key, index, limit, cursor)
    items = named([offer_out(o) for o in offer_logic.public_offers(store, found, lambda: viewer(router))])
    return OfferList(items=items, next_cursor=nxt)


@router.get("/v1/offers/<id>", summary="An offer (public; of an asset not yet available: its owner)", tags=["offers"])
def get_offer(id: str) -> OfferOut:
    store = catalog_store()
    offer = offer_logic.get_offer(store, path_id(id, "off"))
    if not offer_logic.public_offers(store, [offer], lambda: viewer(router)):
        raise NotFound("No such offer.")
    return named([offer_out(offer)])[0]


@router.delete(
    "/v1/offers/<id>", summary="Retire an offer: no new licences, existing ones untouched (owner)", tags=["offers"]
)
def retire_offer(id: str) -> OfferOut:
    caller = principal(router)
    return offer_out(offer_logic.retire_offer(catalog_store(), caller, path_id(id, "off")))

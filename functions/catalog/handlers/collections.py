"""Collections of a publisher's assets. A Powertools ``Router`` included by the catalogue resolver (``functions.catalog.handlers.api``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from functions.catalog.handlers.common import (
    catalog_store,
    idempotent,
)
from functions.catalog.models.input import (
    CreateCollectionRequest,
)
from functions.catalog.models.output import (
    CollectionOut,
)
from functions.shared.api import path_id, principal
from functions.shared.clock import now_iso
from functions.shared.errors import NotFound
from functions.shared.ids import new_id
from functions.shared.responses import answer

if TYPE_CHECKING:
    pass


router = Router()


@router.post(
    "/v1/collections",
    summary="Create a collection (publisher)",
    tags=["catalogue"],
    responses={201: answer(CollectionOut, "Created")},
)
def create_collection(body: Annotated[CreateCollectionRequest, Body()]) -> Response[str]:
    caller = principal(router).require("publisher")

    def effect() -> tuple[object, int]:
        from functions.catalog.models.domain import Collection

        col = Collection(
            id=new_id("col"),
            publisher_id=caller.account_id,
            title=body.title,
            description=body.description,
            created_at=now_iso(),
        )
        catalog_store().put_collection(col)
        return CollectionOut.model_validate(col.model_dump()).model_dump(), 201

    return idempotent(router, caller.account_id, effect)


@router.get("/v1/collections/<id>", summary="A collection (public)", tags=["catalogue"])
def get_collection(id: str) -> CollectionOut:
    col = catalog_store().get_collection(path_id(id, "col"))
    if col is None:
        raise NotFound("No such collection.")
    return CollectionOut.model_validate(col.model_dump())

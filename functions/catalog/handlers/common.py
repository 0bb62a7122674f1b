"""What the catalogue's route modules share: the stores, the answer shapes, idempotency, the optional caller and
publishers' names. No route lives here."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.catalog.dal.content import ContentStore
from functions.catalog.dal.store import CatalogStore
from functions.catalog.env import env
from functions.catalog.logic import rsl
from functions.catalog.models.output import AssetOut, OfferOut
from functions.shared.api import json_response, optional_principal
from functions.shared.clock import now_iso
from functions.shared.errors import NotFound
from functions.shared.faults import Fault
from functions.shared.idempotency import HEADER, IdempotencyStore, M

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

    from functions.accounts.dal.reader import PublicProfile
    from functions.catalog.dal.reader import OfferRecord
    from functions.catalog.models.domain import Asset
    from functions.shared.auth import Principal

Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=2048)]
IdQuery = Annotated[str | None, Query(max_length=64)]
VERIFY_POLL_S = 5  # Retry-After of a 202 from complete: about 1.5 GB hashed at the verifier's stated rate


def catalog_store() -> CatalogStore:
    return CatalogStore(env().CATALOG_TABLE)


def content_store() -> ContentStore:
    return ContentStore(env().CONTENT_BUCKET, env().DELIVERY_BUCKET)


def asset_out(a: Asset) -> AssetOut:
    return AssetOut.model_validate({**a.model_dump(), "pool_ids": a.effective_pool_ids(now_iso())})


def idempotent(router: Router, scope: str, effect: Callable[[], tuple[object, int]]) -> Response[str]:
    ev = router.current_event
    out, status = IdempotencyStore(env().CATALOG_TABLE).run(scope, ev.headers.get(HEADER), ev.body, effect)
    return json_response(out, status)


def replayed(router: Router, scope: str, effect: Callable[[], M], model: type[M]) -> M:
    """Honour an Idempotency-Key on a POST that answers 200 with ``model`` (API.md, Idempotency)."""
    ev = router.current_event  # scoped by path too: one key on two licences or assets is two requests
    return IdempotencyStore(env().CATALOG_TABLE).run_model(
        f"{scope}#{ev.path}", ev.headers.get(HEADER), ev.body, effect, model
    )


def authenticate(token: str) -> Principal | None:
    from functions.accounts.logic.authn import authenticate as check  # deferred: only optional routes need it

    return check(token)


def viewer(router: Router) -> Principal | None:
    """The caller of a public route, if it presents a valid key (a bad or pending key reads as the public)."""
    try:
        return optional_principal(router, authenticate)
    except Fault:
        return None


def publisher(publisher_id: str) -> PublicProfile:
    from functions.accounts.dal.reader import publisher_profile

    table = env().ACCOUNTS_TABLE
    found = publisher_profile(table, publisher_id) if table else None
    if found is None:
        raise NotFound("No such publisher.")
    return found


def publisher_name(publisher_id: str) -> str:
    """The name buyers see: the publisher's display name when it set one (issue 19), else its account name."""
    return publisher(publisher_id)["name"]


def names(publisher_ids: list[str]) -> dict[str, str]:
    """Publishers' display names for a page of public results: one batch read of accounts."""
    from functions.accounts.dal.reader import names_by_id

    table = env().ACCOUNTS_TABLE
    return names_by_id(table, publisher_ids) if table and publisher_ids else {}


def named(offers: list[OfferOut]) -> list[OfferOut]:
    found = names([o.publisher_id for o in offers])
    return [o.model_copy(update={"publisher_name": found.get(o.publisher_id)}) for o in offers]


def rsl_response(body: bytes) -> Response[str]:
    return Response(200, rsl.MEDIA_TYPE, body.decode(), headers={"Cache-Control": "public, max-age=300"})


def asset_content(base: str, asset: Asset, offers: list[OfferRecord], holder: str) -> Element:
    return rsl.content_element(
        url=f"{base}/v1/assets/{asset.id}/content",
        server=f"{base}/v1/licenses",
        offers=offers,
        copyright_holder=holder,
        terms_url=f"{base}/v1/offers?asset_id={asset.id}",
        lastmod=asset.updated_at,
    )

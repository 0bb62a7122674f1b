"""Offer rules: scope ownership, pool offers by admins, retirement, public listings."""

from __future__ import annotations

from collections.abc import Callable

from functions.catalog.dal.store import CatalogStore
from functions.catalog.models.domain import Offer
from functions.catalog.models.input import CreateOfferRequest
from functions.shared.auth import Principal
from functions.shared.clock import now_iso
from functions.shared.faults import Missing, NotAllowed, RuleViolated, StateConflict
from functions.shared.ids import is_id, new_id


def create_offer(store: CatalogStore, caller: Principal, req: CreateOfferRequest) -> Offer:
    if req.pool_id is not None:
        caller.require("admin")
        if not is_id(req.pool_id, "pool") or store.get_pool(req.pool_id) is None:
            raise RuleViolated("pool_id names no pool.", code="unknown_pool")
        scope = {"type": "pool", "id": req.pool_id}
    else:
        caller.require("publisher")
        if req.asset_id is not None:
            asset = store.get_asset(req.asset_id) if is_id(req.asset_id, "ast") else None
            if asset is None or asset.publisher_id != caller.account_id:
                raise RuleViolated("asset_id is not one of your assets.", code="unknown_asset")
            if asset.status in ("withdrawn", "rejected"):
                raise StateConflict(f"The asset is {asset.status}; it cannot be offered.", code=f"asset_{asset.status}")
            scope = {"type": "asset", "id": asset.id}
        else:
            assert req.collection_id is not None
            col = store.get_collection(req.collection_id) if is_id(req.collection_id, "col") else None
            if col is None or col.publisher_id != caller.account_id:
                raise RuleViolated("collection_id is not one of your collections.", code="unknown_collection")
            scope = {"type": "collection", "id": col.id}
    offer = Offer(
        id=new_id("off"),
        publisher_id=caller.account_id,
        scope=scope,
        uses=list(req.uses),
        pricing=req.pricing.model_dump(),
        term_days=req.term_days,
        attribution_required=req.attribution_required,
        territories=req.territories,
        user_types=list(req.user_types) if req.user_types else None,
        max_licenses=req.max_licenses,
        status="active",
        created_at=now_iso(),
    )
    store.put_offer(offer)
    return offer


def get_offer(store: CatalogStore, offer_id: str) -> Offer:
    offer = store.get_offer(offer_id)
    if offer is None:
        raise Missing("No such offer.")
    return offer


def public_offers(store: CatalogStore, offers: list[Offer], viewer: Callable[[], Principal | None]) -> list[Offer]:
    """What the public routes show: an offer of an asset that is not ``available`` (pending, rejected, withdrawn)
    only to its publisher and admins (issue 17). ``viewer`` is called only when something would be hidden, so a
    public read costs one more read (the assets, in one batch) and no authentication."""
    asset_ids = list(dict.fromkeys(o.scope["id"] for o in offers if o.scope["type"] == "asset"))
    if not asset_ids:
        return offers
    found = store.batch_get_assets(asset_ids)
    hidden = {a for a in asset_ids if a not in found or found[a].status != "available"}
    if not hidden:
        return offers
    who = viewer()
    return [
        o
        for o in offers
        if not (o.scope["type"] == "asset" and o.scope["id"] in hidden)
        or (who is not None and (who.is_admin or who.account_id == o.publisher_id))
    ]


def retire_offer(store: CatalogStore, caller: Principal, offer_id: str) -> Offer:
    offer = store.get_offer(offer_id)
    if offer is None or (offer.publisher_id != caller.account_id and not caller.is_admin):
        raise Missing("No such offer.")
    if offer.scope["type"] == "pool" and not caller.is_admin:
        raise NotAllowed("Only an admin retires a pool offer.", code="insufficient_role")
    if offer.status == "retired":
        return offer
    retired = store.retire_offer(offer_id, now_iso())
    assert retired is not None
    return retired

"""Pools: collective offers for small publishers. An admin creates a pool and its offers; publishers opt assets in
(directly or by collection) and out (effective from the next monthly period, so a period's distribution is
computed over a stable membership)."""

from __future__ import annotations

from datetime import UTC, datetime

from functions.catalog.dal.store import CatalogStore
from functions.catalog.models.domain import Asset, Pool
from functions.catalog.models.input import CreatePoolRequest, PoolMembersRequest
from functions.shared import clock
from functions.shared.auth import Principal
from functions.shared.clock import iso, now_iso
from functions.shared.faults import Missing, RuleViolated, StateConflict
from functions.shared.ids import is_id, new_id


def next_period_start(now: datetime | None = None) -> str:
    n = now or clock.now()
    year, month = (n.year + 1, 1) if n.month == 12 else (n.year, n.month + 1)
    return iso(datetime(year, month, 1, tzinfo=UTC))


def create_pool(store: CatalogStore, caller: Principal, req: CreatePoolRequest) -> Pool:
    caller.require("admin")
    pool = Pool(
        id=new_id("pool"),
        name=req.name,
        description=req.description,
        created_by=caller.account_id,
        created_at=now_iso(),
    )
    store.put_pool(pool)
    return pool


def get_pool(store: CatalogStore, pool_id: str) -> tuple[Pool, int]:
    pool = store.get_pool(pool_id)
    if pool is None:
        raise Missing("No such pool.")
    now = now_iso()
    members = [m for m in store.pool_members(pool_id) if not (leaves := m["leaves_at"]) or leaves > now]
    return pool, len(members)


def add_members(store: CatalogStore, caller: Principal, pool_id: str, req: PoolMembersRequest) -> list[str]:
    caller.require("publisher")
    if store.get_pool(pool_id) is None:
        raise Missing("No such pool.")
    asset_ids = list(req.asset_ids or [])
    for col_id in req.collection_ids or []:
        col = store.get_collection(col_id) if is_id(col_id, "col") else None
        if col is None or col.publisher_id != caller.account_id:
            raise RuleViolated(f"{col_id} is not one of your collections.", code="unknown_collection")
        asset_ids += store.collection_asset_ids(col_id)
    assets = store.batch_get_assets([a for a in asset_ids if is_id(a, "ast")])
    for a in dict.fromkeys(asset_ids):
        asset = assets.get(a)
        if asset is None or asset.publisher_id != caller.account_id:
            raise RuleViolated(f"{a} is not one of your assets.", code="unknown_asset")
        if asset.status in ("withdrawn", "rejected"):
            raise StateConflict(f"{a} is {asset.status} and cannot join a pool.", code=f"asset_{asset.status}")
    joined: list[str] = []
    now = now_iso()
    for a in dict.fromkeys(asset_ids):
        asset = assets[a]
        _join(store, asset, pool_id, now)
        joined.append(a)
    return joined


def _join(store: CatalogStore, asset: Asset, pool_id: str, now: str) -> None:
    pools = list(dict.fromkeys([*asset.pool_ids, pool_id]))
    leaves = {k: v for k, v in asset.pool_leaves.items() if k != pool_id}
    updated = asset.model_copy(update={"pool_ids": pools, "pool_leaves": leaves, "updated_at": now})
    if not store.save_asset(updated, expect_status=asset.status):
        raise StateConflict("The asset changed while joining the pool; retry.", code="concurrent_update")
    store.put_member(pool_id, {"asset_id": asset.id, "publisher_id": asset.publisher_id, "joined_at": now})


def remove_member(store: CatalogStore, caller: Principal, pool_id: str, asset_id: str) -> str:
    """Opt an asset out from the next period. Returns when the opt-out takes effect."""
    asset = store.get_asset(asset_id)
    if asset is None or asset.publisher_id != caller.account_id or pool_id not in asset.pool_ids:
        raise Missing("That asset is not a member of this pool.")
    leaves_at = asset.pool_leaves.get(pool_id) or next_period_start()
    updated = asset.model_copy(
        update={"pool_leaves": {**asset.pool_leaves, pool_id: leaves_at}, "updated_at": now_iso()}
    )
    store.save_asset(updated)
    store.put_member(
        pool_id,
        {
            "asset_id": asset.id,
            "publisher_id": asset.publisher_id,
            "joined_at": asset.updated_at,
            "leaves_at": leaves_at,
        },
    )
    return leaves_at

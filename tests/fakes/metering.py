"""``FakePoolLedger``: the part of ``functions.metering.dal.store.MeteringStore`` a pool distribution uses
(``functions.metering.logic.jobs.distribute`` and the ``pool_distributions`` job), in memory.

Contracts kept from the DynamoDB store: a distribution is written once per pool and period, together with the pool's
open carries, only if the carries are still at the version it was computed from (``save_distribution`` answers False
otherwise, as the conditional transaction does); each posting of a distribution is booked once (a marker per pool,
period, currency and account), so a second ``apply_distribution`` completes a crashed run and changes nothing after a
complete one. Invariants checked on every call: a distribution's postings sum to zero per currency, its shares plus
what it carries forward equal its net revenue plus what it carried in, and nothing is distributed from an open
period. Reads return copies, so a caller cannot change the state except through the methods."""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable
from typing import Any


class FakePoolLedger:
    def __init__(self) -> None:
        self.closed: dict[str, dict[str, Any]] = {}
        self.revenue: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        self.uses: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        self.carries: dict[str, tuple[int, list[dict[str, Any]]]] = {}
        self.distributions: dict[tuple[str, str], dict[str, Any]] = {}
        self.markers: set[tuple[str, str, str, str]] = set()
        self.balances: dict[tuple[str, str], int] = defaultdict(int)
        self.saves: list[bool] = []  # the answer of each save_distribution
        self.before_save: list[Callable[[], None]] = []  # one-shot hooks: a concurrent writer between read and write
        self.fail_apply: int = 0  # the next n apply_distribution calls crash after booking their first posting

    # ---------------------------------------------------------------- arranging (tests)
    def close(self, period: str) -> None:
        self.closed[period] = {"period": period, "closed_at": f"{period}-28T00:00:00Z"}

    def earn(self, pool_id: str, period: str, license_id: str, currency: str, usage: int = 0, charge: int = 0) -> None:
        assert period not in self.closed, "revenue is booked in an open period"
        self.revenue[(pool_id, period)].append(
            {"license_id": license_id, "currency": currency, "usage_net_micros": usage, "charge_net_micros": charge}
        )

    def use(
        self, pool_id: str, period: str, license_id: str, asset_id: str, publisher_id: str, currency: str,
        charged: int = 0, accesses: int = 1,
    ) -> None:  # fmt: skip
        assert period not in self.closed, "use is booked in an open period"
        rows = self.uses[(pool_id, period)]
        assert all((r["license_id"], r["asset_id"]) != (license_id, asset_id) for r in rows), "one U# row per pair"
        rows.append(
            {
                "license_id": license_id,
                "asset_id": asset_id,
                "publisher_id": publisher_id,
                "currency": currency,
                "charged_micros": charged,
                "accesses": accesses,
            }
        )

    # ---------------------------------------------------------------- the store's methods
    def period(self, period: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.closed.get(period))

    def pools(self) -> list[str]:
        return sorted({pool for pool, _ in self.revenue} | {pool for pool, _ in self.uses} | set(self.carries))

    def pool_revenue(self, pool_id: str, period: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return copy.deepcopy(self.revenue[(pool_id, period)]), copy.deepcopy(self.uses[(pool_id, period)])

    def carry_state(self, pool_id: str) -> tuple[int, list[dict[str, Any]]]:
        version, open_ = self.carries.get(pool_id, (0, []))
        return version, copy.deepcopy(open_)

    def distribution(self, pool_id: str, period: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.distributions.get((pool_id, period)))

    def save_distribution(self, record: dict[str, Any], carries: list[dict[str, Any]], version: int) -> bool:
        while self.before_save:
            self.before_save.pop(0)()
        pool_id, period = record["pool_id"], record["period"]
        assert period in self.closed, "only a closed period is distributed"
        for cur in record["currencies"]:
            assert sum(p["amount_micros"] for p in cur["postings"]) == 0, "postings do not balance"
            assert (
                cur["shares_micros"] + cur["carried_forward_micros"]
                == cur["net_revenue_micros"] + cur["carried_in_micros"]
            ), "the split lost or made up money"
        ok = (pool_id, period) not in self.distributions and self.carries.get(pool_id, (0, []))[0] == version
        if ok:
            self.distributions[(pool_id, period)] = copy.deepcopy(record)
            self.carries[pool_id] = (version + 1, copy.deepcopy(carries))
        self.saves.append(ok)
        return ok

    def apply_distribution(self, record: dict[str, Any]) -> None:
        pool_id, period = record["pool_id"], record["period"]
        assert self.distributions.get((pool_id, period)) == record, "only the saved distribution is booked"
        for cur in record["currencies"]:
            for p in cur["postings"]:
                marker = (pool_id, period, cur["currency"], p["account"])
                if marker in self.markers:
                    continue
                self.markers.add(marker)
                self.balances[(p["account"], cur["currency"])] += p["amount_micros"]
                if self.fail_apply:
                    self.fail_apply -= 1
                    raise RuntimeError("crashed while booking")

    def attributed(self, pool_id: str, currency: str, periods: list[str]) -> dict[str, tuple[str, int]]:
        out: dict[str, tuple[str, int]] = {}
        for period in periods:
            for cur in (self.distributions.get((pool_id, period)) or {}).get("currencies", []):
                if cur["currency"] == currency:
                    for m in cur["members"]:
                        publisher, before = out.get(m["asset_id"], (m["publisher_id"], 0))
                        out[m["asset_id"]] = (publisher, before + int(m["attributed_micros"]))
        return out

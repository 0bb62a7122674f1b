"""API v1.1 "Reported units are priced units" and "Budget caps are hard" for reported usage, through
``POST /v1/usage`` and the metering consumer: only ``per_unit`` licences take reported units (others:
``not_unit_priced``); ``duplicates`` is exact at the time of the request, also between concurrent requests (real
threads, each its own warm instance of the metering API: tests/integration/instances.py); a capped licence's events
are reserved at the request, so what is accepted never passes the cap, and what is rejected ``budget_exhausted``
would have.

v1 let a buyer report free units on per-access, flat and free licences, answered ``duplicates: 0`` for an immediate
resend, and accepted one event of 10^9 units (USD 1,000,000) on a licence capped at USD 0.005 (issue 13).
"""

from __future__ import annotations

from typing import Any

import pytest

from functions.licensing.dal.budget import DynamoBudgetStore
from functions.shared.clock import now_iso
from tests.integration.conftest import books, meter
from tests.integration.instances import flatten, in_threads, rounds


def event(event_id: str, lic: dict[str, Any], asset_id: str, units: int = 1) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "license_id": lic["id"],
        "asset_id": asset_id,
        "use": lic["use"],
        "units": units,
        "occurred_at": now_iso(),
    }


def per_unit_licence(market: dict[str, Any], price: int, cap: int | None = None) -> dict[str, Any]:
    offer = market["offer"](uses=["ai-train"], pricing={"model": "per_unit", "amount_micros": price, "unit": "page"})
    body: dict[str, Any] = {"offer_id": offer["id"], "use": "ai-train"}
    if cap is not None:
        body["budget_cap_micros"] = cap
    r = market["buyer"].post("/v1/licenses", body)
    assert r.status == 201, r.body
    return dict(r.json["license"])


@pytest.mark.parametrize(
    "pricing",
    [
        {"model": "per_access", "amount_micros": 10_000},
        {"model": "flat", "amount_micros": 1_000_000},
        {"model": "free"},
        {"model": "subscription", "amount_micros": 1_000_000, "period_days": 30},
    ],
    ids=lambda p: p["model"],
)
def test_units_on_a_licence_not_priced_per_unit_are_rejected(
    aws: dict[str, str], gw: Any, market: dict[str, Any], pricing: dict[str, Any]
) -> None:
    buyer, asset = market["buyer"], market["asset"]
    offer = market["offer"](uses=["ai-input"], pricing=pricing)
    lic = buyer.post("/v1/licenses", {"offer_id": offer["id"], "use": "ai-input"}).json["license"]
    meter(aws, gw)
    spent = buyer.get(f"/v1/licenses/{lic['id']}").json["spent_micros"]
    r = buyer.post("/v1/usage", {"events": [event("free-units", lic, asset["id"], units=1_000_000)]})
    assert r.status == 202
    assert r.json == {
        "accepted": 0,
        "duplicates": 0,
        "rejected": [{"event_id": "free-units", "code": "not_unit_priced"}],
    }
    assert meter(aws, gw) == 0  # nothing was queued
    usage = buyer.get("/v1/usage", params={"group_by": "license"}).json["items"]
    assert all(u["units"] == 0 for u in usage if u["key"] == lic["id"])
    assert buyer.get(f"/v1/licenses/{lic['id']}").json["spent_micros"] == spent


def test_one_event_of_a_billion_units_on_a_licence_capped_at_5000_micros_is_rejected(
    aws: dict[str, str], gw: Any, admin: Any, market: dict[str, Any]
) -> None:
    buyer, asset = market["buyer"], market["asset"]
    lic = per_unit_licence(market, 1_000, cap=5_000)  # USD 0.001 a page, at most USD 0.005
    r = buyer.post("/v1/usage", {"events": [event("huge", lic, asset["id"], units=10**9)]})
    assert r.json == {"accepted": 0, "duplicates": 0, "rejected": [{"event_id": "huge", "code": "budget_exhausted"}]}
    # What fits is accepted, in order, and nothing past the cap
    r = buyer.post(
        "/v1/usage",
        {
            "events": [
                event("three", lic, asset["id"], 3),
                event("three-more", lic, asset["id"], 3),
                event("two", lic, asset["id"], 2),
            ]
        },
    )
    assert r.json == {
        "accepted": 2,
        "duplicates": 0,
        "rejected": [{"event_id": "three-more", "code": "budget_exhausted"}],
    }
    meter(aws, gw)
    assert books(admin, lic["id"], buyer, market["buyer_acct"]["id"]) == {
        "spent": 5_000,
        "remaining": 0,
        "balance": -5_000,
    }
    # A rejected event was not recorded: reported again once the cap is raised, it is accepted
    assert buyer.patch(f"/v1/licenses/{lic['id']}", {"budget_cap_micros": 8_000}).status == 200
    r = buyer.post("/v1/usage", {"events": [event("three-more", lic, asset["id"], 3)]})
    assert r.json == {"accepted": 1, "duplicates": 0, "rejected": []}
    meter(aws, gw)
    assert buyer.get(f"/v1/licenses/{lic['id']}").json["spent_micros"] == 8_000


def test_parallel_reports_on_a_capped_licence_accept_exactly_what_fits(
    aws: dict[str, str], gw: Any, admin: Any, market: dict[str, Any], instances: Any
) -> None:
    # Given a per-unit licence at 1,000 micros a page capped at 50,000, and events of 3 pages (3,000 micros each)
    buyer, asset = market["buyer"], market["asset"]
    lic = per_unit_licence(market, 1_000, cap=50_000)
    clients = instances(buyer.key, 8)

    def job(n: int, client: Any) -> Any:
        def run() -> list[Any]:
            return [
                client.post("/v1/usage", {"events": [event(f"t{n}-b{b}-{i}", lic, asset["id"], 3) for i in range(2)]})
                for b in range(3)
            ]

        return run

    # When 8 instances report 3 batches of 2 events each, all at once (48 events, 144,000 micros asked)
    results = list(flatten(in_threads([job(n, c) for n, c in enumerate(clients)])))
    # Then exactly the 16 events that fit are accepted, the others rejected budget_exhausted, none duplicate
    assert {r.status for r in results} == {202}
    assert sum(r.json["accepted"] for r in results) == 50_000 // 3_000
    assert sum(r.json["duplicates"] for r in results) == 0
    rejected = [x for r in results for x in r.json["rejected"]]
    assert len(rejected) == 48 - 16 and {x["code"] for x in rejected} == {"budget_exhausted"}
    budget = DynamoBudgetStore(aws["LICENSING_TABLE"]).get(lic["id"])
    assert budget is not None and budget.reserved == 48_000 <= budget.cap
    # And, metered, the licence and the buyer's ledger show exactly that
    meter(aws, gw)
    assert books(admin, lic["id"], buyer, market["buyer_acct"]["id"]) == {
        "spent": 48_000,
        "remaining": 2_000,
        "balance": -48_000,
    }


def test_an_immediate_resend_is_a_duplicate_before_metering_runs(
    aws: dict[str, str], gw: Any, market: dict[str, Any]
) -> None:
    buyer, asset = market["buyer"], market["asset"]
    lic = per_unit_licence(market, 10)
    events = [event("a", lic, asset["id"], 5), event("b", lic, asset["id"], 7)]
    assert buyer.post("/v1/usage", {"events": events}).json == {"accepted": 2, "duplicates": 0, "rejected": []}
    assert buyer.post("/v1/usage", {"events": events}).json == {"accepted": 0, "duplicates": 2, "rejected": []}
    mixed = [events[0], event("c", lic, asset["id"], 1), event("c", lic, asset["id"], 1)]
    assert buyer.post("/v1/usage", {"events": mixed}).json == {"accepted": 1, "duplicates": 2, "rejected": []}
    meter(aws, gw)
    assert buyer.post("/v1/usage", {"events": events}).json == {"accepted": 0, "duplicates": 2, "rejected": []}
    assert buyer.get(f"/v1/licenses/{lic['id']}").json["spent_micros"] == (5 + 7 + 1) * 10
    # event ids are the buyer's: another buyer's "a" is its own event
    other = market["other"].post("/v1/licenses", {"offer_id": lic["offer_id"], "use": "ai-train"}).json["license"]
    assert market["other"].post("/v1/usage", {"events": [event("a", other, asset["id"])]}).json["accepted"] == 1


@pytest.mark.parametrize("capped", [False, True], ids=["uncapped", "capped"])
def test_concurrent_resends_are_accepted_exactly_once(
    aws: dict[str, str], gw: Any, admin: Any, market: dict[str, Any], instances: Any, capped: bool
) -> None:
    # Given 8 instances sending the same 5 events at once, twice each (a retrying client)
    buyer, asset = market["buyer"], market["asset"]
    lic = per_unit_licence(market, 100, cap=100_000 if capped else None)
    events = [event(f"same-{i}", lic, asset["id"], 10) for i in range(5)]
    results = list(
        flatten(
            in_threads(
                [rounds(2, lambda c=c: c.post("/v1/usage", {"events": events})) for c in instances(buyer.key, 8)]
            )
        )
    )
    # Then each event is accepted by exactly one request and a duplicate in every other
    assert {r.status for r in results} == {202}
    assert sum(r.json["accepted"] for r in results) == 5
    assert sum(r.json["duplicates"] for r in results) == 16 * 5 - 5
    assert all(r.json["rejected"] == [] for r in results)
    if capped:
        budget = DynamoBudgetStore(aws["LICENSING_TABLE"]).get(lic["id"])
        assert budget is not None and budget.reserved == 5 * 10 * 100  # reserved once per accepted event
    meter(aws, gw)
    got = books(admin, lic["id"], buyer, market["buyer_acct"]["id"])
    assert (got["spent"], got["balance"]) == (5_000, -5_000)

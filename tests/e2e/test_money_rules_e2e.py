"""API v1.1's per-licence money rules over the public HTTP API of ``make run`` (issue 13): a budget cap holds under
parallel requests (real threads, real HTTP), crawler price headers bind the charge, a revoked licence answers 403,
reported units need a per-unit licence and duplicates count at request time, and PATCH moves a cap. What is charged
is read as a buyer reads it (``spent_micros``) and as the books do (the buyer's balance), once metering settles.

(The same rules, with the races and lease expiry driven through the handlers in-process:
tests/integration/licensing/test_budget_caps.py, test_price_headers.py, test_only_active.py and
tests/integration/metering/test_reported_units.py.)
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.e2e.helpers import eventually, publish

PRICE = 20_000


@pytest.fixture
def shop(local_stack: dict[str, Any], new_account: Any, http_admin: Any) -> dict[str, Any]:
    """A publisher's asset with per-access (USD 0.02 and USD 1.00), flat (USD 2.00) and per-unit offers; a buyer."""
    pub, _ = new_account("publisher")
    buyer, buyer_acct = new_account("buyer")
    title = f"Tide tables {uuid.uuid4().hex[:8]}"
    asset = publish(pub, f"{title}: high water at 06:12.", title=title)

    def offer(uses: list[str], **pricing: Any) -> str:
        got = pub.post("/v1/offers", json={"asset_id": asset["id"], "uses": uses, "pricing": pricing})
        assert got.status_code == 201, got.text
        return str(got.json()["id"])

    return {
        "pub": pub,
        "buyer": buyer,
        "buyer_id": buyer_acct["id"],
        "admin": http_admin,
        "asset": asset["id"],
        "per_access": offer(["search", "ai-input"], model="per_access", amount_micros=PRICE),
        "dear": offer(["ai-input"], model="per_access", amount_micros=1_000_000),
        "flat": offer(["ai-train"], model="flat", amount_micros=2_000_000),
        "per_unit": offer(["ai-index"], model="per_unit", amount_micros=1_000, unit="page"),
    }


def fetch(client: Any, asset: str, use: str, **kw: Any) -> Any:
    headers = kw.pop("headers", None)
    return client.get(f"/v1/assets/{asset}/content", params={"use": use, **kw}, headers=headers)


def buy(shop: dict[str, Any], offer: str, use: str, cap: int | None = None) -> Any:
    body: dict[str, Any] = {"offer_id": shop[offer], "use": use}
    if cap is not None:
        body["budget_cap_micros"] = cap
    return shop["buyer"].post("/v1/licenses", json=body)


def settled_spend(shop: dict[str, Any], license_id: str, spent: int) -> dict[str, Any]:
    """The licence once metering booked ``spent`` (the local dispatcher drains the queue continuously)."""
    got = eventually(
        lambda: (lic := shop["buyer"].get(f"/v1/licenses/{license_id}").json())["spent_micros"] == spent and lic
    )
    assert got, shop["buyer"].get(f"/v1/licenses/{license_id}").json()
    return dict(got)


def balance(shop: dict[str, Any]) -> int:
    got = shop["admin"].get("/v1/balance", params={"account_id": shop["buyer_id"]})
    return int(got.json()["balance_micros"])


def test_a_cap_holds_under_parallel_requests_and_patch_moves_it(shop: dict[str, Any]) -> None:
    buyer, asset = shop["buyer"], shop["asset"]
    # A flat offer above the cap is refused before anything is charged
    r = buy(shop, "flat", "ai-train", cap=1_999_999)
    assert r.status_code == 422 and r.json()["code"] == "budget_below_price"
    # Given a per-access licence capped at three accesses and a half
    cap = 3 * PRICE + PRICE // 2
    lic = buy(shop, "per_access", "search", cap=cap).json()["license"]

    def crawl(_: int) -> list[int]:
        return [fetch(buyer.as_(buyer.key), asset, "search", license_id=lic["id"]).status_code for _ in range(3)]

    # When 8 crawlers fetch 3 times each, at once, over HTTP
    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = [c for got in pool.map(crawl, range(8)) for c in got]
    # Then exactly three were delivered, and exactly three charged
    assert sorted(codes) == [200] * 3 + [403] * 21
    got = settled_spend(shop, lic["id"], 3 * PRICE)
    assert got["remaining_micros"] == cap - 3 * PRICE
    assert eventually(lambda: balance(shop) == -3 * PRICE), balance(shop)
    r = fetch(buyer, asset, "search")
    assert r.status_code == 403 and r.json()["code"] == "budget_exhausted"
    # PATCH: never below what was spent; not into what a live lease holds; raised, deliveries resume
    path = f"/v1/licenses/{lic['id']}"
    below = buyer.patch(path, json={"budget_cap_micros": 3 * PRICE - 1})
    assert below.status_code == 422 and below.json()["code"] == "cap_below_spent"
    raised = buyer.patch(path, json={"budget_cap_micros": 10 * PRICE})
    assert raised.status_code == 200 and raised.json()["remaining_micros"] == 7 * PRICE
    assert fetch(buyer, asset, "search", license_id=lic["id"]).status_code == 200  # a lease of 4 accesses now
    held = buyer.patch(path, json={"budget_cap_micros": 5 * PRICE})
    assert held.status_code == 409 and held.json()["code"] == "budget_reserved" and held.headers["Retry-After"]
    lowered = buyer.patch(path, json={"budget_cap_micros": 9 * PRICE})
    assert lowered.status_code == 200 and lowered.json()["budget_cap_micros"] == 9 * PRICE
    settled_spend(shop, lic["id"], 4 * PRICE)


def test_price_headers_bind_the_charge_and_a_revoked_licence_answers_403(shop: dict[str, Any]) -> None:
    buyer, pub, asset = shop["buyer"], shop["pub"], shop["asset"]
    dear = buy(shop, "dear", "ai-input").json()["license"]
    # Nothing within USD 0.01: 402 naming the price that is
    r = fetch(buyer, asset, "ai-input", headers={"crawler-max-price": "USD 0.010000"})
    assert r.status_code == 402 and r.headers["crawler-price"] == "USD 0.020000"
    # Holding a USD 1.00 licence, a crawler paying at most USD 0.02 gets a pay-per-crawl licence at USD 0.02
    r = fetch(buyer, asset, "ai-input", headers={"crawler-max-price": "USD 0.020000"})
    assert r.status_code == 200 and r.json()["license_id"] != dear["id"]
    assert r.headers["crawler-charged"] == "USD 0.020000"
    ppc = r.json()["license_id"]
    r = fetch(buyer, asset, "ai-input", headers={"crawler-exact-price": "USD 0.020000"})
    assert r.status_code == 200 and r.json()["license_id"] == ppc
    named = fetch(buyer, asset, "ai-input", license_id=dear["id"], headers={"crawler-max-price": "USD 0.020000"})
    assert named.status_code == 402
    settled_spend(shop, ppc, 2 * PRICE)
    assert shop["buyer"].get(f"/v1/licenses/{dear['id']}").json()["spent_micros"] == 0
    # The publisher revokes the pay-per-crawl licence: never replaced, 403 license_revoked
    assert pub.post(f"/v1/licenses/{ppc}/revoke", json={"reason": "no crawling"}).status_code == 200
    for headers in ({"crawler-max-price": "USD 0.020000"}, {"crawler-exact-price": "USD 0.020000"}):
        r = fetch(buyer, asset, "ai-input", headers=headers)
        assert r.status_code == 403 and r.json()["code"] == "license_revoked" and "license_id" not in r.json()
    r = fetch(buyer, asset, "ai-input", license_id=ppc)
    assert r.status_code == 403 and r.json()["code"] == "license_revoked"
    # Without a price header, when the buyer's only licence for a use was revoked: 403 with its code, not 402
    search = buy(shop, "per_access", "search").json()["license"]
    assert pub.post(f"/v1/licenses/{search['id']}/revoke", json={"reason": "stop"}).status_code == 200
    r = fetch(buyer, asset, "search")
    assert r.status_code == 403 and r.json()["code"] == "license_revoked" and "license_id" not in r.json()
    assert {x["id"] for x in buyer.get("/v1/licenses").json()["items"]} == {dear["id"], ppc, search["id"]}
    assert eventually(lambda: balance(shop) == -2 * PRICE), balance(shop)


def test_reported_units_are_priced_units_capped_and_duplicates_count_at_once(shop: dict[str, Any]) -> None:
    buyer, asset = shop["buyer"], shop["asset"]
    per_access = buy(shop, "per_access", "search").json()["license"]
    per_unit = buy(shop, "per_unit", "ai-index", cap=5_000).json()["license"]
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

    def ev(event_id: str, lic: dict[str, Any], units: int) -> dict[str, Any]:
        return {
            "event_id": event_id,
            "license_id": lic["id"],
            "asset_id": asset,
            "use": lic["use"],
            "units": units,
            "occurred_at": now,
        }

    r = buyer.post("/v1/usage", json={"events": [ev("pa", per_access, 10), ev("huge", per_unit, 10**9)]})
    assert r.status_code == 202
    assert sorted((x["event_id"], x["code"]) for x in r.json()["rejected"]) == [
        ("huge", "budget_exhausted"),
        ("pa", "not_unit_priced"),
    ]
    # The same events from 6 clients at once: each accepted once; what passes the cap is rejected
    events = [ev(f"p{i}", per_unit, 2) for i in range(3)]  # 2,000 micros each: two fit in 5,000

    def send(_: int) -> dict[str, Any]:
        return dict(buyer.as_(buyer.key).post("/v1/usage", json={"events": events}).json())

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(send, range(6)))
    assert sum(a["accepted"] for a in answers) == 2
    # the third event is rejected (not recorded) wherever it was tried, and counted a duplicate nowhere
    assert sum(a["duplicates"] for a in answers) == 6 * 3 - 2 - sum(len(a["rejected"]) for a in answers)
    assert {x["event_id"] for a in answers for x in a["rejected"]} == {"p2"}
    again = buyer.post("/v1/usage", json={"events": events[:2]}).json()
    assert again == {"accepted": 0, "duplicates": 2, "rejected": []}
    got = settled_spend(shop, per_unit["id"], 4_000)
    assert got["remaining_micros"] == 1_000


def test_a_closed_period_never_changes_and_totals_are_one_per_currency(
    http: Any, new_account: Any, http_admin: Any
) -> None:
    """Issue 14 over HTTP: a past month (the clock moved back) with USD and EUR revenue, closed on demand; usage dated
    in it and reported after the close goes to the open month, and the closed statement keeps its body and hash."""
    from tests.e2e.helpers import months_back, set_clock

    period, offset = months_back(5)
    set_clock(http, offset)
    try:
        pub, _ = new_account("publisher")
        buyer, _ = new_account("buyer")
        asset = publish(pub, f"Harbour log {uuid.uuid4().hex[:8]}")

        def offer(uses: list[str], **pricing: Any) -> str:
            got = pub.post("/v1/offers", json={"asset_id": asset["id"], "uses": uses, "pricing": pricing})
            assert got.status_code == 201, got.text
            return str(got.json()["id"])

        per_unit = offer(["ai-index"], model="per_unit", amount_micros=1_000, unit="page")
        flat_eur = offer(["ai-train"], model="flat", amount_micros=3_000_000, currency="EUR")
        lic = buyer.post("/v1/licenses", json={"offer_id": per_unit, "use": "ai-index"}).json()["license"]
        assert buyer.post("/v1/licenses", json={"offer_id": flat_eur, "use": "ai-train"}).status_code == 201
        at = lic["starts_at"]
        ev = {"license_id": lic["id"], "asset_id": asset["id"], "use": "ai-index", "occurred_at": at}
        assert buyer.post("/v1/usage", json={"events": [{**ev, "event_id": "a", "units": 10}]}).status_code == 202

        def both_currencies() -> Any:
            st = buyer.get(f"/v1/statements/{period}").json()
            got = [(t["currency"], t["gross_micros"]) for t in st["totals"]]
            return st if got == [("EUR", 3_000_000), ("USD", 10_000)] else None

        assert eventually(both_currencies), buyer.get(f"/v1/statements/{period}").json()
        set_clock(http, months_back(4)[1])
        closed = http_admin.post(f"/v1/periods/{period}/close")
        assert closed.status_code == 200, closed.text
        st = buyer.get(f"/v1/statements/{period}").json()
        assert st["status"] == "closed" and st["closed_at"] == closed.json()["closed_at"] and len(st["sha256"]) == 64
        csv_rows = buyer.get(f"/v1/statements/{period}", headers={"accept": "text/csv"}).text.splitlines()
        assert sorted(r.split(",")[10] for r in csv_rows if ",TOTAL," in r) == ["EUR", "USD"]
        # Reported after the close, dated in the closed month: accepted, booked in the open month
        late = buyer.post("/v1/usage", json={"events": [{**ev, "event_id": "b", "units": 90}]})
        assert late.status_code == 202 and late.json()["accepted"] == 1
        open_period = months_back(4)[0]

        def booked_in_open() -> bool:
            now_st = buyer.get(f"/v1/statements/{open_period}").json()
            return [(t["currency"], t["gross_micros"]) for t in now_st["totals"]] == [("USD", 90_000)]

        assert eventually(booked_in_open)
        assert buyer.get(f"/v1/statements/{period}").json() == st  # same lines, totals, id and hash
    finally:
        set_clock(http, 0)

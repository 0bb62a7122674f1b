"""API v1.1 "Only active licences deliver", through the delivery handler: pay per crawl never reuses a licence that is
not active; with a crawler price header a cancelled or expired pay-per-crawl licence is replaced by a fresh one (the
pointer moves), a revoked one never is (``403 license_revoked``, nothing granted, nothing charged); without a price
header, when the buyer's only licences here are revoked, cancelled, lapsed or expired, ``403`` with that licence's
code and no ``license_id``.

v1 kept delivering and charging on a revoked pay-per-crawl licence when the crawler sent ``crawler-max-price``, and
answered ``402`` (pay again) for a revoked licence that was not named (issue 13).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from functions.shared.clock import iso
from functions.shared.clock import now as real_now
from tests.integration.conftest import meter, queue_messages
from tests.integration.licensing.test_price_headers import charged_by_licence, ppc_pointer

MAX = ("crawler-max-price", "USD 0.020000")


def content(client: Any, asset_id: str, *, header: tuple[str, str] | None = None, **params: Any) -> Any:
    headers = {header[0]: header[1]} if header else None
    return client.get(f"/v1/assets/{asset_id}/content", params=params, headers=headers)


def first_crawl(market: dict[str, Any], use: str = "search") -> str:
    r = content(market["buyer"], market["asset"]["id"], use=use, header=MAX)
    assert r.status == 200, r.body
    return str(r.json["license_id"])


def test_a_revoked_pay_per_crawl_licence_is_never_replaced_nor_charged(
    aws: dict[str, str], gw: Any, market: dict[str, Any]
) -> None:
    buyer, pub, asset, buyer_id = market["buyer"], market["pub"], market["asset"], market["buyer_acct"]["id"]
    ppc = first_crawl(market)
    meter(aws, gw)
    assert pub.post(f"/v1/licenses/{ppc}/revoke", {"reason": "no more crawling"}).status == 200
    for header in (MAX, ("crawler-exact-price", "USD 0.010000"), None):
        r = content(buyer, asset["id"], use="search", header=header)
        assert r.status == 403 and r.json["code"] == "license_revoked", (header, r.body)
        assert "license_id" not in r.json
    r = content(buyer, asset["id"], use="search", license_id=ppc, header=MAX)
    assert r.status == 403 and r.json["code"] == "license_revoked"
    # nothing granted, the pointer unmoved, nothing sent to metering, nothing charged beyond the first crawl
    assert [x["id"] for x in buyer.get("/v1/licenses").json["items"]] == [ppc]
    assert ppc_pointer(aws, buyer_id, market["per_access"]["id"]) == ppc
    assert queue_messages(aws) == []
    assert charged_by_licence(aws, buyer_id) == {ppc: 10_000}


def test_a_cancelled_pay_per_crawl_licence_is_replaced_by_a_fresh_one(
    aws: dict[str, str], gw: Any, market: dict[str, Any]
) -> None:
    buyer, asset, buyer_id = market["buyer"], market["asset"], market["buyer_acct"]["id"]
    old = first_crawl(market)
    assert buyer.post(f"/v1/licenses/{old}/cancel").json["status"] == "cancelled"
    # Without a price header the cancelled licence is the buyer's only one here: 403 license_cancelled
    r = content(buyer, asset["id"], use="search")
    assert r.status == 403 and r.json["code"] == "license_cancelled" and "license_id" not in r.json
    # With one: a fresh licence (200), the pointer moved to it, reused after
    fresh = content(buyer, asset["id"], use="search", header=MAX)
    assert fresh.status == 200 and fresh.json["license_id"] != old
    new = fresh.json["license_id"]
    assert ppc_pointer(aws, buyer_id, market["per_access"]["id"]) == new
    assert content(buyer, asset["id"], use="search", header=MAX).json["license_id"] == new
    assert content(buyer, asset["id"], use="search").json["license_id"] == new  # the active one now delivers
    statuses = {x["id"]: x["status"] for x in buyer.get("/v1/licenses").json["items"]}
    assert statuses == {old: "cancelled", new: "active"}
    meter(aws, gw)
    assert charged_by_licence(aws, buyer_id) == {old: 10_000, new: 30_000}


def test_an_expired_pay_per_crawl_licence_is_replaced_and_without_a_header_is_403_expired(
    aws: dict[str, str], gw: Any, market: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.licensing.handlers import delivery
    from functions.licensing.logic import licenses

    buyer, asset, buyer_id = market["buyer"], market["asset"], market["buyer_acct"]["id"]
    day_offer = market["offer"](
        uses=["ai-index"], pricing={"model": "per_access", "amount_micros": 10_000}, term_days=1
    )
    old = first_crawl(market, "ai-index")
    # Two days later (the delivery's clock and the grant's)
    later = real_now() + timedelta(days=2)
    monkeypatch.setattr(delivery, "_now", lambda: iso(later))
    monkeypatch.setattr(licenses, "now", lambda: later)
    r = content(buyer, asset["id"], use="ai-index", license_id=old)
    assert r.status == 403 and r.json["code"] == "license_expired"
    r = content(buyer, asset["id"], use="ai-index")
    assert r.status == 403 and r.json["code"] == "license_expired" and "license_id" not in r.json
    fresh = content(buyer, asset["id"], use="ai-index", header=MAX)
    assert fresh.status == 200 and fresh.json["license_id"] != old
    assert ppc_pointer(aws, buyer_id, day_offer["id"]) == fresh.json["license_id"]
    again = content(buyer, asset["id"], use="ai-index", header=MAX)
    assert again.json["license_id"] == fresh.json["license_id"]
    meter(aws, gw)
    assert charged_by_licence(aws, buyer_id) == {old: 10_000, fresh.json["license_id"]: 20_000}


@pytest.mark.parametrize("end", ["revoked", "cancelled", "expired", "lapsed"])
def test_without_a_price_header_the_ended_licence_answers_403_with_its_code(
    aws: dict[str, str], gw: Any, market: dict[str, Any], monkeypatch: pytest.MonkeyPatch, end: str
) -> None:
    from functions.licensing.handlers import delivery

    buyer, pub, asset = market["buyer"], market["pub"], market["asset"]
    if end == "lapsed":
        offer = market["offer"](
            uses=["ai-index"], pricing={"model": "subscription", "amount_micros": 1_000, "period_days": 30}
        )
        lic = buyer.post("/v1/licenses", {"offer_id": offer["id"], "use": "ai-index", "budget_cap_micros": 1_000})
        lic_id = lic.json["license"]["id"]
        from functions.licensing.dal.store import LicensingStore
        from functions.licensing.handlers.consumer import lapse

        assert lapse(LicensingStore(aws["LICENSING_TABLE"]), lic_id)  # as the renewal job's message does
    else:
        offer = market["offer"](
            uses=["ai-index"], pricing={"model": "per_access", "amount_micros": 10_000}, term_days=1
        )
        lic_id = buyer.post("/v1/licenses", {"offer_id": offer["id"], "use": "ai-index"}).json["license"]["id"]
        if end == "revoked":
            pub.post(f"/v1/licenses/{lic_id}/revoke", {"reason": "stop"})
        elif end == "cancelled":
            buyer.post(f"/v1/licenses/{lic_id}/cancel")
        else:
            monkeypatch.setattr(delivery, "_now", lambda: iso(real_now() + timedelta(days=2)))
    queue_messages(aws)
    for params in ({}, {"license_id": lic_id}):
        r = content(buyer, asset["id"], use="ai-index", **params)
        assert r.status == 403 and r.json["code"] == f"license_{end}", r.body
        assert "license_id" not in r.json
    assert queue_messages(aws) == []  # nothing delivered, nothing metered


def test_an_exhausted_active_licence_is_named_before_an_older_revoked_one(
    aws: dict[str, str], market: dict[str, Any]
) -> None:
    """The buyer holds an active licence whose cap is spent and a revoked one for the same asset and use: the answer
    is the active licence's ``budget_exhausted`` (raise the cap), not ``license_revoked`` (take a new licence)."""
    buyer, pub, asset = market["buyer"], market["pub"], market["asset"]
    old = buyer.post("/v1/licenses", {"offer_id": market["per_access"]["id"], "use": "search"}).json["license"]
    pub.post(f"/v1/licenses/{old['id']}/revoke", {"reason": "re-licence with a cap"})
    capped = buyer.post(
        "/v1/licenses", {"offer_id": market["per_access"]["id"], "use": "search", "budget_cap_micros": 10_000}
    ).json["license"]
    assert content(buyer, asset["id"], use="search").json["license_id"] == capped["id"]
    r = content(buyer, asset["id"], use="search")
    assert r.status == 403 and r.json["code"] == "budget_exhausted", r.body

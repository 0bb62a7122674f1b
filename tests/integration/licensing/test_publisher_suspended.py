"""A suspended publisher's offers grant no new licence (API v1.1, issue 19): 409 ``publisher_suspended`` on
``POST /v1/licenses``, on pay per crawl and where a 402 would offer its offers; existing licences keep their terms;
reinstating the publisher sells again."""

from __future__ import annotations

from typing import Any

from tests.integration.licensing.test_delivery import content


def test_suspended_publisher_grants_nothing_new_and_existing_licences_keep_working(
    admin: Any, market: dict[str, Any]
) -> None:
    buyer, other, asset = market["buyer"], market["other"], market["asset"]
    pub_id = market["pub_acct"]["id"]
    # Given a licence taken before the suspension
    held = buyer.post("/v1/licenses", {"offer_id": market["per_access"]["id"], "use": "ai-input"})
    assert held.status == 201
    lic_id = held.json["license"]["id"]
    # When the operator suspends the publisher
    assert admin.post(f"/v1/accounts/{pub_id}/suspend").status == 200
    # Then no new licence: by the API, by pay per crawl, and no 402 offering its offers
    r = other.post("/v1/licenses", {"offer_id": market["flat"]["id"], "use": "ai-train"})
    assert r.status == 409 and r.json["code"] == "publisher_suspended", r.body
    assert r.content_type == "application/problem+json"
    crawl = content(other, asset["id"], use="ai-input", headers={"crawler-max-price": "USD 0.02"})
    assert crawl.status == 409 and crawl.json["code"] == "publisher_suspended"
    plain = content(other, asset["id"], use="ai-input")
    assert plain.status == 409 and plain.json["code"] == "publisher_suspended"
    assert other.get("/v1/licenses").json["items"] == []
    # and the existing licence keeps its terms: it still delivers, by name or not
    assert content(buyer, asset["id"], use="ai-input", license_id=lic_id).status == 200
    assert content(buyer, asset["id"], use="ai-input").json["license_id"] == lic_id
    assert buyer.get(f"/v1/licenses/{lic_id}").json["status"] == "active"
    # When reinstated, Then it sells again
    assert admin.post(f"/v1/accounts/{pub_id}/reinstate").status == 200
    assert content(other, asset["id"], use="ai-input").status == 402
    again = other.post("/v1/licenses", {"offer_id": market["flat"]["id"], "use": "ai-train"})
    assert again.status == 201, again.body
    assert content(other, asset["id"], use="ai-input", headers={"crawler-max-price": "USD 0.02"}).status == 200


def test_another_publishers_offers_still_sell(admin: Any, market: dict[str, Any], make_account: Any) -> None:
    # Given a second publisher with an offer, and the first one suspended
    pub2, _ = make_account("publisher")
    col = pub2.post("/v1/collections", {"title": "c"}).json["id"]
    offer = pub2.post("/v1/offers", {"collection_id": col, "uses": ["search"], "pricing": {"model": "free"}})
    assert offer.status == 201, offer.body
    assert admin.post(f"/v1/accounts/{market['pub_acct']['id']}/suspend").status == 200
    # When a buyer takes the second publisher's offer, Then it is granted
    r = market["other"].post("/v1/licenses", {"offer_id": offer.json["id"], "use": "search"})
    assert r.status == 201, r.body

"""Issue 4 end to end over HTTP: search, 402, buy, fetch, download through the presigned URL, verify the bytes."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest
import requests


@pytest.fixture(scope="module")
def listing(new_account: Any) -> dict[str, Any]:
    pub, pub_acct = new_account("publisher")
    data = f"Exclusive interview, {time.time_ns()}".encode()
    created = pub.post(
        "/v1/assets",
        json={
            "title": "Exclusive interview with the harbour master",
            "kind": "article",
            "media_type": "text/plain",
            "language": "en",
            "tags": ["interview"],
            "size_bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        },
    )
    assert created.status_code == 201, created.text
    up = created.json()["upload"]
    assert requests.put(up["url"], data=data, headers=up["headers"], timeout=30).status_code == 200
    asset_id = created.json()["asset"]["id"]
    done = pub.post(f"/v1/assets/{asset_id}/complete")
    assert done.json()["status"] == "available"
    offer = pub.post(
        "/v1/offers",
        json={"asset_id": asset_id, "uses": ["ai-input"], "pricing": {"model": "per_access", "amount_micros": 10_000}},
    )
    assert offer.status_code == 201
    return {"pub": pub, "pub_acct": pub_acct, "asset_id": asset_id, "data": data, "offer": offer.json()}


def test_search_402_buy_fetch_download_verify(http: Any, new_account: Any, listing: dict[str, Any]) -> None:
    buyer, _ = new_account("buyer")
    # Given the buyer finds the asset in the public catalogue
    found = http.get("/v1/catalog/assets", params={"q": "harbour master interview"}).json()["items"]
    item = next(a for a in found if a["id"] == listing["asset_id"])
    assert item["offers"][0]["id"] == listing["offer"]["id"]
    # When it asks for the content without a licence: 402 with the price
    r = buyer.get(f"/v1/assets/{listing['asset_id']}/content", params={"use": "ai-input"})
    assert r.status_code == 402 and r.headers["crawler-price"] == "USD 0.010000"
    assert r.json()["offers"][0]["id"] == listing["offer"]["id"]
    # And it buys a licence
    lic = buyer.post("/v1/licenses", json={"offer_id": listing["offer"]["id"], "use": "ai-input"})
    assert lic.status_code == 201
    # Then it fetches a presigned URL and downloads exactly the published bytes
    got = buyer.get(
        f"/v1/assets/{listing['asset_id']}/content",
        params={"use": "ai-input", "license_id": lic.json()["license"]["id"]},
    )
    assert got.status_code == 200 and 'rel="license"' in got.headers["link"]
    body = requests.get(got.json()["url"], timeout=30).content
    assert hashlib.sha256(body).hexdigest() == got.json()["sha256"] == hashlib.sha256(listing["data"]).hexdigest()


def test_revoked_licence_stops_delivery_at_next_request(new_account: Any, listing: dict[str, Any]) -> None:
    buyer, _ = new_account("buyer")
    lic = buyer.post("/v1/licenses", json={"offer_id": listing["offer"]["id"], "use": "ai-input"}).json()["license"]
    url = f"/v1/assets/{listing['asset_id']}/content"
    assert buyer.get(url, params={"use": "ai-input"}).status_code == 200
    assert listing["pub"].post(f"/v1/licenses/{lic['id']}/revoke", json={"reason": "unpaid"}).status_code == 200
    r = buyer.get(url, params={"use": "ai-input", "license_id": lic["id"]})
    assert r.status_code == 403 and r.json()["code"] == "license_revoked"
    # API v1.1: without license_id, the buyer's only licence here is revoked: 403 with its code, not 402 (pay again)
    r = buyer.get(url, params={"use": "ai-input"})
    assert r.status_code == 403 and r.json()["code"] == "license_revoked" and "license_id" not in r.json()


def test_another_buyer_cannot_read_or_use_the_licence(new_account: Any, listing: dict[str, Any]) -> None:
    buyer, _ = new_account("buyer")
    intruder, _ = new_account("buyer")
    lic = buyer.post("/v1/licenses", json={"offer_id": listing["offer"]["id"], "use": "ai-input"}).json()["license"]
    assert intruder.get(f"/v1/licenses/{lic['id']}").status_code == 404
    r = intruder.get(f"/v1/assets/{listing['asset_id']}/content", params={"use": "ai-input", "license_id": lic["id"]})
    assert r.status_code == 404


def test_same_idempotency_key_twice_gives_one_licence(new_account: Any, listing: dict[str, Any]) -> None:
    buyer, _ = new_account("buyer")
    body = {"offer_id": listing["offer"]["id"], "use": "ai-input"}
    a = buyer.post("/v1/licenses", json=body, headers={"Idempotency-Key": "e2e-once"})
    b = buyer.post("/v1/licenses", json=body, headers={"Idempotency-Key": "e2e-once"})
    assert a.status_code == b.status_code == 201 and a.json() == b.json()
    assert len(buyer.get("/v1/licenses").json()["items"]) == 1


def test_pay_per_crawl_over_http(new_account: Any, listing: dict[str, Any]) -> None:
    crawler, _ = new_account("buyer")
    url = f"/v1/assets/{listing['asset_id']}/content"
    r = crawler.get(url, params={"use": "ai-input"}, headers={"crawler-max-price": "USD 0.05"})
    assert r.status_code == 200 and r.headers["crawler-charged"] == "USD 0.010000"
    again = crawler.get(url, params={"use": "ai-input"}, headers={"crawler-max-price": "USD 0.05"})
    assert again.json()["license_id"] == r.json()["license_id"]

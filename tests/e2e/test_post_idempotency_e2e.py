"""Issue 18, server side: every POST route honours an Idempotency-Key, and cancelling a cancelled licence or revoking
a revoked one answers 200 with the same body (so a client may retry either after a lost answer)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.e2e.helpers import months_back, publish


@pytest.fixture
def licence(new_account: Any) -> dict[str, Any]:
    pub, _ = new_account("publisher")
    buyer, _ = new_account("buyer")
    asset = publish(pub, f"Idempotent story {uuid.uuid4()}")
    offer = pub.post(
        "/v1/offers",
        json={"asset_id": asset["id"], "uses": ["ai-input"], "pricing": {"model": "per_access", "amount_micros": 1000}},
    ).json()
    lic = buyer.post("/v1/licenses", json={"offer_id": offer["id"], "use": "ai-input"}).json()["license"]
    return {"pub": pub, "buyer": buyer, "license": lic, "asset": asset}


def test_cancelling_twice_answers_200_with_the_same_body(licence: dict[str, Any]) -> None:
    buyer, lic_id = licence["buyer"], licence["license"]["id"]
    # Given a licence cancelled once (no key: the state itself makes the repeat safe)
    first = buyer.post(f"/v1/licenses/{lic_id}/cancel")
    assert first.status_code == 200 and first.json()["status"] == "cancelled"
    # When it is cancelled again
    second = buyer.post(f"/v1/licenses/{lic_id}/cancel")
    # Then the answer is the same 200 and the same body
    assert second.status_code == 200 and second.json() == first.json()
    # But the publisher cannot revoke what the buyer cancelled
    refused = licence["pub"].post(f"/v1/licenses/{lic_id}/revoke", json={"reason": "late"})
    assert refused.status_code == 409 and refused.json()["code"] == "license_cancelled"


def test_revoking_twice_answers_200_with_the_same_body(licence: dict[str, Any]) -> None:
    pub, lic_id = licence["pub"], licence["license"]["id"]
    first = pub.post(f"/v1/licenses/{lic_id}/revoke", json={"reason": "terms breached"})
    assert first.status_code == 200 and first.json()["status"] == "revoked"
    second = pub.post(f"/v1/licenses/{lic_id}/revoke", json={"reason": "terms breached"})
    assert second.status_code == 200 and second.json() == first.json()
    refused = licence["buyer"].post(f"/v1/licenses/{lic_id}/cancel")
    assert refused.status_code == 409 and refused.json()["code"] == "license_revoked"


def test_keyed_cancel_replays_and_refuses_another_body(licence: dict[str, Any]) -> None:
    buyer, pub, lic_id = licence["buyer"], licence["pub"], licence["license"]["id"]
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = pub.post(f"/v1/licenses/{lic_id}/revoke", json={"reason": "a"}, headers=key)
    again = pub.post(f"/v1/licenses/{lic_id}/revoke", json={"reason": "a"}, headers=key)
    other = pub.post(f"/v1/licenses/{lic_id}/revoke", json={"reason": "b"}, headers=key)
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    # A key of the wrong shape is refused on these routes too
    bad = buyer.post(f"/v1/licenses/{lic_id}/cancel", headers={"Idempotency-Key": "x" * 256})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_idempotency_key"


def test_every_other_post_route_accepts_a_key(http_admin: Any, new_account: Any) -> None:
    pub, _ = new_account("publisher")
    victim, victim_acct = new_account("buyer")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    # complete (a PUT upload completed twice with one key: the same answer)
    asset = publish(pub, f"complete twice {uuid.uuid4()}")
    again = pub.post(f"/v1/assets/{asset['id']}/complete", headers=key)
    replay = pub.post(f"/v1/assets/{asset['id']}/complete", headers=key)
    assert again.status_code == replay.status_code == 200 and again.json() == replay.json()
    # the same key on another path is another request, not a replay of the first
    asset2 = publish(pub, f"complete other {uuid.uuid4()}")
    other = pub.post(f"/v1/assets/{asset2['id']}/complete", headers=key)
    assert other.status_code == 200 and other.json()["id"] == asset2["id"]
    # pool members
    pool = http_admin.post("/v1/pools", json={"name": f"p {uuid.uuid4()}", "description": "d"}).json()
    body = {"asset_ids": [asset["id"]]}
    j1 = pub.post(f"/v1/pools/{pool['id']}/members", json=body, headers=key)
    j2 = pub.post(f"/v1/pools/{pool['id']}/members", json=body, headers=key)
    assert j1.status_code == j2.status_code == 200 and j1.json() == j2.json()
    # suspend
    s1 = http_admin.post(f"/v1/accounts/{victim_acct['id']}/suspend", headers=key)
    s2 = http_admin.post(f"/v1/accounts/{victim_acct['id']}/suspend", headers=key)
    assert s1.status_code == s2.status_code == 200 and s1.json() == s2.json() and s1.json()["status"] == "suspended"
    assert victim.get("/v1/me").status_code == 401


def test_a_keyed_distribution_replays_and_refuses_another_period(http_admin: Any) -> None:
    # Given a pool (the last POST route that ignored the key: the distribution job is idempotent, the route now too)
    pool = http_admin.post("/v1/pools", json={"name": f"d {uuid.uuid4()}", "description": "d"}).json()
    key = {"Idempotency-Key": str(uuid.uuid4())}
    path = f"/v1/pools/{pool['id']}/distributions"
    period, other_period = months_back(6)[0], months_back(7)[0]  # past months no other test uses (helpers.months_back)
    assert http_admin.post(f"/v1/periods/{period}/close").status_code == 200
    # When a distribution is requested twice with one key, then with that key and another body
    first = http_admin.post(path, json={"period": period}, headers=key)
    again = http_admin.post(path, json={"period": period}, headers=key)
    other = http_admin.post(path, json={"period": other_period}, headers=key)
    # Then the first answer is replayed, and the other body is refused as a reused key
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"

"""Issue 6 "done when": a pool of three publishers through a month of deliveries and a distribution whose statements
add up; and the RSL documents of the demo data parse with the structure of RSL 1.0."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

from tests.e2e.helpers import eventually, publish

RSL = "{https://rslstandard.org/rsl}"


def test_pool_with_three_publishers_distributes_pro_rata(http_admin: Any, new_account: Any) -> None:
    pubs = [new_account("publisher") for _ in range(3)]
    assets = [publish(client, f"Local story number {i}") for i, (client, _) in enumerate(pubs)]
    pool = http_admin.post("/v1/pools", json={"name": "Small newsrooms co-op", "description": "e2e"}).json()
    for (client, _), asset in zip(pubs, assets, strict=True):
        joined = client.post(f"/v1/pools/{pool['id']}/members", json={"asset_ids": [asset["id"]]})
        assert joined.status_code == 200, joined.text
    offer = http_admin.post(
        "/v1/offers",
        json={"pool_id": pool["id"], "uses": ["ai-input"], "pricing": {"model": "per_access", "amount_micros": 10_000}},
    )
    assert offer.status_code == 201, offer.text
    buyer, _ = new_account("buyer")
    lic = buyer.post("/v1/licenses", json={"offer_id": offer.json()["id"], "use": "ai-input"}).json()["license"]
    # A month of deliveries: 5 of the first publisher's asset, 3 of the second's, none of the third's
    for asset, n in ((assets[0], 5), (assets[1], 3)):
        for _ in range(n):
            r = buyer.get(f"/v1/assets/{asset['id']}/content", params={"use": "ai-input"})
            assert r.status_code == 200 and r.json()["license_id"] == lic["id"]
    period = datetime.now(UTC).strftime("%Y-%m")
    pool_net = 8 * 10_000 - 8 * 1_000

    def pool_earned() -> bool:
        st = http_admin.get(f"/v1/statements/{period}", params={"account_id": pool["id"]}).json()
        return st["totals"]["net_micros"] == pool_net

    assert eventually(pool_earned)
    dist = http_admin.post(f"/v1/pools/{pool['id']}/distributions", json={"period": period})
    assert dist.status_code == 201, dist.text
    shares = {m["publisher_id"]: m for m in dist.json()["members"]}
    ids = [acct["id"] for _, acct in pubs]
    assert shares[ids[0]]["share_micros"] == 45_000 and shares[ids[0]]["units"] == 5
    assert shares[ids[1]]["share_micros"] == 27_000 and shares[ids[1]]["units"] == 3
    assert ids[2] not in shares  # no metered use, no money
    assert sum(m["share_micros"] for m in dist.json()["members"]) == dist.json()["net_revenue_micros"] == pool_net
    # Each member's statement shows its share, its units and the pool's totals
    for (client, _acct), expected in zip(pubs, (45_000, 27_000, 0), strict=True):
        st = client.get(f"/v1/statements/{period}").json()
        lines = [d for d in st["distributions"] if d["pool_id"] == pool["id"]]
        if expected:
            assert lines[0]["share_micros"] == expected and lines[0]["pool_net_micros"] == pool_net
            assert lines[0]["pool_units"] == 8
            assert client.get("/v1/balance").json()["balance_micros"] == expected
        else:
            assert lines == []
    # Distributing again changes nothing
    again = http_admin.post(f"/v1/pools/{pool['id']}/distributions", json={"period": period})
    assert again.json() == dist.json()
    assert pubs[0][0].get("/v1/balance").json()["balance_micros"] == 45_000
    pool_balance = http_admin.get("/v1/balance", params={"account_id": pool["id"]}).json()["balance_micros"]
    assert pool_balance == 0


def test_demo_rsl_documents_parse(local_stack: dict[str, Any], http: Any) -> None:
    demo = local_stack["demo"]
    for asset in demo["assets"]:
        r = http.get(f"/v1/assets/{asset['id']}/rsl.xml")
        assert r.status_code == 200 and r.headers["content-type"] == "application/rsl+xml"
        root = ET.fromstring(r.content)
        assert root.tag == f"{RSL}rsl"
        content = root.find(f"{RSL}content")
        assert content is not None and content.get("url") and content.get("server")
        order = [child.tag.removeprefix(RSL) for child in content]
        assert order[0] == "license" and order[-2:] == ["copyright", "terms"]
        lic = content.find(f"{RSL}license")
        assert lic is not None
        tags = [c.tag.removeprefix(RSL) for c in lic]
        assert tags.index("payment") == len(tags) - 1 and all(t == "permits" for t in tags[:-1])
        usage = lic.find(f"{RSL}permits[@type='usage']")
        assert usage is not None and usage.text and "," not in usage.text
        payment = lic.find(f"{RSL}payment")
        assert payment is not None and payment.get("type") in {
            "crawl",
            "use",
            "purchase",
            "subscription",
            "free",
            "training",
        }
        amount = payment.find(f"{RSL}amount")
        assert (amount is None) == (payment.get("type") == "free")
        if amount is not None:
            assert amount.get("currency") == "USD" and float(amount.text or "0") > 0
    for person in demo["accounts"]:
        if "publisher" in person["roles"]:
            r = http.get(f"/v1/publishers/{person['account_id']}/rsl.xml")
            root = ET.fromstring(r.content)
            assert root.tag == f"{RSL}rsl" and len(root.findall(f"{RSL}content")) >= 2
            profile = http.get(f"/v1/publishers/{person['account_id']}").json()
            assert profile["robots_txt"] == f"License: {profile['rsl_url']}"

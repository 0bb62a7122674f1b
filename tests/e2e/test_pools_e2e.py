"""Issue 6 "done when", under API v1.1: a pool of three publishers through a month of deliveries and a distribution
whose statements add up; and the RSL documents of the demo data parse with the structure of RSL 1.0."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

from tests.e2e.helpers import eventually, months_back, publish, set_clock

RSL = "{https://rslstandard.org/rsl}"


def test_pool_with_three_publishers_distributes_by_use_and_carries_unused_flat_revenue(
    http: Any, http_admin: Any, new_account: Any
) -> None:
    """API v1.1 through `make run`: a month of use in a past period (the clock moved back), the period closed on
    demand, and a distribution that follows the use that earned each licence's revenue and carries what no use earned."""
    period, offset = months_back(3)
    set_clock(http, offset)
    try:
        pubs = [new_account("publisher") for _ in range(3)]
        assets = [publish(client, f"Local story number {i}") for i, (client, _) in enumerate(pubs)]
        pool = http_admin.post("/v1/pools", json={"name": "Small newsrooms co-op", "description": "e2e"}).json()
        for (client, _), asset in zip(pubs, assets, strict=True):
            joined = client.post(f"/v1/pools/{pool['id']}/members", json={"asset_ids": [asset["id"]]})
            assert joined.status_code == 200, joined.text

        def offer(uses: list[str], pricing: dict[str, Any]) -> str:
            got = http_admin.post("/v1/offers", json={"pool_id": pool["id"], "uses": uses, "pricing": pricing})
            assert got.status_code == 201, got.text
            return str(got.json()["id"])

        per_access = offer(["ai-input"], {"model": "per_access", "amount_micros": 10_000})
        flat = offer(["search"], {"model": "flat", "amount_micros": 1_000_000})
        buyer, _ = new_account("buyer")
        flat_buyer, _ = new_account("buyer")
        lic = buyer.post("/v1/licenses", json={"offer_id": per_access, "use": "ai-input"}).json()["license"]
        assert flat_buyer.post("/v1/licenses", json={"offer_id": flat, "use": "search"}).status_code == 201
        # A month of deliveries: 5 of the first publisher's asset, 3 of the second's, none of the third's; the flat
        # licence is never used
        for asset, n in ((assets[0], 5), (assets[1], 3)):
            for _ in range(n):
                r = buyer.get(f"/v1/assets/{asset['id']}/content", params={"use": "ai-input"})
                assert r.status_code == 200 and r.json()["license_id"] == lic["id"]
        pool_net = 8 * 9_000 + 900_000

        def pool_earned() -> bool:
            st = http_admin.get(f"/v1/statements/{period}", params={"account_id": pool["id"]}).json()
            return [t["net_micros"] for t in st["totals"]] == [pool_net]

        assert eventually(pool_earned)
        early = http_admin.post(f"/v1/pools/{pool['id']}/distributions", json={"period": period})
        assert early.status_code == 409 and early.json()["code"] == "period_open"
        set_clock(http, months_back(2)[1])
        closed = http_admin.post(f"/v1/periods/{period}/close")
        assert closed.status_code == 200 and closed.json()["status"] == "closed", closed.text
        dist = http_admin.post(f"/v1/pools/{pool['id']}/distributions", json={"period": period})
        assert dist.status_code == 201, dist.text
        [usd] = dist.json()["currencies"]
        shares = {m["publisher_id"]: m for m in usd["members"]}
        ids = [acct["id"] for _, acct in pubs]
        assert shares[ids[0]]["share_micros"] == 45_000 and shares[ids[0]]["accesses"] == 5
        assert shares[ids[1]]["share_micros"] == 27_000 and shares[ids[1]]["accesses"] == 3
        assert ids[2] not in shares  # no use, no money
        assert usd["net_revenue_micros"] == pool_net and usd["carried_forward_micros"] == 900_000
        assert usd["shares_micros"] + usd["carried_forward_micros"] == pool_net + usd["carried_in_micros"]
        booked = dist.json()["booked_period"]
        assert booked == months_back(2)[0]
        # Each member's statement of the running period shows its share, naming the distributed period
        for (client, _acct), expected in zip(pubs, (45_000, 27_000, 0), strict=True):
            st = client.get(f"/v1/statements/{booked}").json()
            lines = [d for d in st["distributions"] if d["pool_id"] == pool["id"]]
            if expected:
                assert lines[0]["share_micros"] == expected and lines[0]["pool_net_micros"] == pool_net
                assert lines[0]["distributed_period"] == period
                assert client.get("/v1/balance").json()["balance_micros"] == expected
            else:
                assert lines == []
        # The pool's statement shows what it paid and what it carries; its balance is what it carries
        [pool_line] = http_admin.get(f"/v1/statements/{booked}", params={"account_id": pool["id"]}).json()[
            "distributions"
        ]
        assert pool_line["share_micros"] == -72_000 and pool_line["carried_forward_micros"] == 900_000
        pool_balance = http_admin.get("/v1/balance", params={"account_id": pool["id"]}).json()["balance_micros"]
        assert pool_balance == 900_000
        # Distributing again changes nothing; the closed period's statement is final
        again = http_admin.post(f"/v1/pools/{pool['id']}/distributions", json={"period": period})
        assert again.json() == dist.json()
        assert pubs[0][0].get("/v1/balance").json()["balance_micros"] == 45_000
        st = http_admin.get(f"/v1/statements/{period}", params={"account_id": pool["id"]}).json()
        assert st["status"] == "closed" and len(st["sha256"]) == 64
    finally:
        set_clock(http, 0)


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

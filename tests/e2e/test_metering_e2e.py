"""Issue 5 "done when": deliveries plus reported usage over HTTP show the same totals in the buyer's statement,
the publisher's statement and the platform fee account."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.e2e.helpers import eventually, publish


def test_statements_agree_for_buyer_publisher_and_platform(http_admin: Any, new_account: Any) -> None:
    pub, pub_acct = new_account("publisher")
    buyer, buyer_acct = new_account("buyer")
    asset = publish(pub, "Council minutes, November")
    per_access = pub.post(
        "/v1/offers",
        json={
            "asset_id": asset["id"],
            "uses": ["ai-input"],
            "pricing": {"model": "per_access", "amount_micros": 12_345},
        },
    ).json()
    per_unit = pub.post(
        "/v1/offers",
        json={
            "asset_id": asset["id"],
            "uses": ["ai-train"],
            "pricing": {"model": "per_unit", "amount_micros": 777, "unit": "1k tokens"},
        },
    ).json()
    lic_a = buyer.post("/v1/licenses", json={"offer_id": per_access["id"], "use": "ai-input"}).json()["license"]
    lic_u = buyer.post("/v1/licenses", json={"offer_id": per_unit["id"], "use": "ai-train"}).json()["license"]
    platform_before = http_admin.get("/v1/balance", params={"account_id": "platform"}).json()["balance_micros"]
    # When: 6 deliveries and 3 reported events
    for _ in range(6):
        r = buyer.get(f"/v1/assets/{asset['id']}/content", params={"use": "ai-input", "license_id": lic_a["id"]})
        assert r.status_code == 200
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    events = [
        {
            "event_id": f"tok-{i}",
            "license_id": lic_u["id"],
            "asset_id": asset["id"],
            "use": "ai-train",
            "units": units,
            "occurred_at": now,
        }
        for i, units in enumerate((100, 20, 3))
    ]
    assert buyer.post("/v1/usage", json={"events": events}).json()["accepted"] == 3
    gross = 6 * 12_345 + 123 * 777
    fee = sum(12_345 * 1000 // 10_000 for _ in range(6)) + sum(u * 777 * 1000 // 10_000 for u in (100, 20, 3))
    period = now[:7]

    def buyer_statement() -> dict[str, Any] | None:
        st = buyer.get(f"/v1/statements/{period}").json()
        return st if [t["gross_micros"] for t in st["totals"]] == [gross] else None

    # Then (after the queue delay) the three parties' books agree
    b = eventually(buyer_statement)
    assert b, buyer.get(f"/v1/statements/{period}").json()
    p = pub.get(f"/v1/statements/{period}").json()
    [total] = p["totals"]  # one currency, one total (API v1.1)
    assert total["currency"] == "USD" and total["gross_micros"] == gross and total["fee_micros"] == fee
    assert total["net_micros"] == gross - fee
    assert buyer.get("/v1/balance").json()["balance_micros"] == -gross
    assert pub.get("/v1/balance").json()["balance_micros"] == gross - fee
    platform = http_admin.get("/v1/balance", params={"account_id": "platform"}).json()["balance_micros"]
    assert platform - platform_before == fee
    assert {line["fee_rate_bps"] for line in p["lines"]} == {1000}
    usage = buyer.get("/v1/usage", params={"group_by": "asset"}).json()["items"]
    assert usage == [{"key": asset["id"], "units": 129, "accesses": 6, "amount_micros": gross}]
    assert pub_acct["id"] != buyer_acct["id"]

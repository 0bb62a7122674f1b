"""Metering through the gateway and the queue: deliveries and reported usage become ledger entries, aggregates,
balances and statements whose totals agree for buyer, publisher and platform."""

from __future__ import annotations

from typing import Any

import pytest

from functions.shared import clock
from functions.shared.clock import now_iso
from local.dispatch import drain


def books(admin: Any, account_id: str, period: str) -> tuple[dict[str, Any], int]:
    st = admin.get(f"/v1/statements/{period}", params={"account_id": account_id}).json
    bal = admin.get("/v1/balance", params={"account_id": account_id}).json["balance_micros"]
    return st, bal


def test_deliveries_and_reported_usage_reconcile(
    aws: dict[str, str], gw: Any, market: dict[str, Any], admin: Any
) -> None:
    buyer, pub, asset = market["buyer"], market["pub"], market["asset"]
    per_access = buyer.post("/v1/licenses", {"offer_id": market["per_access"]["id"], "use": "ai-input"}).json
    per_unit_offer = market["offer"](
        uses=["ai-train"], pricing={"model": "per_unit", "amount_micros": 2_000, "unit": "1k tokens"}
    )
    per_unit = buyer.post("/v1/licenses", {"offer_id": per_unit_offer["id"], "use": "ai-train"}).json
    flat = buyer.post("/v1/licenses", {"offer_id": market["flat"]["id"], "use": "ai-train"}).json
    # When: 7 deliveries at 10,000 micros, 2 reports of 150 and 50 units at 2,000, one flat charge of 5,000,000
    for _ in range(7):
        r = buyer.get(
            f"/v1/assets/{asset['id']}/content", params={"use": "ai-input", "license_id": per_access["license"]["id"]}
        )
        assert r.status == 200
    events = [
        {
            "event_id": f"e-{i}",
            "license_id": per_unit["license"]["id"],
            "asset_id": asset["id"],
            "use": "ai-train",
            "units": u,
            "occurred_at": now_iso(),
        }
        for i, u in ((1, 150), (2, 50))
    ]
    rep = buyer.post("/v1/usage", {"events": events})
    assert rep.status == 202 and rep.json == {"accepted": 2, "duplicates": 0, "rejected": []}
    drain(gw.invoke, aws)
    again = buyer.post("/v1/usage", {"events": events})
    assert again.json == {"accepted": 0, "duplicates": 2, "rejected": []}
    # Then the three parties' books agree
    gross = 7 * 10_000 + 200 * 2_000 + 5_000_000
    fee = 7 * 1_000 + 200 * 200 + 500_000
    period = now_iso()[:7]
    b_st, b_bal = books(admin, market["buyer_acct"]["id"], period)
    p_st, p_bal = books(admin, market["pub_acct"]["id"], period)
    f_st, f_bal = books(admin, "platform", period)
    [b_tot], [p_tot], [f_tot] = b_st["totals"], p_st["totals"], f_st["totals"]  # one currency: one total each
    assert b_tot["currency"] == p_tot["currency"] == f_tot["currency"] == "USD"
    assert b_tot["gross_micros"] == p_tot["gross_micros"] == gross
    assert p_tot["fee_micros"] == fee and p_tot["net_micros"] == gross - fee
    assert f_tot["fee_micros"] == fee
    assert (b_bal, p_bal, f_bal) == (-gross, gross - fee, fee)
    usage = buyer.get("/v1/usage", params={"group_by": "license"}).json["items"]
    by_lic = {u["key"]: u for u in usage}
    assert by_lic[per_access["license"]["id"]]["accesses"] == 7
    assert by_lic[per_unit["license"]["id"]]["units"] == 200
    assert by_lic[flat["license"]["id"]]["amount_micros"] == 5_000_000
    window = buyer.get("/v1/usage", params={"group_by": "day", "from": "2026-01-01", "to": "2026-12-31"}).json
    assert (window["from"], window["to"], window["group_by"]) == ("2026-01-01", "2026-12-31", "day")  # the contract's
    assert "from_" not in window  # names, not the Python field's
    pub_usage = pub.get("/v1/usage", params={"group_by": "buyer", "as": "publisher"}).json["items"]
    assert pub_usage == [{"key": market["buyer_acct"]["id"], "units": 207, "accesses": 7, "amount_micros": gross}]
    csv = buyer.get(f"/v1/statements/{period}", headers={"accept": "text/csv"})
    assert csv.content_type.startswith("text/csv") and f",{gross}," in csv.body.decode()
    # And the spend feeds the delivery's budget check
    from functions.metering.dal.store import MeteringStore

    spend = MeteringStore(aws["METERING_TABLE"]).get(f"SPEND#{per_access['license']['id']}", "SPEND")
    assert spend is not None and spend["spent_micros"] == 70_000


def test_reported_usage_rejections(aws: dict[str, str], gw: Any, market: dict[str, Any]) -> None:
    buyer, other, asset = market["buyer"], market["other"], market["asset"]
    per_unit = market["offer"](
        uses=["ai-input", "search"], pricing={"model": "per_unit", "amount_micros": 10, "unit": "page"}
    )
    lic = buyer.post("/v1/licenses", {"offer_id": per_unit["id"], "use": "search"}).json["license"]
    foreign = other.post("/v1/licenses", {"offer_id": per_unit["id"], "use": "search"}).json["license"]
    per_access = buyer.post("/v1/licenses", {"offer_id": market["per_access"]["id"], "use": "search"}).json["license"]

    def ev(i: str, **kw: Any) -> dict[str, Any]:
        return {
            "event_id": i,
            "license_id": lic["id"],
            "asset_id": asset["id"],
            "use": "search",
            "units": 1,
            "occurred_at": now_iso(),
            **kw,
        }

    r = buyer.post(
        "/v1/usage",
        {
            "events": [
                ev("ok"),
                ev("ok"),
                ev("foreign", license_id=foreign["id"]),
                ev("future", occurred_at="2999-01-01T00:00:00Z"),
                ev("before", occurred_at="2000-01-01T00:00:00Z"),
                ev("use", use="ai-train"),
                ev("asset", asset_id="ast_00000000000000000000000000"),
                ev("access", license_id=per_access["id"]),
            ]
        },
    )
    assert r.status == 202
    assert r.json["accepted"] == 1 and r.json["duplicates"] == 1
    assert {x["event_id"]: x["code"] for x in r.json["rejected"]} == {
        "foreign": "unknown_license",
        "future": "in_future",
        "before": "outside_term",
        "use": "use_not_covered",
        "asset": "asset_not_covered",
        "access": "not_unit_priced",  # API v1.1: reported units are priced units
    }
    # an immediate resend is a duplicate at request time, before metering has run
    again = buyer.post("/v1/usage", {"events": [ev("ok")]})
    assert again.json == {"accepted": 0, "duplicates": 1, "rejected": []}
    assert buyer.post("/v1/usage", {"events": []}).status == 422
    assert buyer.post("/v1/usage", {"events": [ev(str(i)) for i in range(501)]}).status == 422
    assert market["pub"].post("/v1/usage", {"events": [ev("x")]}).status == 403


def test_statement_access_and_period_validation(market: dict[str, Any]) -> None:
    buyer = market["buyer"]
    assert buyer.get("/v1/statements/2026-13").status == 422
    assert buyer.get("/v1/statements/2026-11", params={"account_id": market["pub_acct"]["id"]}).status == 403
    st = buyer.get("/v1/statements/2020-01").json
    assert st["lines"] == [] and st["status"] == "open"


@pytest.mark.parametrize("job", ["renew_subscriptions", "monthly_close", "pool_distributions"])
def test_jobs_run_and_are_idempotent(aws: dict[str, str], gw: Any, market: dict[str, Any], job: str) -> None:
    from local.dispatch import run_job

    sub_offer = market["offer"](
        uses=["ai-input"], pricing={"model": "subscription", "amount_micros": 1_000_000, "period_days": 30}
    )
    market["buyer"].post("/v1/licenses", {"offer_id": sub_offer["id"], "use": "ai-input"})
    drain(gw.invoke, aws)
    period = now_iso()[:7]
    clock.set_offset(32 * 86400)  # a month later: the period can be closed, then distributed
    if job == "pool_distributions":
        assert run_job(gw.invoke, job, period=period)["skipped"] == "period_open"  # not closed yet: nothing moves
        run_job(gw.invoke, "monthly_close", period=period)
    first = run_job(gw.invoke, job, period=period)
    drain(gw.invoke, aws)
    second = run_job(gw.invoke, job, period=period)
    assert first["job"] == job
    if job == "renew_subscriptions":
        assert first["charges_queued"] == 1 and second["charges_queued"] == 0  # the second 30-day period, once
    if job == "pool_distributions":
        assert first["period"] == period and first["distributions"] == second["distributions"]
    if job == "monthly_close":
        assert first["statements_closed"] >= 2 and second["statements_closed"] == first["statements_closed"]
        st = market["buyer"].get(f"/v1/statements/{period}").json
        assert st["status"] == "closed" and st["id"].startswith("stm_") and len(st["sha256"]) == 64
        again = market["buyer"].get(f"/v1/statements/{period}").json
        assert again == st

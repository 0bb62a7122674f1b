"""API v1.1 ledger-wide rules through the real handlers: periods close for good (late usage goes to the open period,
a closed statement never changes and hashes to its sha256), one currency per total, and pool revenue that follows the
use that earned it and is never lost."""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785

from functions.metering.dal.store import CLOSED_PERIODS
from functions.shared import clock
from functions.shared.clock import now_iso
from functions.shared.ids import new_id
from local.dispatch import drain

MONTH = 32 * 86400


def body_hash(st: dict[str, Any]) -> str:
    """The contract's hash, computed with a peer JCS implementation."""
    body = {k: v for k, v in st.items() if k not in ("sha256", "closed_at")}
    return hashlib.sha256(rfc8785.dumps(body)).hexdigest()


def event(i: str, lic: str, asset: str, units: int, at: str) -> dict[str, Any]:
    return {"event_id": i, "license_id": lic, "asset_id": asset, "use": "ai-train", "units": units, "occurred_at": at}


def test_a_closed_period_never_changes_and_late_usage_is_booked_in_the_open_one(
    aws: dict[str, str], gw: Any, admin: Any, market: dict[str, Any]
) -> None:
    buyer, asset = market["buyer"], market["asset"]
    offer = market["offer"](uses=["ai-train"], pricing={"model": "per_unit", "amount_micros": 2_000, "unit": "1k"})
    lic = buyer.post("/v1/licenses", {"offer_id": offer["id"], "use": "ai-train"}).json["license"]
    period, t0 = now_iso()[:7], now_iso()
    assert buyer.post("/v1/usage", {"events": [event("e1", lic["id"], asset["id"], 5, t0)]}).status == 202
    drain(gw.invoke, aws)
    queued_before_close = event("e2", lic["id"], asset["id"], 7, t0)
    assert buyer.post("/v1/usage", {"events": [queued_before_close]}).json["accepted"] == 1  # not metered yet

    refused = admin.post(f"/v1/periods/{period}/close")
    assert refused.status == 422 and refused.json["code"] == "period_not_ended"  # the running month
    assert buyer.post(f"/v1/periods/{period}/close").status == 403
    clock.set_offset(MONTH)
    nxt = now_iso()[:7]
    closed = admin.post(f"/v1/periods/{period}/close")
    assert closed.status == 200 and closed.json["status"] == "closed" and closed.json["statements"] >= 3
    assert admin.post(f"/v1/periods/{period}/close").json == closed.json  # closing again answers the same
    st = buyer.get(f"/v1/statements/{period}").json
    assert st["status"] == "closed" and st["closed_at"] == closed.json["closed_at"]
    assert st["sha256"] == body_hash(st) and [t["gross_micros"] for t in st["totals"]] == [10_000]

    # The message queued before the close and a back-dated event reported after it: both go to the open period
    late = event("e3", lic["id"], asset["id"], 100, t0)
    assert buyer.post("/v1/usage", {"events": [late]}).json["accepted"] == 1
    CLOSED_PERIODS.clear()  # a consumer instance that has not seen the close: the transaction's period check refuses
    drain(gw.invoke, aws)
    assert period in CLOSED_PERIODS  # ... and the instance learnt it from the refused check
    assert buyer.get(f"/v1/statements/{period}").json == st  # same id, lines, totals and hash
    now_st = buyer.get(f"/v1/statements/{nxt}").json
    assert now_st["status"] == "open" and now_st["sha256"] is None
    assert [t["gross_micros"] for t in now_st["totals"]] == [(7 + 100) * 2_000]
    assert sum(x["units"] for x in now_st["lines"]) == 107
    assert buyer.get("/v1/balance").json["balance_micros"] == -(5 + 7 + 100) * 2_000
    # A period with no activity for an account is closed too, and hashes
    empty = market["other"].get(f"/v1/statements/{period}").json
    assert empty["status"] == "closed" and empty["lines"] == [] and empty["sha256"] == body_hash(empty)


def test_statement_totals_are_one_per_currency(aws: dict[str, str], gw: Any, market: dict[str, Any]) -> None:
    buyer = market["buyer"]
    for currency, amount in (("USD", 1_000_000), ("EUR", 2_000_000), ("JPY", 150_000_000)):
        offer = market["offer"](
            uses=["ai-index"], pricing={"model": "flat", "amount_micros": amount, "currency": currency}
        )
        assert buyer.post("/v1/licenses", {"offer_id": offer["id"], "use": "ai-index"}).status == 201
    drain(gw.invoke, aws)
    st = buyer.get(f"/v1/statements/{now_iso()[:7]}").json
    assert [(t["currency"], t["gross_micros"]) for t in st["totals"]] == [
        ("EUR", 2_000_000),
        ("JPY", 150_000_000),
        ("USD", 1_000_000),
    ]
    csv_text = buyer.get(f"/v1/statements/{now_iso()[:7]}", headers={"accept": "text/csv"}).body.decode()
    totals = [row.split(",") for row in csv_text.splitlines() if ",TOTAL," in row]
    assert sorted((r[10], r[6]) for r in totals) == [("EUR", "2000000"), ("JPY", "150000000"), ("USD", "1000000")]


def _pool(admin: Any, make_account: Any, aws: dict[str, str]) -> dict[str, Any]:
    import boto3

    pool = admin.post("/v1/pools", {"name": "Coastal co-op", "description": "three newsrooms"}).json
    members = []
    for name in ("Alpha", "Beta", "Gamma"):
        pub, acct = make_account("publisher", name=f"{name} News")
        data = f"{name} story".encode()
        asset = pub.post(
            "/v1/assets",
            {
                "title": f"{name} story",
                "kind": "article",
                "media_type": "text/plain",
                "language": "en",
                "size_bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            },
        ).json["asset"]
        boto3.client("s3").put_object(Bucket=aws["CONTENT_BUCKET"], Key=f"assets/{acct['id']}/{asset['id']}", Body=data)
        assert pub.post(f"/v1/assets/{asset['id']}/complete").json["status"] == "available"
        assert pub.post(f"/v1/pools/{pool['id']}/members", {"asset_ids": [asset["id"]]}).status == 200
        members.append({"client": pub, "account": acct, "asset": asset})

    def offer(**body: Any) -> dict[str, Any]:
        got = admin.post("/v1/offers", {"pool_id": pool["id"], **body})
        assert got.status == 201, got.body
        return dict(got.json)

    return {"pool": pool, "members": members, "offer": offer}


def test_pool_revenue_follows_use_and_unused_flat_revenue_is_carried(
    aws: dict[str, str], gw: Any, admin: Any, make_account: Any
) -> None:
    p = _pool(admin, make_account, aws)
    pool, (a, b, c) = p["pool"], p["members"]
    per_access = p["offer"](uses=["ai-input"], pricing={"model": "per_access", "amount_micros": 10_000})
    flat = p["offer"](uses=["search"], pricing={"model": "flat", "amount_micros": 1_000_000})
    free = p["offer"](uses=["ai-train"], pricing={"model": "free"})
    buyer, _ = make_account("buyer")
    flat_buyer, _ = make_account("buyer")
    buyer.post("/v1/licenses", {"offer_id": per_access["id"], "use": "ai-input"})
    free_lic = buyer.post("/v1/licenses", {"offer_id": free["id"], "use": "ai-train"}).json["license"]
    flat_buyer.post("/v1/licenses", {"offer_id": flat["id"], "use": "search"})  # never used this month
    for m, n in ((a, 5), (b, 3)):
        for _ in range(n):
            assert buyer.get(f"/v1/assets/{m['asset']['id']}/content", params={"use": "ai-input"}).status == 200
    # v1's exploit: free use of another member's asset must not steer the paid licence's revenue
    for _ in range(4):
        assert buyer.get(f"/v1/assets/{c['asset']['id']}/content", params={"use": "ai-train"}).status == 200
    assert free_lic["status"] == "active"
    drain(gw.invoke, aws)
    period = now_iso()[:7]
    clock.set_offset(MONTH)
    assert admin.post(f"/v1/pools/{pool['id']}/distributions", {"period": period}).json["code"] == "period_open"
    assert admin.post(f"/v1/periods/{period}/close").status == 200
    unknown = admin.post(f"/v1/pools/{new_id('pool')}/distributions", {"period": period})
    assert unknown.status == 404
    dist = admin.post(f"/v1/pools/{pool['id']}/distributions", {"period": period})
    assert dist.status == 201, dist.body
    [usd] = dist.json["currencies"]
    shares = {m["asset_id"]: m["share_micros"] for m in usd["members"]}
    assert shares == {a["asset"]["id"]: 45_000, b["asset"]["id"]: 27_000, c["asset"]["id"]: 0}
    assert usd["net_revenue_micros"] == 72_000 + 900_000 and usd["carried_forward_micros"] == 900_000
    assert usd["shares_micros"] + usd["carried_forward_micros"] == usd["net_revenue_micros"] + usd["carried_in_micros"]
    assert [x["reason"] for x in usd["carried"]] == ["unattributed"]
    assert dist.json["booked_period"] == now_iso()[:7] != period
    assert a["client"].get("/v1/balance").json["balance_micros"] == 45_000
    assert admin.get("/v1/balance", params={"account_id": pool["id"]}).json["balance_micros"] == 900_000  # carried
    # Booked in the running period, naming the distributed one; the closed period's statements do not move
    line = a["client"].get(f"/v1/statements/{now_iso()[:7]}").json["distributions"][0]
    assert line["distributed_period"] == period and line["share_micros"] == 45_000 and line["accesses"] == 5
    pool_st = admin.get(f"/v1/statements/{now_iso()[:7]}", params={"account_id": pool["id"]}).json
    [pool_line] = pool_st["distributions"]
    assert pool_line["share_micros"] == -72_000 and pool_line["carried_forward_micros"] == 900_000
    assert admin.post(f"/v1/pools/{pool['id']}/distributions", {"period": period}).json == dist.json

    # Next month the flat licence is used once, on Gamma's asset: the carried revenue follows that use
    flat_buyer_lic_use = flat_buyer.get(f"/v1/assets/{c['asset']['id']}/content", params={"use": "search"})
    assert flat_buyer_lic_use.status == 200
    drain(gw.invoke, aws)
    second = now_iso()[:7]
    clock.set_offset(2 * MONTH)
    assert admin.post(f"/v1/periods/{second}/close").status == 200
    [usd2] = admin.post(f"/v1/pools/{pool['id']}/distributions", {"period": second}).json["currencies"]
    assert usd2["carried_in_micros"] == 900_000 and usd2["carried_forward_micros"] == 0
    assert {m["asset_id"]: m["share_micros"] for m in usd2["members"]} == {c["asset"]["id"]: 900_000}
    assert admin.get("/v1/balance", params={"account_id": pool["id"]}).json["balance_micros"] == 0
    assert c["client"].get("/v1/balance").json["balance_micros"] == 900_000


def test_a_statement_names_its_parties_frozen_at_close(
    aws: dict[str, str], gw: Any, admin: Any, market: dict[str, Any]
) -> None:
    """Issue 19: buyers see who they license from, on their statements too. While the period is open the names are
    read live; the close freezes them with the money, so the hash covers them and a later rename changes nothing."""
    buyer, pub = market["buyer"], market["pub"]
    buyer_id, pub_id = market["buyer_acct"]["id"], market["pub_acct"]["id"]
    assert buyer.post("/v1/licenses", {"offer_id": market["flat"]["id"], "use": "ai-train"}).status == 201
    drain(gw.invoke, aws)
    period = now_iso()[:7]
    open_st = buyer.get(f"/v1/statements/{period}").json
    names = {p["account_id"]: p["name"] for p in open_st["parties"]}
    assert names[pub_id] == "Harbour Gazette" and set(names) == {buyer_id, pub_id}
    # A display name, set while the period is open, is what the statement shows
    assert pub.patch("/v1/me", {"profile": {"display_name": "The Harbour Gazette"}}).status == 200
    open_st = buyer.get(f"/v1/statements/{period}").json
    assert {p["account_id"]: p["name"] for p in open_st["parties"]}[pub_id] == "The Harbour Gazette"

    clock.set_offset(MONTH)
    assert admin.post(f"/v1/periods/{period}/close").status == 200
    closed = buyer.get(f"/v1/statements/{period}").json
    assert closed["parties"] == open_st["parties"] and closed["sha256"] == body_hash(closed)
    # When the publisher renames itself after the close, the closed statement keeps the name it was closed with
    assert pub.patch("/v1/me", {"profile": {"display_name": "Gazette Media Group"}}).status == 200
    assert buyer.get(f"/v1/statements/{period}").json == closed
    pub_st = pub.get(f"/v1/statements/{period}").json
    assert {p["account_id"] for p in pub_st["parties"]} == {buyer_id, pub_id} and pub_st["sha256"] == body_hash(pub_st)


def test_a_distribution_is_booked_in_one_period_even_when_its_booking_crashed(
    aws: dict[str, str], gw: Any, admin: Any, make_account: Any, monkeypatch: Any
) -> None:
    """A distribution over many publishers is booked in several transactions. Before 2026-11-30 a run that crashed
    between them was completed by the next run in whatever period was open then: one distribution, two months. Now
    the period it is booked in cannot close while any of its postings is missing; closing completes it first."""
    import boto3
    import pytest

    from functions.metering.dal import store as store_mod
    from functions.shared.faults import StateConflict

    p = _pool(admin, make_account, aws)
    pool, members = p["pool"], p["members"]
    per_access = p["offer"](uses=["ai-input"], pricing={"model": "per_access", "amount_micros": 10_000})
    buyer, _ = make_account("buyer")
    buyer.post("/v1/licenses", {"offer_id": per_access["id"], "use": "ai-input"})
    for m in members:
        assert buyer.get(f"/v1/assets/{m['asset']['id']}/content", params={"use": "ai-input"}).status == 200
    drain(gw.invoke, aws)
    period = now_iso()[:7]
    clock.set_offset(MONTH)
    assert admin.post(f"/v1/periods/{period}/close").status == 200
    booked = now_iso()[:7]

    # Given a distribution whose booking crashes after its first transaction (one posting per transaction here)
    monkeypatch.setattr(store_mod, "DIST_POSTINGS_PER_TX", 1)
    real = store_mod.MeteringStore._posting_items
    built: list[int] = []

    def crash_on_second(self: Any, *args: Any) -> Any:
        built.append(1)
        if len(built) == 2:
            raise RuntimeError("the function stopped between two transactions")
        return real(self, *args)

    monkeypatch.setattr(store_mod.MeteringStore, "_posting_items", crash_on_second)
    # (its save meets two TransactionConflicts first, as another pool's save of the same pending set would cause)
    from functions.shared import aws as shared_aws
    from tests.integration.metering.test_consumer_conflicts import ConflictingDynamoDB

    waits: list[float] = []
    monkeypatch.setattr(store_mod.time, "sleep", waits.append)
    conflicting = ConflictingDynamoDB(shared_aws.dynamodb(), 2)
    monkeypatch.setattr(shared_aws, "dynamodb", lambda: conflicting)
    assert admin.post(f"/v1/pools/{pool['id']}/distributions", {"period": period}).status == 500
    assert conflicting.refused == 2 and len(waits) == 2  # waited out, then saved: the crash came after
    monkeypatch.setattr(store_mod.MeteringStore, "_posting_items", real)
    ms = store_mod.MeteringStore(aws["METERING_TABLE"])
    assert ms.pending_distributions(booked) == [(pool["id"], period)]

    # When the month it is booked in ends: closing it without completing the distribution is refused...
    clock.set_offset(2 * MONTH)
    with pytest.raises(StateConflict) as exc:
        ms.close_period(booked, now_iso(), None)
    assert exc.value.code == "distribution_in_progress" and pool["id"] in str(exc.value)
    assert ms.period(booked) is None
    # ...and the close job completes it first, then closes (its own transaction waits out a conflict too)
    conflicting.left = 1
    assert admin.post(f"/v1/periods/{booked}/close").status == 200
    assert conflicting.refused == 3
    assert ms.pending_distributions(booked) == []

    # Then every posting of the distribution is booked in that one period, and the books balance there
    markers = boto3.client("dynamodb").scan(TableName=aws["METERING_TABLE"])["Items"]
    booked_in = {i["booked_period"]["S"] for i in markers if i["pk"]["S"].startswith(f"DISTM#{pool['id']}#")}
    assert booked_in == {booked}
    lines = [
        admin.get(f"/v1/statements/{booked}", params={"account_id": acct}).json["distributions"]
        for acct in [pool["id"], *(m["account"]["id"] for m in members)]
    ]
    shares = [line["share_micros"] for ls in lines for line in ls]
    assert len(shares) == 4 and sum(shares) == 0 and shares[0] == -27_000
    assert admin.post(f"/v1/pools/{pool['id']}/distributions", {"period": period}).status in (200, 201)
    # And `make audit` finds every invariant kept, "booked in one period" among them
    from tests.integration.metering.test_audit import audit_cli

    code, out = audit_cli(aws)
    assert code == 0 and "VIOLATION" not in out, out

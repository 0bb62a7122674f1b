"""API v1.1 "Budget caps are hard", through the real handlers: deliveries, grants, renewals and PATCH of a capped
licence, in real threads where it matters (each thread its own warm instance: tests/integration/instances.py), the
usage queue drained through the metering consumer before anything is counted. What is charged is read where a buyer
and the books read it: ``spent_micros`` of ``GET /v1/licenses/{id}`` (metering's SPEND record) and the buyer's ledger
balance; the budget record (reserved <= cap) is read from the licensing table.

v1 got these wrong (issue 13, "Why"): a cap of one access let 4 parallel deliveries through, a 30,000-micro cap was
charged 100,000, a flat licence above its cap was charged, renewals charged past the cap.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import pytest

from functions.licensing.dal.budget import DynamoBudgetStore
from functions.licensing.logic import budget as budget_rules
from functions.metering.dal.store import MeteringStore
from functions.shared.clock import now as real_now
from tests.integration.conftest import books, delivery_records, meter, put_delivery_records, queue_messages
from tests.integration.instances import flatten, in_threads, rounds

PRICE = 10_000  # the market's per-access offer: USD 0.010000


def content(client: Any, asset_id: str, **params: Any) -> Any:
    headers = params.pop("headers", None)
    return client.get(f"/v1/assets/{asset_id}/content", params=params, headers=headers)


def grant(buyer: Any, offer_id: str, use: str, cap: int | None = None, **kw: Any) -> Any:
    body: dict[str, Any] = {"offer_id": offer_id, "use": use}
    if cap is not None:
        body["budget_cap_micros"] = cap
    return buyer.post("/v1/licenses", body, **kw)


def budget_of(aws: dict[str, str], license_id: str) -> budget_rules.Budget:
    got = DynamoBudgetStore(aws["LICENSING_TABLE"]).get(license_id)
    assert got is not None
    return got


def spend_record(aws: dict[str, str], license_id: str) -> int:
    row = MeteringStore(aws["METERING_TABLE"]).get(f"SPEND#{license_id}", "SPEND") or {}
    return int(row.get("spent_micros", 0))


MONTHLY = {"model": "subscription", "amount_micros": 1_000_000, "period_days": 30}


def subscribed(aws: dict[str, str], gw: Any, market: dict[str, Any], cap: int) -> tuple[dict[str, Any], datetime]:
    """The buyer's ai-input licence on a new subscription offer at 1,000,000 micros per 30 days, capped at ``cap``,
    its first period metered; and the moment after that, which the renewal tests move the clocks from."""
    sub = market["offer"](uses=["ai-input"], pricing=MONTHLY)
    lic: dict[str, Any] = grant(market["buyer"], sub["id"], "ai-input", cap).json["license"]
    meter(aws, gw)
    return lic, real_now()


def days_on(monkeypatch: pytest.MonkeyPatch, start: datetime, days: float, *modules: Any) -> None:
    """``now`` of each module (the renewal job's, licensing's) ``days`` after ``start``."""
    for module in modules:
        monkeypatch.setattr(module, "now", lambda: start + timedelta(days=days))


class Clock:
    """``time.time`` moved forward (leases are dated with it: delivery, budget releases); everything else real."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = 0.0
        real = time.time
        monkeypatch.setattr(time, "time", lambda: real() + self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def statuses(results: list[Any]) -> dict[Any, int]:
    out: dict[Any, int] = {}
    for r in results:
        key = r.status if r.status == 200 else (r.status, r.json["code"])
        out[key] = out.get(key, 0) + 1
    return out


# ----------------------------------------------------------------------------- parallel deliveries
@pytest.mark.parametrize("named", [True, False], ids=["named", "unnamed"])
@pytest.mark.parametrize("accesses", [1, 3, 7])
def test_parallel_deliveries_deliver_exactly_what_fits_and_never_charge_past_the_cap(
    aws: dict[str, str],
    gw: Any,
    admin: Any,
    market: dict[str, Any],
    instances: Any,
    accesses: int,
    named: bool,
) -> None:
    # Given a per-access licence at 10,000 micros capped at `accesses` prices and a half (a half never fits)
    buyer, asset = market["buyer"], market["asset"]
    cap = accesses * PRICE + PRICE // 2
    lic = grant(buyer, market["per_access"]["id"], "search", cap).json["license"]
    params = {"license_id": lic["id"]} if named else {}
    # When 8 instances each fetch 4 times, all at once
    clients = instances(buyer.key, 8)
    results = list(
        flatten(in_threads([rounds(4, lambda c=c: content(c, asset["id"], use="search", **params)) for c in clients]))
    )
    # Then exactly the accesses that fit were delivered, and every other request was refused budget_exhausted
    assert statuses(results) == {200: accesses, (403, "budget_exhausted"): 32 - accesses}
    assert all(r.json["license_id"] == lic["id"] for r in results if r.status == 200)
    assert all("license_id" not in r.json for r in results if r.status != 200)
    b = budget_of(aws, lic["id"])
    assert b.reserved <= b.cap == cap
    # And once metered, what was charged is exactly the deliveries: on the licence and in the buyer's ledger
    meter(aws, gw)
    got = books(admin, lic["id"], buyer, market["buyer_acct"]["id"])
    assert got == {"spent": accesses * PRICE, "remaining": cap - accesses * PRICE, "balance": -accesses * PRICE}
    assert spend_record(aws, lic["id"]) == accesses * PRICE <= cap
    assert budget_of(aws, lic["id"]).reserved == accesses * PRICE  # every lease used up: nothing lost


def test_four_parallel_deliveries_on_a_cap_of_one_access(
    aws: dict[str, str], gw: Any, admin: Any, market: dict[str, Any], instances: Any
) -> None:
    # v1 let all four through
    buyer, asset = market["buyer"], market["asset"]
    lic = grant(buyer, market["per_access"]["id"], "search", PRICE).json["license"]
    results = in_threads(
        [lambda c=c: content(c, asset["id"], use="search", license_id=lic["id"]) for c in instances(buyer.key, 4)]
    )
    assert statuses(results) == {200: 1, (403, "budget_exhausted"): 3}
    meter(aws, gw)
    assert books(admin, lic["id"], buyer, market["buyer_acct"]["id"]) == {
        "spent": PRICE,
        "remaining": 0,
        "balance": -PRICE,
    }


def test_a_30000_micro_cap_is_never_charged_100000(
    aws: dict[str, str], gw: Any, admin: Any, market: dict[str, Any], instances: Any
) -> None:
    # v1 charged ten deliveries at 10,000 on a 30,000 cap: 100,000
    buyer, asset = market["buyer"], market["asset"]
    lic = grant(buyer, market["per_access"]["id"], "ai-input", 30_000).json["license"]
    clients = instances(buyer.key, 10)
    first = in_threads([lambda c=c: content(c, asset["id"], use="ai-input") for c in clients])
    meter(aws, gw)  # metering catches up between two bursts: the cap does not depend on it
    second = in_threads([lambda c=c: content(c, asset["id"], use="ai-input") for c in clients])
    assert sum(r.status == 200 for r in first + second) == 3
    meter(aws, gw)
    assert books(admin, lic["id"], buyer, market["buyer_acct"]["id"])["spent"] == 30_000
    assert spend_record(aws, lic["id"]) == 30_000


def test_parallel_deliveries_on_two_capped_licences_of_one_buyer_fall_through_to_the_next(
    aws: dict[str, str], gw: Any, admin: Any, market: dict[str, Any], instances: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch)
    # Given two capped licences covering the same asset and use (two and three accesses)
    buyer, asset = market["buyer"], market["asset"]
    cheap = market["offer"](uses=["search"], pricing={"model": "per_access", "amount_micros": 5_000})
    a = grant(buyer, cheap["id"], "search", 2 * 5_000).json["license"]
    b = grant(buyer, market["per_access"]["id"], "search", 3 * PRICE).json["license"]
    # When 6 instances fetch 3 times each without naming a licence
    results = list(
        flatten(
            in_threads([rounds(3, lambda c=c: content(c, asset["id"], use="search")) for c in instances(buyer.key, 6)])
        )
    )
    # Then nothing passed either cap, and every refusal was budget_exhausted
    delivered = [r.json["license_id"] for r in results if r.status == 200]
    assert delivered.count(a["id"]) <= 2 and delivered.count(b["id"]) <= 3
    assert {r.json["code"] for r in results if r.status != 200} == {"budget_exhausted"}
    # And once metered and the instances' leases expired, what they left unused is delivered: five deliveries in all
    meter(aws, gw)
    clock.advance(budget_rules.LEASE_TTL_S + 1)
    while (r := content(buyer, asset["id"], use="search")).status == 200:
        delivered.append(r.json["license_id"])
    assert r.json["code"] == "budget_exhausted"
    assert sorted(delivered) == sorted([a["id"]] * 2 + [b["id"]] * 3)
    meter(aws, gw)
    assert spend_record(aws, a["id"]) == 10_000 and spend_record(aws, b["id"]) == 30_000
    bal = admin.get("/v1/balance", params={"account_id": market["buyer_acct"]["id"]}).json["balance_micros"]
    assert bal == -40_000


# ----------------------------------------------------------------------------- grants
def test_flat_and_subscription_above_the_cap_are_refused_and_nothing_is_charged(
    aws: dict[str, str], gw: Any, admin: Any, market: dict[str, Any]
) -> None:
    buyer, asset = market["buyer"], market["asset"]
    flat = market["flat"]  # 5,000,000 micros
    sub = market["offer"](uses=["ai-input"], pricing=MONTHLY)
    for offer, use, price in ((flat, "ai-train", 5_000_000), (sub, "ai-input", 1_000_000)):
        r = grant(buyer, offer["id"], use, price - 1)
        assert r.status == 422 and r.json["code"] == "budget_below_price", r.body
    assert buyer.get("/v1/licenses").json["items"] == []
    assert queue_messages(aws) == []  # no charge was sent
    # A cap that covers the price: granted, charged once, delivering, the rest of the cap left
    lic = grant(buyer, flat["id"], "ai-train", 6_000_000).json["license"]
    assert (lic["spent_micros"], lic["remaining_micros"]) == (0, 6_000_000)
    assert budget_of(aws, lic["id"]).reserved == 5_000_000
    for _ in range(3):
        assert content(buyer, asset["id"], use="ai-train", license_id=lic["id"]).status == 200
    meter(aws, gw)
    assert books(admin, lic["id"], buyer, market["buyer_acct"]["id"]) == {
        "spent": 5_000_000,
        "remaining": 1_000_000,
        "balance": -5_000_000,
    }


def test_parallel_grants_with_one_idempotency_key_grant_and_charge_once(
    aws: dict[str, str], gw: Any, admin: Any, market: dict[str, Any], instances: Any
) -> None:
    buyer = market["buyer"]
    headers = {"idempotency-key": "grant-flat-once"}
    results = in_threads(
        [
            lambda c=c: grant(c, market["flat"]["id"], "ai-train", 5_000_000, headers=headers)
            for c in instances(buyer.key, 6)
        ]
    )
    granted = {r.json["license"]["id"] for r in results if r.status == 201}
    assert len(granted) == 1
    assert {r.json["code"] for r in results if r.status != 201} <= {"idempotency_in_progress"}
    assert [x["id"] for x in buyer.get("/v1/licenses").json["items"]] == list(granted)
    meter(aws, gw)
    (lic_id,) = granted
    assert books(admin, lic_id, buyer, market["buyer_acct"]["id"]) == {
        "spent": 5_000_000,
        "remaining": 0,
        "balance": -5_000_000,
    }


# ----------------------------------------------------------------------------- renewals
def test_renewals_past_the_cap_lapse_the_licence_and_a_raise_reactivates_it_from_the_current_period(
    aws: dict[str, str], gw: Any, admin: Any, market: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.licensing.logic import licenses
    from functions.metering.logic import jobs
    from local.dispatch import run_job

    buyer, asset = market["buyer"], market["asset"]
    # Given a subscription at 1,000,000 per 30 days capped at 2,500,000: two periods fit, a third does not
    lic, start = subscribed(aws, gw, market, 2_500_000)

    def at(days: float) -> None:
        days_on(monkeypatch, start, days, jobs, licenses)

    def renew() -> int:
        sent = int(run_job(gw.invoke, "renew_subscriptions")["charges_queued"])
        meter(aws, gw)  # the charges, then the lapse messages through the licensing consumer
        return sent

    # When the renewal job runs in period 1, and twice in period 2
    at(31)
    assert renew() == 1
    assert buyer.get(f"/v1/licenses/{lic['id']}").json["spent_micros"] == 2_000_000
    at(61)
    assert renew() == 0
    assert renew() == 0  # the job runs hourly: still nothing charged
    # Then the renewal that would pass the cap was not charged: the licence lapsed
    got = buyer.get(f"/v1/licenses/{lic['id']}").json
    assert (got["status"], got["spent_micros"], got["remaining_micros"]) == ("lapsed", 2_000_000, 500_000)
    assert got["lapsed_at"]
    r = content(buyer, asset["id"], use="ai-input", license_id=lic["id"])
    assert r.status == 403 and r.json["code"] == "license_lapsed"
    r = content(buyer, asset["id"], use="ai-input")  # unnamed: the only licence here lapsed
    assert r.status == 403 and r.json["code"] == "license_lapsed" and "license_id" not in r.json
    assert budget_of(aws, lic["id"]).reserved == 2_000_000
    # When the buyer raises the cap in period 3 (days 90-120): the licence is active again and delivers
    at(100)
    raised = buyer.patch(f"/v1/licenses/{lic['id']}", {"budget_cap_micros": 3_500_000})
    assert raised.status == 200, raised.body
    assert (raised.json["status"], raised.json["lapsed_at"]) == ("active", None)
    assert budget_of(aws, lic["id"]).reserved == 3_000_000  # the running period is reserved with the raise
    assert content(buyer, asset["id"], use="ai-input", license_id=lic["id"]).status == 200
    # And renewals resume at the current period, not the gap: period 3 is charged, period 2 never
    assert renew() == 1
    charges = MeteringStore(aws["METERING_TABLE"]).known([f"CHG#sub:{lic['id']}:{n}" for n in range(5)])
    assert charges == {f"CHG#sub:{lic['id']}:{n}" for n in (0, 1, 3)}
    assert books(admin, lic["id"], buyer, market["buyer_acct"]["id"]) == {
        "spent": 3_000_000,
        "remaining": 500_000,
        "balance": -3_000_000,
    }
    # And period 4 passes the raised cap again: lapsed again, nothing charged
    at(125)
    assert renew() == 0
    assert buyer.get(f"/v1/licenses/{lic['id']}").json["status"] == "lapsed"
    assert spend_record(aws, lic["id"]) == 3_000_000 <= budget_of(aws, lic["id"]).cap


def test_a_reactivation_charge_whose_send_fails_is_left_to_the_outbox_and_booked_once(
    aws: dict[str, str], gw: Any, admin: Any, market: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The running period's charge of a raise that reactivates a lapsed subscription is reserved on the new cap in the
    raise's transaction; its message is written there too (the grant's outbox), so a send that fails afterwards
    loses nothing: before, the period was reserved and delivered but never charged."""
    from functions.licensing.dal import outbox
    from functions.licensing.dal import queue as queue_dal
    from functions.licensing.logic import licenses
    from functions.metering.logic import jobs
    from local.dispatch import run_job

    buyer = market["buyer"]
    # Given a subscription capped at 1,500,000 that lapsed in its second period (the renewal did not fit)
    lic, start = subscribed(aws, gw, market, 1_500_000)

    def at(days: float) -> None:
        days_on(monkeypatch, start, days, jobs, licenses)

    at(31)
    assert run_job(gw.invoke, "renew_subscriptions")["charges_queued"] == 0
    meter(aws, gw)
    assert buyer.get(f"/v1/licenses/{lic['id']}").json["status"] == "lapsed"
    queue_messages(aws)
    # When the buyer raises the cap while the usage queue refuses every send
    with monkeypatch.context() as m:
        m.setattr(queue_dal, "send", lambda *_: (_ for _ in ()).throw(ConnectionError("injected")))
        raised = buyer.patch(f"/v1/licenses/{lic['id']}", {"budget_cap_micros": 2_500_000})
    # Then the raise succeeds, the period is reserved, and its charge waits in the outbox (nothing was queued)
    assert raised.status == 200, raised.body
    assert raised.json["status"] == "active"
    assert budget_of(aws, lic["id"]).reserved == 2_000_000
    assert queue_messages(aws) == []
    (pending,) = outbox.pending(aws["LICENSING_TABLE"], "9999")
    assert pending.message["charge_id"] == f"sub:{lic['id']}:1" and pending.message["amount_micros"] == 1_000_000
    # And the relay sends it (its sweep takes what is older than age_s: the raise happened 31 days on, by the moved
    # clock), metering books it once, and the outbox is empty
    assert run_job(gw.invoke, "relay_outbox", age_s=-32 * 86400) == {"relayed": 1}
    meter(aws, gw)
    assert outbox.pending(aws["LICENSING_TABLE"], "9999") == []
    assert books(admin, lic["id"], buyer, market["buyer_acct"]["id"]) == {
        "spent": 2_000_000,
        "remaining": 500_000,
        "balance": -2_000_000,
    }


def test_a_lapse_message_delivered_again_after_the_reactivation_does_not_lapse_the_licence(
    aws: dict[str, str], gw: Any, market: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQS delivers at least once (and a DLQ can be redriven): a lapse decided before the buyer raised the cap must
    not end the licence the raise reactivated."""
    import json

    import boto3

    from functions.licensing.logic import licenses
    from functions.metering.logic import jobs
    from local.dispatch import run_job

    buyer = market["buyer"]
    lic, start = subscribed(aws, gw, market, 1_500_000)
    days_on(monkeypatch, start, 31, jobs, licenses)
    sqs = boto3.client("sqs")
    assert run_job(gw.invoke, "renew_subscriptions")["charges_queued"] == 0
    sent = sqs.receive_message(QueueUrl=aws["LICENSING_QUEUE_URL"], MaxNumberOfMessages=10, VisibilityTimeout=0)
    lapse = [json.loads(m["Body"]) for m in sent["Messages"]]
    assert [m["kind"] for m in lapse] == ["lapse"]
    meter(aws, gw)
    assert buyer.get(f"/v1/licenses/{lic['id']}").json["status"] == "lapsed"
    assert buyer.patch(f"/v1/licenses/{lic['id']}", {"budget_cap_micros": 2_500_000}).json["status"] == "active"
    # When the same lapse message arrives again
    sqs.send_message(QueueUrl=aws["LICENSING_QUEUE_URL"], MessageBody=json.dumps(lapse[0]))
    meter(aws, gw)
    # Then the licence stays active, and its running period was charged at the raise, within the raised cap
    assert buyer.get(f"/v1/licenses/{lic['id']}").json["status"] == "active"
    assert run_job(gw.invoke, "renew_subscriptions")["charges_queued"] == 0  # already booked: nothing to renew
    meter(aws, gw)
    got = buyer.get(f"/v1/licenses/{lic['id']}").json
    assert (got["status"], got["spent_micros"]) == ("active", 2_000_000)


def test_a_cap_raised_before_the_lapse_is_processed_keeps_the_licence_and_charges_the_renewal(
    aws: dict[str, str], gw: Any, market: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The renewal job decides a lapse; before the licensing consumer runs, the buyer raises the cap (the licence is
    still active, so the raise reactivates nothing): the raise wins, the licence stays active and is charged."""
    from functions.metering.logic import jobs
    from local.dispatch import drain, run_job

    buyer = market["buyer"]
    lic, start = subscribed(aws, gw, market, 1_500_000)
    days_on(monkeypatch, start, 31, jobs)  # only the renewal job's clock moves
    assert run_job(gw.invoke, "renew_subscriptions")["charges_queued"] == 0  # a lapse message is queued
    raised = buyer.patch(f"/v1/licenses/{lic['id']}", {"budget_cap_micros": 2_000_000})
    assert raised.json["status"] == "active"
    drain(gw.invoke, aws, ("licensing",))
    assert buyer.get(f"/v1/licenses/{lic['id']}").json["status"] == "active"
    assert run_job(gw.invoke, "renew_subscriptions")["charges_queued"] == 1
    meter(aws, gw)
    got = buyer.get(f"/v1/licenses/{lic['id']}").json
    assert (got["status"], got["spent_micros"], got["remaining_micros"]) == ("active", 2_000_000, 0)
    assert budget_of(aws, lic["id"]).reserved == 2_000_000


# ----------------------------------------------------------------------------- PATCH the cap
def test_patch_cap_raise_lower_below_spent_and_while_a_lease_holds_budget(
    aws: dict[str, str], gw: Any, market: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.licensing.logic import licenses

    buyer, asset = market["buyer"], market["asset"]
    lic = grant(buyer, market["per_access"]["id"], "search", 100_000).json["license"]
    path = f"/v1/licenses/{lic['id']}"
    # Given one delivery: its instance took a lease of half the remainder (5 accesses = 50,000 micros)
    assert content(buyer, asset["id"], use="search", license_id=lic["id"]).status == 200
    meter(aws, gw)
    assert budget_of(aws, lic["id"]).reserved == 50_000
    assert buyer.get(path).json["spent_micros"] == PRICE
    # A raise is taken at once; remaining is cap - spent
    up = buyer.patch(path, {"budget_cap_micros": 150_000})
    assert up.status == 200 and (up.json["budget_cap_micros"], up.json["remaining_micros"]) == (150_000, 140_000)
    # A lower cap that the unreserved remainder covers is taken
    down = buyer.patch(path, {"budget_cap_micros": 120_000})
    assert down.status == 200 and down.json["remaining_micros"] == 110_000
    # Below what was charged: 422 cap_below_spent, naming the spend
    below = buyer.patch(path, {"budget_cap_micros": PRICE - 1})
    assert below.status == 422 and below.json["code"] == "cap_below_spent" and below.json["spent_micros"] == PRICE
    # Above the spend but into what the live lease holds: 409 budget_reserved, retry after the lease TTL
    held = buyer.patch(path, {"budget_cap_micros": 20_000})
    assert held.status == 409 and held.json["code"] == "budget_reserved", held.body
    assert held.headers["retry-after"] == str(budget_rules.LEASE_TTL_S)
    assert buyer.get(path).json["budget_cap_micros"] == 120_000
    # After the lease TTL the unused part of the lease comes back, and the same PATCH is taken
    later = real_now() + timedelta(seconds=budget_rules.LEASE_TTL_S + 1)
    monkeypatch.setattr(licenses, "now", lambda: later)
    ok = buyer.patch(path, {"budget_cap_micros": 20_000})
    assert ok.status == 200, ok.body
    assert (ok.json["budget_cap_micros"], ok.json["spent_micros"], ok.json["remaining_micros"]) == (
        20_000,
        PRICE,
        PRICE,
    )
    b = budget_of(aws, lic["id"])
    assert (b.cap, b.reserved, b.open_leases) == (20_000, PRICE, 0)
    # The licence delivers what the lower cap leaves (one access), then refuses
    monkeypatch.setattr(budget_rules, "LEASE_USE_S", 0)  # the holder stopped using its lease long ago
    assert content(buyer, asset["id"], use="search", license_id=lic["id"]).status == 200
    r = content(buyer, asset["id"], use="search", license_id=lic["id"])
    assert r.status == 403 and r.json["code"] == "budget_exhausted"
    meter(aws, gw)
    assert buyer.get(path).json["spent_micros"] == 20_000
    # PATCH is the buyer's: not the publisher's, and another buyer does not find it; an uncapped licence has no cap
    assert market["pub"].patch(path, {"budget_cap_micros": 50_000}).json["code"] == "insufficient_role"
    assert market["other"].patch(path, {"budget_cap_micros": 50_000}).status == 404
    free = grant(buyer, market["per_access"]["id"], "ai-input").json["license"]
    r = buyer.patch(f"/v1/licenses/{free['id']}", {"budget_cap_micros": 50_000})
    assert r.status == 422 and r.json["code"] == "uncapped"


def test_parallel_cap_changes_and_deliveries_never_charge_past_the_final_cap(
    aws: dict[str, str], gw: Any, market: dict[str, Any], instances: Any
) -> None:
    buyer, asset = market["buyer"], market["asset"]
    lic = grant(buyer, market["per_access"]["id"], "search", 60_000).json["license"]
    path = f"/v1/licenses/{lic['id']}"
    deliverers = instances(buyer.key, 6)
    patcher = instances(buyer.key, 1)[0]

    def patches() -> list[Any]:
        return [patcher.patch(path, {"budget_cap_micros": cap}) for cap in (40_000, 30_000, 45_000, 35_000)]

    jobs: list[Any] = [
        rounds(3, lambda c=c: content(c, asset["id"], use="search", license_id=lic["id"])) for c in deliverers
    ]
    results = in_threads([*jobs, patches])
    *deliveries, patched = results
    delivered = sum(r.status == 200 for r in flatten(deliveries))
    assert {r.status for r in patched} <= {200, 409, 422}
    meter(aws, gw)
    final = buyer.get(path).json
    b = budget_of(aws, lic["id"])
    assert b.cap == final["budget_cap_micros"] and b.reserved <= b.cap
    assert final["spent_micros"] == delivered * PRICE <= final["budget_cap_micros"]


# ----------------------------------------------------------------------------- leases that expire
def test_an_expired_leases_unused_budget_returns_at_the_next_reservation(
    aws: dict[str, str], gw: Any, admin: Any, market: dict[str, Any], instances: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch)
    buyer, asset = market["buyer"], market["asset"]
    lic = grant(buyer, market["per_access"]["id"], "search", 3 * PRICE).json["license"]
    a, b, c = instances(buyer.key, 3)

    def fetch(client: Any) -> Any:
        return content(client, asset["id"], use="search", license_id=lic["id"])

    # Given instance A took a lease of two accesses and used one, B the last access: nothing is left to reserve
    assert fetch(a).status == 200
    assert fetch(b).status == 200
    assert budget_of(aws, lic["id"]).available == 0
    # When C asks while A's lease is live, it is refused (A may still spend it)
    assert fetch(c).json["code"] == "budget_exhausted"
    meter(aws, gw)
    # When A stops (its instance died) and the lease TTL passes, C's reservation returns A's unused access and uses it
    clock.advance(budget_rules.LEASE_TTL_S + 1)
    assert fetch(c).status == 200
    assert budget_of(aws, lic["id"]).open_leases == 1  # A's and B's leases were released, C's is open
    # Then the cap is reached exactly: no fourth access anywhere
    assert {fetch(x).json["code"] for x in (a, b, c)} == {"budget_exhausted"}
    meter(aws, gw)
    assert books(admin, lic["id"], buyer, market["buyer_acct"]["id"]) == {
        "spent": 3 * PRICE,
        "remaining": 0,
        "balance": -3 * PRICE,
    }
    assert budget_of(aws, lic["id"]).reserved == 3 * PRICE


def test_expired_leases_are_returned_once_when_instances_race_to_release_them(
    aws: dict[str, str], gw: Any, admin: Any, market: dict[str, Any], instances: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch)
    buyer, asset = market["buyer"], market["asset"]
    lic = grant(buyer, market["per_access"]["id"], "search", 5 * PRICE).json["license"]

    def fetch(client: Any) -> Any:
        return content(client, asset["id"], use="search", license_id=lic["id"])

    # Given three instances holding leases of 3, 1 and 1 accesses, two of the five accesses used, all metered
    a, b, c = instances(buyer.key, 3)
    assert [fetch(x).status for x in (a, b, c)] == [200, 200, 200]
    assert budget_of(aws, lic["id"]).available == 0
    meter(aws, gw)
    # When the TTL has passed and 8 new instances ask at once: each finds the expired leases and tries to release
    clock.advance(budget_rules.LEASE_TTL_S + 1)
    results = list(flatten(in_threads([rounds(2, lambda x=x: fetch(x)) for x in instances(buyer.key, 8)])))
    # Then the two unused accesses came back once: exactly two more deliveries, the cap charged exactly
    assert statuses(results) == {200: 2, (403, "budget_exhausted"): 14}
    meter(aws, gw)
    assert books(admin, lic["id"], buyer, market["buyer_acct"]["id"]) == {
        "spent": 5 * PRICE,
        "remaining": 0,
        "balance": -5 * PRICE,
    }
    b_ = budget_of(aws, lic["id"])
    assert (b_.reserved, b_.cap) == (5 * PRICE, 5 * PRICE)


def test_metering_racing_the_release_of_its_leases_never_charges_past_the_cap(
    aws: dict[str, str], gw: Any, market: dict[str, Any], instances: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deliveries whose messages are metered while (or after) other instances release their expired leases: each
    message is booked on its lease, reserved late, or written off; the cap holds and every delivery is journalled."""
    from local.dispatch import drain

    clock = Clock(monkeypatch)
    buyer, asset = market["buyer"], market["asset"]
    lic = grant(buyer, market["per_access"]["id"], "search", 6 * PRICE).json["license"]

    def fetch(client: Any) -> Any:
        return content(client, asset["id"], use="search", license_id=lic["id"])

    first = list(flatten(in_threads([rounds(2, lambda x=x: fetch(x)) for x in instances(buyer.key, 4)])))
    clock.advance(budget_rules.LEASE_TTL_S + 1)  # the pipeline is late: nothing of the first burst is metered yet
    second = in_threads(
        [
            *[rounds(3, lambda x=x: fetch(x)) for x in instances(buyer.key, 4)],
            lambda: [drain(gw.invoke, aws, ("usage",)) for _ in range(3)],
        ]
    )
    meter(aws, gw)
    delivered = sum(r.status == 200 for r in first) + sum(r.status == 200 for r in flatten(second[:-1]))
    rows = MeteringStore(aws["METERING_TABLE"]).query_all(f"USAGE#B#{market['buyer_acct']['id']}")
    accesses = sum(int(r["accesses"]) for r in rows if r["license_id"] == lic["id"])
    assert accesses == delivered  # every delivery journalled and counted, charged or written off
    spent = buyer.get(f"/v1/licenses/{lic['id']}").json["spent_micros"]
    assert spent <= 6 * PRICE and spent % PRICE == 0
    b_ = budget_of(aws, lic["id"])
    assert b_.reserved <= b_.cap and spent <= b_.reserved


def test_deliveries_metered_after_their_lease_was_released_are_reserved_when_the_cap_allows(
    aws: dict[str, str], gw: Any, market: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.licensing.logic import licenses

    buyer, asset = market["buyer"], market["asset"]
    lic = grant(buyer, market["per_access"]["id"], "search", 50_000).json["license"]
    # Given two deliveries on a lease of three accesses, not metered yet (the pipeline is late)
    for _ in range(2):
        assert content(buyer, asset["id"], use="search", license_id=lic["id"]).status == 200
    held = delivery_records(aws)  # taken off the deliveries stream: metered later
    # When the lease TTL passes and a PATCH (a reservation) releases the lease: nothing booked on it, 30,000 back
    later = real_now() + timedelta(seconds=budget_rules.LEASE_TTL_S + 1)
    monkeypatch.setattr(licenses, "now", lambda: later)
    assert buyer.patch(f"/v1/licenses/{lic['id']}", {"budget_cap_micros": 60_000}).status == 200
    assert budget_of(aws, lic["id"]).reserved == 0
    # And the two delivery messages arrive afterwards
    put_delivery_records(aws, held)
    meter(aws, gw)
    # Then they reserve on the budget directly and are charged
    assert len(held) == 2
    usage = buyer.get("/v1/usage", params={"group_by": "license"}).json["items"]
    assert [(u["accesses"], u["amount_micros"]) for u in usage if u["key"] == lic["id"]] == [(2, 2 * PRICE)]
    assert buyer.get(f"/v1/licenses/{lic['id']}").json["spent_micros"] == 2 * PRICE
    assert budget_of(aws, lic["id"]).reserved == 2 * PRICE


def test_deliveries_metered_after_their_lease_was_released_are_written_off_when_the_cap_is_spent(
    aws: dict[str, str], gw: Any, admin: Any, market: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch)
    buyer, asset = market["buyer"], market["asset"]
    lic = grant(buyer, market["per_access"]["id"], "search", 30_000).json["license"]

    def fetch() -> Any:
        return content(buyer, asset["id"], use="search", license_id=lic["id"])

    # Given two deliveries on a lease of two accesses whose messages the pipeline holds back
    assert fetch().status == 200 and fetch().status == 200
    held = delivery_records(aws)
    assert len(held) == 2
    # When the holder's lease expires unmetered, the next reservations return it and spend the cap in full
    clock.advance(budget_rules.LEASE_TTL_S + 1)
    assert fetch().status == 200 and fetch().status == 200 and fetch().status == 200
    assert fetch().json["code"] == "budget_exhausted"
    meter(aws, gw)
    assert buyer.get(f"/v1/licenses/{lic['id']}").json["spent_micros"] == 30_000
    # And the held-back messages are metered late: the cap cannot cover them, they are written off (booked at zero)
    put_delivery_records(aws, held)
    meter(aws, gw)
    assert books(admin, lic["id"], buyer, market["buyer_acct"]["id"]) == {
        "spent": 30_000,
        "remaining": 0,
        "balance": -30_000,
    }
    usage = buyer.get("/v1/usage", params={"group_by": "license"}).json["items"]
    assert [(u["accesses"], u["amount_micros"]) for u in usage if u["key"] == lic["id"]] == [(5, 30_000)]


# ----------------------------------------------------------------------------- the hot path's writes
def test_uncapped_deliveries_write_nothing_and_capped_ones_write_once_per_lease(
    gw: Any, market: dict[str, Any]
) -> None:
    from tests.integration.licensing.test_delivery import count_aws_calls

    gw.auth_cache_ttl = 60
    buyer, asset = market["buyer"], market["asset"]
    uncapped = grant(buyer, market["per_access"]["id"], "ai-input").json["license"]
    flat_capped = grant(buyer, market["flat"]["id"], "ai-train", 5_000_000).json["license"]  # price 0 per access
    capped = grant(buyer, market["per_access"]["id"], "search", 1_000 * PRICE).json["license"]
    content(buyer, asset["id"], use="ai-input")  # warm
    writes = ("PutItem", "UpdateItem", "TransactWriteItems", "BatchWriteItem", "DeleteItem")
    with count_aws_calls() as calls:
        for _ in range(5):
            assert content(buyer, asset["id"], use="ai-input").status == 200
            assert content(buyer, asset["id"], use="ai-input", license_id=uncapped["id"]).status == 200
            r = content(buyer, asset["id"], use="ai-input", headers={"crawler-max-price": "USD 0.020000"})
            assert r.status == 200 and r.json["license_id"] == uncapped["id"]
            assert content(buyer, asset["id"], use="ai-train", license_id=flat_capped["id"]).status == 200
            assert content(buyer, asset["id"], use="ai-train").status == 200
    assert calls.pop("limiter.UpdateItem", 0) <= 2  # the rate limiter's leases (50 requests each), counted apart
    assert [k for k in calls if k.split(".")[1] in writes] == [], calls
    with count_aws_calls() as calls:
        for _ in range(100):
            assert content(buyer, asset["id"], use="search", license_id=capped["id"]).status == 200
    assert calls.pop("limiter.UpdateItem", 0) <= 3
    assert sum(n for k, n in calls.items() if k.split(".")[1] in writes) <= 2, calls  # one lease of 500 accesses


def test_a_raise_that_cannot_pay_the_running_period_does_not_reactivate(
    aws: dict[str, str], gw: Any, market: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lapsed subscription reactivated by a raise pays its running period at once (else it would deliver unpaid until
    the next renewal run lapsed it again): a raise that cannot cover it is refused and changes nothing."""
    from functions.licensing.logic import licenses
    from functions.metering.logic import jobs
    from local.dispatch import run_job

    buyer, asset = market["buyer"], market["asset"]
    # Given a subscription capped at one period, lapsed at its first renewal
    lic, start = subscribed(aws, gw, market, 1_000_000)
    days_on(monkeypatch, start, 31, jobs, licenses)
    run_job(gw.invoke, "renew_subscriptions")
    meter(aws, gw)
    assert buyer.get(f"/v1/licenses/{lic['id']}").json["status"] == "lapsed"
    # When the buyer raises the cap by one micro
    r = buyer.patch(f"/v1/licenses/{lic['id']}", {"budget_cap_micros": 1_000_001})
    # Then it is refused (the running period costs 1,000,000) and the licence stays lapsed, nothing reserved
    assert r.status == 422 and r.json["code"] == "budget_below_price"
    got = buyer.get(f"/v1/licenses/{lic['id']}").json
    assert (got["status"], got["budget_cap_micros"]) == ("lapsed", 1_000_000)
    assert budget_of(aws, lic["id"]).reserved == 1_000_000
    assert content(buyer, asset["id"], use="ai-input", license_id=lic["id"]).status == 403
    # And a raise that covers it reactivates the licence and books the period once
    r = buyer.patch(f"/v1/licenses/{lic['id']}", {"budget_cap_micros": 2_000_000})
    assert r.status == 200 and r.json["status"] == "active"
    meter(aws, gw)
    assert run_job(gw.invoke, "renew_subscriptions")["charges_queued"] == 0
    meter(aws, gw)
    got = buyer.get(f"/v1/licenses/{lic['id']}").json
    assert (got["spent_micros"], got["remaining_micros"]) == (2_000_000, 0)

"""DynamoDB's ``TransactionConflict`` on a budget record, injected: what each writer of the budget does when the cloud
cancels its transaction because another request was writing the same item at that instant.

The embedded DynamoDB serialises requests, so it never produces the conflict; DynamoDB does, whenever two transactions
(or a transaction and a write) touch the same item concurrently — two instances taking leases on one licence, a
reservation racing a release. botocore does not retry a ``TransactionCanceledException``. The conflict is injected
here at the client (a botocore ``before-call`` hook answering as DynamoDB does: 400, the cancellation reasons with
``TransactionConflict`` on the budget item), through the real handlers; the request never reaches the store, as a
cancelled transaction writes nothing. (R7: conflicts retry.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from functions.licensing.logic import budget as budget_rules
from functions.shared import aws as shared_aws
from tests.integration.conftest import meter
from tests.integration.licensing.test_budget_caps import PRICE, Clock, budget_of, content, grant


class _Http:
    status_code = 400
    headers: dict[str, str] = {}


@contextmanager
def conflicts(times: int) -> Iterator[list[str]]:
    """The next ``times`` transactions that write a budget record are cancelled with ``TransactionConflict`` on it.
    Yields the list of cancelled transactions' first keys (to assert the injection happened)."""
    hit: list[str] = []
    ddb = shared_aws.client("dynamodb")

    def hook(params: dict[str, Any], **_: Any) -> Any:
        if len(hit) >= times:
            return None
        items = json.loads(params["body"]).get("TransactItems", [])
        keys = [next(iter(i.values()))["Key" if "Key" in next(iter(i.values())) else "Item"]["pk"]["S"] for i in items]
        if not any(k.startswith("BUDGET#") for k in keys):
            return None
        hit.append(keys[0])
        reasons = [
            {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
            if k.startswith("BUDGET#")
            else {"Code": "None"}
            for k in keys
        ]
        return _Http(), {
            "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
            "CancellationReasons": reasons,
        }

    ddb.meta.events.register("before-call.dynamodb.TransactWriteItems", hook)
    try:
        yield hit
    finally:
        ddb.meta.events.unregister("before-call.dynamodb.TransactWriteItems", hook)


def test_a_lease_taken_in_a_conflict_is_taken_again(aws: dict[str, str], gw: Any, market: dict[str, Any]) -> None:
    buyer, asset = market["buyer"], market["asset"]
    lic = grant(buyer, market["per_access"]["id"], "search", 3 * PRICE).json["license"]
    with conflicts(2) as hit:
        r = content(buyer, asset["id"], use="search", license_id=lic["id"])
    assert len(hit) == 2
    assert r.status == 200, r.body
    meter(aws, gw)
    assert buyer.get(f"/v1/licenses/{lic['id']}").json["spent_micros"] == PRICE
    b = budget_of(aws, lic["id"])
    assert b.reserved <= b.cap and b.open_leases == 1


def test_a_release_in_a_conflict_is_a_lost_race_not_an_error(
    aws: dict[str, str], gw: Any, market: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch)
    buyer, asset = market["buyer"], market["asset"]
    lic = grant(buyer, market["per_access"]["id"], "search", 2 * PRICE).json["license"]
    assert content(buyer, asset["id"], use="search", license_id=lic["id"]).status == 200  # a lease of one access
    assert content(buyer, asset["id"], use="search", license_id=lic["id"]).status == 200  # and another
    meter(aws, gw)
    monkeypatch.setattr(budget_rules, "LEASE_USE_S", 0)
    clock.advance(budget_rules.LEASE_TTL_S + 1)
    with conflicts(1) as hit:  # the release of the expired leases
        r = content(buyer, asset["id"], use="search", license_id=lic["id"])
    assert hit and r.status == 403 and r.json["code"] == "budget_exhausted", r.body
    assert budget_of(aws, lic["id"]).open_leases == 0  # released on the retry: used in full, nothing came back


def test_reported_units_in_a_conflict_are_recorded_on_the_retry(
    aws: dict[str, str], gw: Any, market: dict[str, Any]
) -> None:
    from functions.shared.clock import now_iso

    buyer, asset = market["buyer"], market["asset"]
    offer = market["offer"](uses=["ai-train"], pricing={"model": "per_unit", "amount_micros": 100, "unit": "page"})
    lic = buyer.post("/v1/licenses", {"offer_id": offer["id"], "use": "ai-train", "budget_cap_micros": 10_000}).json[
        "license"
    ]
    ev = {
        "event_id": "c1",
        "license_id": lic["id"],
        "asset_id": asset["id"],
        "use": "ai-train",
        "units": 7,
        "occurred_at": now_iso(),
    }
    with conflicts(1) as hit:
        r = buyer.post("/v1/usage", {"events": [ev]})
    assert hit and r.status == 202, r.body
    assert r.json == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert budget_of(aws, lic["id"]).reserved == 700
    meter(aws, gw)
    assert buyer.get(f"/v1/licenses/{lic['id']}").json["spent_micros"] == 700


def test_a_cap_change_in_a_conflict_asks_for_a_retry(aws: dict[str, str], market: dict[str, Any]) -> None:
    buyer = market["buyer"]
    lic = grant(buyer, market["per_access"]["id"], "search", 3 * PRICE).json["license"]
    with conflicts(1) as hit:
        r = buyer.patch(f"/v1/licenses/{lic['id']}", {"budget_cap_micros": 5 * PRICE})
    assert hit and r.status == 409 and r.json["code"] == "license_changed", r.body
    again = buyer.patch(f"/v1/licenses/{lic['id']}", {"budget_cap_micros": 5 * PRICE})
    assert again.status == 200 and again.json["budget_cap_micros"] == 5 * PRICE


def test_metering_a_lease_use_in_a_conflict_backs_off_and_commits(
    aws: dict[str, str], gw: Any, market: dict[str, Any]
) -> None:
    buyer, asset = market["buyer"], market["asset"]
    lic = grant(buyer, market["per_access"]["id"], "search", 3 * PRICE).json["license"]
    assert content(buyer, asset["id"], use="search", license_id=lic["id"]).status == 200
    with conflicts(1) as hit:  # the consumer's transaction books the delivery on its lease
        meter(aws, gw)
    assert hit
    assert buyer.get(f"/v1/licenses/{lic['id']}").json["spent_micros"] == PRICE

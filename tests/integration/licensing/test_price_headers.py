"""API v1.1 "Crawler price headers bind every charge", through the delivery handler and the metering consumer: with
``crawler-max-price`` the platform never charges more than that price, with ``crawler-exact-price`` never anything
else, whether it reuses a licence the buyer holds or grants one on the spot; when nothing fits, ``402`` with
``crawler-price``. Every ``200`` says what it charged (``crawler-charged``), and what metering books agrees.

v1 charged USD 1.00 to a buyer holding a USD 1.00 licence that sent ``crawler-max-price: USD 0.010000`` (issue 13).
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from functions.shared.money import parse_price_header
from tests.integration.conftest import meter
from tests.integration.instances import flatten, in_threads, rounds


def content(client: Any, asset_id: str, *, header: tuple[str, str] | None = None, **params: Any) -> Any:
    headers = {header[0]: header[1]} if header else None
    return client.get(f"/v1/assets/{asset_id}/content", params=params, headers=headers)


MAX = "crawler-max-price"
EXACT = "crawler-exact-price"


def charged_by_licence(aws: dict[str, str], buyer_id: str) -> dict[str, int]:
    """What metering booked per licence for this buyer's deliveries (its usage aggregates)."""
    from functions.metering.dal.store import MeteringStore

    out: dict[str, int] = {}
    for row in MeteringStore(aws["METERING_TABLE"]).query_all(f"USAGE#B#{buyer_id}"):
        out[row["license_id"]] = out.get(row["license_id"], 0) + int(row.get("amount_micros", 0))
    return out


def ppc_pointer(aws: dict[str, str], buyer_id: str, offer_id: str) -> str | None:
    got = boto3.client("dynamodb").get_item(
        TableName=aws["LICENSING_TABLE"], Key={"pk": {"S": f"PPC#{buyer_id}#{offer_id}"}, "sk": {"S": "PPC"}}
    )
    return got["Item"]["license_id"]["S"] if "Item" in got else None


def test_a_held_licence_above_the_max_price_is_never_charged(
    aws: dict[str, str], gw: Any, admin: Any, market: dict[str, Any]
) -> None:
    # Given a buyer holding a USD 1.00 per-access licence, and the market's USD 0.01 per-access offer
    buyer, asset, buyer_id = market["buyer"], market["asset"], market["buyer_acct"]["id"]
    dear_offer = market["offer"](uses=["ai-input"], pricing={"model": "per_access", "amount_micros": 1_000_000})
    dear = buyer.post("/v1/licenses", {"offer_id": dear_offer["id"], "use": "ai-input"}).json["license"]
    # When the crawler says it pays at most USD 0.010000 (and, twice, exactly that)
    sent = [
        content(buyer, asset["id"], use="ai-input", header=(MAX, "USD 0.010000")),
        content(buyer, asset["id"], use="ai-input", header=(EXACT, "USD 0.010000")),
        content(buyer, asset["id"], use="ai-input", header=(EXACT, "USD 0.01")),
    ]
    # Then it gets a pay-per-crawl licence at USD 0.01, never the USD 1.00 one
    assert [r.status for r in sent] == [200, 200, 200]
    ppc = {r.json["license_id"] for r in sent}
    assert len(ppc) == 1 and dear["id"] not in ppc
    assert ppc == {ppc_pointer(aws, buyer_id, market["per_access"]["id"])}
    assert [r.headers["crawler-charged"] for r in sent] == ["USD 0.010000"] * 3
    # Named, the USD 1.00 licence is not within the price: 402 naming the price that is
    named = content(buyer, asset["id"], use="ai-input", license_id=dear["id"], header=(MAX, "USD 0.010000"))
    assert named.status == 402 and named.json["code"] == "payment_required"
    assert named.headers["crawler-price"] == "USD 0.010000"
    # With exactly USD 1.00 the held licence is the one that fits
    exact = content(buyer, asset["id"], use="ai-input", header=(EXACT, "USD 1.000000"))
    assert exact.status == 200 and exact.json["license_id"] == dear["id"]
    assert exact.headers["crawler-charged"] == "USD 1.000000"
    # And metering books exactly what each 200 said
    meter(aws, gw)
    (ppc_id,) = ppc
    assert charged_by_licence(aws, buyer_id) == {ppc_id: 30_000, dear["id"]: 1_000_000}
    bal = admin.get("/v1/balance", params={"account_id": buyer_id}).json["balance_micros"]
    assert bal == -1_030_000


@pytest.mark.parametrize(
    ("header", "value", "expected"),
    [
        (MAX, "USD 0.005000", None),  # below every offer
        (EXACT, "USD 0.020000", None),  # no offer at exactly that
        (MAX, "EUR 1.000000", None),  # no offer in that currency
        (MAX, "USD 0.020000", 10_000),
        (EXACT, "USD 0.010000", 10_000),
    ],
)
def test_pay_per_crawl_charges_within_the_header_or_answers_402_with_the_price(
    aws: dict[str, str], gw: Any, market: dict[str, Any], header: str, value: str, expected: int | None
) -> None:
    buyer, asset, buyer_id = market["buyer"], market["asset"], market["buyer_acct"]["id"]
    r = content(buyer, asset["id"], use="search", header=(header, value))
    meter(aws, gw)
    if expected is None:
        assert r.status == 402 and r.json["code"] == "payment_required"
        assert r.headers["crawler-price"] == "USD 0.010000"
        assert buyer.get("/v1/licenses").json["items"] == []
        assert charged_by_licence(aws, buyer_id) == {}
        return
    assert r.status == 200
    currency, charged = parse_price_header(r.headers["crawler-charged"])
    limit_currency, limit = parse_price_header(value)
    assert currency == limit_currency and charged == expected
    assert charged <= limit if header == MAX else charged == limit
    assert charged_by_licence(aws, buyer_id) == {r.json["license_id"]: expected}


def test_held_flat_and_free_licences_with_price_headers(aws: dict[str, str], gw: Any, market: dict[str, Any]) -> None:
    # A flat licence charges nothing per access: within any max price (crawler-charged USD 0), never an exact one
    buyer, asset, buyer_id = market["buyer"], market["asset"], market["buyer_acct"]["id"]
    flat = buyer.post("/v1/licenses", {"offer_id": market["flat"]["id"], "use": "ai-train"}).json["license"]
    r = content(buyer, asset["id"], use="ai-train", header=(MAX, "USD 0.010000"))
    assert r.status == 200 and r.json["license_id"] == flat["id"] and r.headers["crawler-charged"] == "USD 0.000000"
    train_ppc = market["offer"](uses=["ai-train"], pricing={"model": "per_access", "amount_micros": 10_000})
    r = content(buyer, asset["id"], use="ai-train", header=(EXACT, "USD 0.010000"))
    assert r.status == 200 and r.json["license_id"] != flat["id"]
    assert r.headers["crawler-charged"] == "USD 0.010000"
    assert r.json["license_id"] == ppc_pointer(aws, buyer_id, train_ppc["id"])
    meter(aws, gw)
    got = charged_by_licence(aws, buyer_id)
    assert got == {flat["id"]: 5_000_000, r.json["license_id"]: 10_000}  # the flat licence: its grant, nothing more


def test_a_capped_licence_with_a_price_header_charges_within_both(
    aws: dict[str, str], gw: Any, market: dict[str, Any]
) -> None:
    buyer, asset, buyer_id = market["buyer"], market["asset"], market["buyer_acct"]["id"]
    capped = buyer.post(
        "/v1/licenses", {"offer_id": market["per_access"]["id"], "use": "search", "budget_cap_micros": 20_000}
    ).json["license"]
    got = [content(buyer, asset["id"], use="search", header=(MAX, "USD 0.010000")) for _ in range(2)]
    assert [(r.status, r.json["license_id"], r.headers["crawler-charged"]) for r in got] == [
        (200, capped["id"], "USD 0.010000")
    ] * 2
    # Named and exhausted: 403 budget_exhausted, price header or not
    r = content(buyer, asset["id"], use="search", license_id=capped["id"], header=(MAX, "USD 0.010000"))
    assert r.status == 403 and r.json["code"] == "budget_exhausted"
    meter(aws, gw)
    assert charged_by_licence(aws, buyer_id) == {capped["id"]: 20_000}


def test_parallel_first_crawls_grant_one_pay_per_crawl_licence_and_charge_each_delivery_once(
    aws: dict[str, str], gw: Any, admin: Any, market: dict[str, Any], instances: Any
) -> None:
    # Given a buyer with no licence, 8 instances crawling at once with a max price
    buyer, asset, buyer_id = market["buyer"], market["asset"], market["buyer_acct"]["id"]
    results = list(
        flatten(
            in_threads(
                [
                    rounds(3, lambda c=c: content(c, asset["id"], use="search", header=(MAX, "USD 0.010000")))
                    for c in instances(buyer.key, 8)
                ]
            )
        )
    )
    # Then every crawl is delivered under one and the same pay-per-crawl licence, at the price
    assert {r.status for r in results} == {200}
    ids = {r.json["license_id"] for r in results}
    assert len(ids) == 1 and ids == {ppc_pointer(aws, buyer_id, market["per_access"]["id"])}
    assert {r.headers["crawler-charged"] for r in results} == {"USD 0.010000"}
    assert [x["id"] for x in buyer.get("/v1/licenses").json["items"]] == list(ids)
    meter(aws, gw)
    assert charged_by_licence(aws, buyer_id) == {ids.pop(): 24 * 10_000}
    assert admin.get("/v1/balance", params={"account_id": buyer_id}).json["balance_micros"] == -240_000

"""Issue 17, section 3, on the catalogue routes: bad input is a 4xx problem; an offer is public only when its asset is.

v1 accepted ``published_at`` of 30 February or the year 2999, ``"3"`` and ``true`` as sizes, amounts and flags, any
three capital letters as a currency (``XXX``), answered a body nested 100,000 levels deep or with a 5,000-digit
number with a 500, and showed anyone the offers of a pending, rejected or withdrawn asset.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from functions.shared import clock
from functions.shared.clock import iso
from tests.integration.catalog.test_catalog_api import asset_body, put_object, upload


@pytest.fixture
def publisher(make_account: Any) -> Any:
    return make_account("publisher")[0]


def _problem(r: Any, status: int, field: str | None = None) -> None:
    assert r.status == status, r.body
    assert r.content_type == "application/problem+json"
    if field is not None:
        assert any(e["field"].endswith(field) for e in r.json["errors"]), r.json


@pytest.mark.parametrize(
    "published_at",
    ["2026-02-30T00:00:00Z", "2026-04-31T12:00:00Z", "2026-11-29T10:61:00Z", "2999-01-01T00:00:00Z", "2026-11-29"],
)
def test_published_at_is_a_real_date_at_most_a_day_ahead(publisher: Any, published_at: str) -> None:
    _problem(publisher.post("/v1/assets", asset_body(b"x", published_at=published_at)), 422, "published_at")


def test_published_at_window_follows_the_marketplace_clock(publisher: Any) -> None:
    _problem(
        publisher.post("/v1/assets", asset_body(b"x", published_at=iso(clock.now() + timedelta(days=1, minutes=5)))),
        422,
        "published_at",
    )
    for ok in (iso(clock.now() + timedelta(hours=23)), "1851-09-18T00:00:00Z"):  # old works keep their date
        r = publisher.post("/v1/assets", asset_body(b"x", published_at=ok))
        assert r.status == 201, r.body
    aid = r.json["asset"]["id"]
    _problem(publisher.patch(f"/v1/assets/{aid}", {"published_at": "2026-02-29T00:00:00Z"}), 422, "published_at")


@pytest.mark.parametrize("size", ["3", True, 3.0])
def test_sizes_are_json_integers(publisher: Any, size: Any) -> None:
    _problem(publisher.post("/v1/assets", {**asset_body(b"abc"), "size_bytes": size}), 422, "size_bytes")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"pricing": {"model": "flat", "amount_micros": "5000000"}}, "amount_micros"),
        ({"pricing": {"model": "flat", "amount_micros": True}}, "amount_micros"),
        ({"pricing": {"model": "subscription", "amount_micros": 5, "period_days": "30"}}, "period_days"),
        ({"term_days": "30"}, "term_days"),
        ({"max_licenses": True}, "max_licenses"),
        ({"attribution_required": "yes"}, "attribution_required"),
        ({"attribution_required": 1}, "attribution_required"),
        ({"pricing": {"model": "flat", "amount_micros": 5, "currency": "XXX"}}, "currency"),
        ({"pricing": {"model": "flat", "amount_micros": 5, "currency": "ABC"}}, "currency"),
        ({"pricing": {"model": "flat", "amount_micros": 5, "currency": "BTC"}}, "currency"),
    ],
)
def test_offer_numbers_are_strict_and_currencies_known(
    aws: dict[str, str], publisher: Any, change: dict[str, Any], field: str
) -> None:
    asset = upload(publisher, aws, b"strict")
    body = {"asset_id": asset["id"], "uses": ["ai-train"], "pricing": {"model": "flat", "amount_micros": 5}, **change}
    _problem(publisher.post("/v1/offers", body), 422, field)


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"title":' + b"{" * 65 + b"}" * 65 + b"}",
        b'{"size_bytes":' + b"9" * 5_000 + b"}",
        b'{"size_bytes":-' + b"9" * 21 + b"}",
    ],
    ids=["100000-deep", "66-deep", "5000-digits", "21-digits"],
)
@pytest.mark.parametrize("path", ["/v1/assets", "/v1/offers", "/v1/collections"])
def test_too_deep_or_too_long_numbers_are_400_at_the_edge(publisher: Any, raw: bytes, path: str) -> None:
    r = publisher.call("POST", path, raw=raw)
    _problem(r, 400)
    assert r.json["code"] == "json_limits"


def test_offers_of_an_asset_that_is_not_available_are_not_public(
    aws: dict[str, str], make_account: Any, admin: Any
) -> None:
    owner, owner_acct = make_account("publisher")
    buyer, _ = make_account("buyer")
    public = owner.as_(None)
    pending = owner.post("/v1/assets", asset_body(b"not yet")).json["asset"]
    rejected = owner.post("/v1/assets", asset_body(b"declared")).json["asset"]
    put_object(aws, rejected, b"other bytes")
    assert owner.post(f"/v1/assets/{rejected['id']}/complete").json["status"] == "rejected"
    available = upload(owner, aws, b"on sale")
    offers = {}
    for name, asset in (("pending", pending), ("rejected", rejected), ("available", available)):
        r = owner.post(
            "/v1/offers",
            {"asset_id": asset["id"], "uses": ["ai-train"], "pricing": {"model": "flat", "amount_micros": 5}},
        )
        if r.status == 409:  # a rejected asset cannot be offered at all
            continue
        assert r.status == 201, r.body
        offers[name] = r.json["id"]
    assert set(offers) >= {"pending", "available"}
    hidden = [offers[n] for n in offers if n != "available"]
    # Then the public and other accounts see only the available asset's offer, by id and in every listing
    for viewer in (public, buyer, public.as_("imp_live_not_a_key")):
        for oid in hidden:
            r = viewer.get(f"/v1/offers/{oid}")
            _problem(r, 404)
        assert viewer.get(f"/v1/offers/{offers['available']}").status == 200
        assert viewer.get("/v1/offers", params={"asset_id": pending["id"]}).json["items"] == []
        listed = [o["id"] for o in viewer.get("/v1/offers", params={"publisher_id": owner_acct["id"]}).json["items"]]
        assert listed == [offers["available"]]
        found = viewer.get("/v1/catalog/assets", params={"publisher_id": owner_acct["id"]}).json["items"]
        assert [a["id"] for a in found] == [available["id"]]
        assert viewer.get(f"/v1/assets/{pending['id']}/rsl.xml").status == 404
        rsl = viewer.get(f"/v1/publishers/{owner_acct['id']}/rsl.xml")
        assert rsl.status == 200 and pending["id"].encode() not in rsl.body and available["id"].encode() in rsl.body
    # The owner and admins still see them
    for viewer in (owner, admin):
        for oid in hidden:
            assert viewer.get(f"/v1/offers/{oid}").status == 200
        listed = [o["id"] for o in viewer.get("/v1/offers", params={"publisher_id": owner_acct["id"]}).json["items"]]
        assert set(listed) == set(offers.values())


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested more than 512 levels"),
        (b'{"a":' + b"[" * 600 + b"]" * 600 + b"}", "nested more than 512 levels"),
        (b'{"n":' + b"7" * 5_000 + b"}", "not valid JSON"),
    ],
    ids=["100000-deep", "601-deep", "5000-digits"],
)
@pytest.mark.parametrize("path", ["complete", "s3-event"])
def test_a_poison_json_upload_ends_rejected_with_a_reason(
    aws: dict[str, str], gw: Any, publisher: Any, data: bytes, reason: str, path: str
) -> None:
    from local.dispatch import drain

    r = publisher.post("/v1/assets", asset_body(data, media_type="application/json"))
    assert r.status == 201, r.body
    asset = r.json["asset"]
    put_object(aws, asset, data)
    if path == "complete":
        done = publisher.post(f"/v1/assets/{asset['id']}/complete")
        assert done.status == 200, done.body
    else:  # the S3 notification through the uploads queue: the verifier must not fail the message (DLQ)
        drain(gw.invoke, aws, queues=("uploads",))
        done = publisher.get(f"/v1/assets/{asset['id']}")
    assert done.json["status"] == "rejected", done.json
    assert reason in done.json["status_reason"]


def test_a_json_upload_nested_512_levels_is_accepted(aws: dict[str, str], publisher: Any) -> None:
    data = b"[" * 512 + b"]" * 512
    done = upload(publisher, aws, data, media_type="application/json")
    assert done["status"] == "available", done

"""Content delivery: entitlement, 402 with offers, pay per crawl, 403/404/410, and the hot path's AWS calls."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from functions.shared import aws as shared_aws
from tests.integration.conftest import delivery_records


def content(client: Any, asset_id: str, **params: Any) -> Any:
    headers = params.pop("headers", None)
    return client.get(f"/v1/assets/{asset_id}/content", params=params, headers=headers)


def test_not_entitled_gets_402_with_offers_and_crawler_price(market: dict[str, Any]) -> None:
    r = content(market["buyer"], market["asset"]["id"], use="ai-input")
    assert r.status == 402 and r.json["code"] == "payment_required"
    assert [o["id"] for o in r.json["offers"]] == [market["per_access"]["id"]]
    assert r.headers["crawler-price"] == "USD 0.010000"
    train = content(market["buyer"], market["asset"]["id"], use="ai-train")
    assert train.status == 402 and "crawler-price" not in train.headers


def test_licensed_delivery_presigned_get_link_and_one_usage_message(
    aws: dict[str, str], market: dict[str, Any]
) -> None:
    buyer, asset = market["buyer"], market["asset"]
    lic = buyer.post("/v1/licenses", {"offer_id": market["per_access"]["id"], "use": "ai-input"}).json["license"]
    delivery_records(aws)
    for params in ({"license_id": lic["id"]}, {}):
        r = content(buyer, asset["id"], use="ai-input", **params)
        assert r.status == 200, r.body
        body = r.json
        assert body["license_id"] == lic["id"] and body["sha256"] == asset["sha256"]
        q = parse_qs(urlparse(body["url"]).query)
        # one object: the verified bytes' copy in the delivery bucket (test_delivery_copies), named by its SHA-256
        assert int(q["X-Amz-Expires"][0]) <= 300 and urlparse(body["url"]).path.endswith(
            f"{asset['id']}/{asset['sha256']}"
        )
        assert r.headers["link"].endswith('/rsl.xml>; rel="license"; type="application/rsl+xml"')
    usage = [m for m in delivery_records(aws) if m["kind"] == "usage"]  # one record per 200 on the deliveries stream
    assert len(usage) == 2 and len({m["event_id"] for m in usage}) == 2
    assert usage[0]["license_id"] == lic["id"] and usage[0]["publisher_id"] == market["pub_acct"]["id"]


def test_revoked_cancelled_and_other_buyer(market: dict[str, Any]) -> None:
    buyer, pub, asset = market["buyer"], market["pub"], market["asset"]
    lic = buyer.post("/v1/licenses", {"offer_id": market["per_access"]["id"], "use": "search"}).json["license"]
    assert content(buyer, asset["id"], use="search", license_id=lic["id"]).status == 200
    assert content(market["other"], asset["id"], use="search", license_id=lic["id"]).status == 404
    assert content(buyer, asset["id"], use="ai-train", license_id=lic["id"]).json["code"] == "license_use"
    pub.post(f"/v1/licenses/{lic['id']}/revoke", {"reason": "stop"})
    r = content(buyer, asset["id"], use="search", license_id=lic["id"])
    assert r.status == 403 and r.json["code"] == "license_revoked"
    # API v1.1: without license_id, when the buyer's only licence here is revoked: 403 with its code (not 402)
    r = content(buyer, asset["id"], use="search")
    assert r.status == 403 and r.json["code"] == "license_revoked" and "license_id" not in r.json


def test_budget_cap_stops_delivery(aws: dict[str, str], market: dict[str, Any]) -> None:
    # Given a per-access licence at 10,000 micros capped at 25,000 (two accesses fit, a third would exceed it)
    buyer, asset = market["buyer"], market["asset"]
    lic = buyer.post(
        "/v1/licenses", {"offer_id": market["per_access"]["id"], "use": "search", "budget_cap_micros": 25_000}
    ).json["license"]
    # When it fetches three times, named and unnamed
    first = content(buyer, asset["id"], use="search", license_id=lic["id"])
    second = content(buyer, asset["id"], use="search")
    third = content(buyer, asset["id"], use="search", license_id=lic["id"])
    # Then two deliveries pass and the third is refused before anything is charged
    assert (first.status, second.status) == (200, 200)
    assert third.status == 403 and third.json["code"] == "budget_exhausted"
    msgs = [m for m in delivery_records(aws) if m.get("license_id") == lic["id"] and m["kind"] == "usage"]
    assert len(msgs) == 2 and all(m.get("lease_id") for m in msgs)


def test_withdrawn_unknown_and_roles(market: dict[str, Any]) -> None:
    buyer, asset = market["buyer"], market["asset"]
    assert content(buyer, "ast_00000000000000000000000000", use="search").status == 404
    assert content(buyer, "nonsense", use="search").status == 404
    assert content(buyer, asset["id"], use="everything").status == 422
    assert content(market["pub"], asset["id"], use="search").status == 403
    market["pub"].delete(f"/v1/assets/{asset['id']}")
    assert content(buyer, asset["id"], use="search").status == 410


def test_pay_per_crawl_grants_once_and_reuses(aws: dict[str, str], market: dict[str, Any]) -> None:
    buyer, asset = market["buyer"], market["asset"]
    too_low = content(buyer, asset["id"], use="ai-input", headers={"crawler-max-price": "USD 0.005"})
    assert too_low.status == 402
    first = content(buyer, asset["id"], use="ai-input", headers={"crawler-max-price": "USD 0.02"})
    assert first.status == 200 and first.headers["crawler-charged"] == "USD 0.010000"
    second = content(buyer, asset["id"], use="ai-input", headers={"crawler-exact-price": "USD 0.010000"})
    assert second.status == 200 and second.json["license_id"] == first.json["license_id"]
    listed = buyer.get("/v1/licenses").json["items"]
    assert [x["id"] for x in listed] == [first.json["license_id"]]
    assert content(buyer, asset["id"], use="ai-input", headers={"crawler-max-price": "ten"}).status == 400
    cert = buyer.get(f"/v1/licenses/{first.json['license_id']}/certificate")
    assert cert.status == 200 and cert.json["certificate"].count(".") == 2


@contextmanager
def count_aws_calls() -> Iterator[Counter[str]]:
    """Count every AWS API call made through the shared clients (botocore 'before-call' events)."""
    calls: Counter[str] = Counter()

    def hook(model: Any, params: Any = None, **_: Any) -> None:
        body = (params or {}).get("body") or b""
        if b'"RL#' in (body if isinstance(body, bytes) else str(body).encode()):
            # the rate limiter's lease (one UpdateItem per 50 requests of a key, more at a window's start): counted
            # apart, as make bench does (P1 row "rate limiter leases"; docs/performance.md, "Rate limiter cost")
            calls["limiter.UpdateItem"] += 1
            return
        calls[f"{model.service_model.service_name}.{model.name}"] += 1

    clients = [shared_aws.client(s) for s in ("dynamodb", "s3", "sqs", "kms")]
    for c in clients:
        c.meta.events.register("before-call.*.*", hook)
    try:
        yield calls
    finally:
        for c in clients:
            c.meta.events.unregister("before-call.*.*", hook)


@pytest.mark.parametrize(("named", "limit"), [(True, 2), (False, 3)])
def test_p1_aws_calls_per_delivery(gw: Any, market: dict[str, Any], named: bool, limit: int) -> None:
    gw.auth_cache_ttl = 60  # as API Gateway caches the authoriser's answer; only the delivery's calls count
    buyer, asset = market["buyer"], market["asset"]
    lic = buyer.post("/v1/licenses", {"offer_id": market["per_access"]["id"], "use": "ai-input"}).json["license"]
    content(buyer, asset["id"], use="ai-input")  # warm: first-request imports and clients
    params = {"license_id": lic["id"]} if named else {}
    with count_aws_calls() as calls:
        for _ in range(5):
            assert content(buyer, asset["id"], use="ai-input", **params).status == 200
    assert calls.pop("limiter.UpdateItem", 0) <= 1  # at most one lease: a window may start during the five
    per_delivery = sum(calls.values()) / 5
    assert per_delivery <= limit, calls
    # the reads sent by functions.shared.wire are counted too (licence + asset; unnamed: the buyer's licences first)
    assert calls["dynamodb.BatchGetItem"] == 5 and calls["dynamodb.Query"] == (0 if named else 5), calls
    assert not any(k.startswith("kms.") for k in calls)
    writes = [k for k in calls if k.split(".")[1] in ("PutItem", "UpdateItem", "TransactWriteItems", "BatchWriteItem")]
    assert writes == [], calls  # P3: a delivery writes no DynamoDB key


@pytest.mark.parametrize("copies", [True, False], ids=["delivery-copy", "content-bucket-version"])
def test_delivery_serves_the_verified_bytes_after_the_object_is_overwritten(
    aws: dict[str, str], market: dict[str, Any], monkeypatch: pytest.MonkeyPatch, copies: bool
) -> None:
    """Issue 17: the verifier records the S3 VersionId it hashed and deliveries presign on it, or on the copy of those
    bytes it made (issue 16), so bytes written over a verified object (by anyone holding s3:PutObject) are never
    served in its name."""
    import boto3
    import httpx

    from functions.shared.config import clear_env_cache

    if not copies:  # a region without S3 Express: no delivery bucket
        monkeypatch.setenv("DELIVERY_BUCKET", "")
        clear_env_cache()
    buyer, asset = market["buyer"], market["asset"]
    lic = buyer.post("/v1/licenses", {"offer_id": market["per_access"]["id"], "use": "ai-input"}).json["license"]
    s3 = boto3.client("s3")
    key = f"assets/{market['pub_acct']['id']}/{asset['id']}"
    verified_version = s3.head_object(Bucket=aws["CONTENT_BUCKET"], Key=key)["VersionId"]
    # When the object is overwritten after verification
    s3.put_object(Bucket=aws["CONTENT_BUCKET"], Key=key, Body=b"Replaced after verification!!!!!!")
    # Then a delivery still names the verified version
    r = content(buyer, asset["id"], use="ai-input", license_id=lic["id"])
    assert r.status == 200, r.body
    url = urlparse(r.json["url"])
    q = parse_qs(url.query)
    bucket, _, url_key = url.path.lstrip("/").partition("/")
    if copies:
        assert (bucket, url_key) == (aws["DELIVERY_BUCKET"], f"{key}/{asset['sha256']}") and "versionId" not in q
    else:
        assert (bucket, url_key, q["versionId"]) == (aws["CONTENT_BUCKET"], key, [verified_version])
    # And that URL serves the verified bytes (the presigned GET, through the embedded S3's HTTP interface when the
    # tests run against a moto server, else through boto3 with the same bucket, key and version)
    endpoint = shared_aws.client("s3").meta.endpoint_url
    if endpoint.startswith("http://127.0.0.1") or endpoint.startswith("http://localhost"):
        assert httpx.get(r.json["url"]).content == market["data"]
    version = {"VersionId": q["versionId"][0]} if "versionId" in q else {}
    got = s3.get_object(Bucket=bucket, Key=url_key, **version)["Body"].read()
    assert got == market["data"]
    clear_env_cache()

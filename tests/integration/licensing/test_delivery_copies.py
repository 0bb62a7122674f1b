"""Delivery copies (issue 16, P4): verified objects of up to ``DELIVERY_COPY_MAX_BYTES`` are copied to the delivery
bucket (S3 Express One Zone in the stack, a general-purpose bucket here) and deliveries presign on the copy."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import pytest

from functions.catalog.dal.content import ContentStore
from functions.shared import aws as shared_aws
from functions.shared.config import clear_env_cache


def _content(client: Any, asset_id: str, **params: Any) -> Any:
    return client.get(f"/v1/assets/{asset_id}/content", params=params)


def _asset_item(aws: dict[str, str], asset_id: str) -> dict[str, Any]:
    item = boto3.client("dynamodb").get_item(
        TableName=aws["CATALOG_TABLE"], Key={"pk": {"S": f"ASSET#{asset_id}"}, "sk": {"S": "ASSET"}}
    )["Item"]
    return {k: next(iter(v.values())) for k, v in item.items()}


def _new_asset(market: dict[str, Any], aws: dict[str, str], data: bytes) -> tuple[dict[str, Any], Any]:
    """A second asset of ``data``, uploaded; returns it and the ``complete`` response."""
    pub = market["pub"]
    asset = pub.post(
        "/v1/assets",
        {
            "title": "Harbour dues",
            "kind": "article",
            "media_type": "text/markdown",
            "language": "en",
            "size_bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        },
    ).json["asset"]
    key = f"assets/{market['pub_acct']['id']}/{asset['id']}"
    boto3.client("s3").put_object(Bucket=aws["CONTENT_BUCKET"], Key=key, Body=data)
    return asset, pub.post(f"/v1/assets/{asset['id']}/complete")


def _licensed(market: dict[str, Any], asset_id: str) -> str:
    got = market["pub"].post(
        "/v1/offers",
        {"asset_id": asset_id, "uses": ["search"], "pricing": {"model": "per_access", "amount_micros": 1_000}},
    )
    assert got.status == 201, got.body
    lic = market["buyer"].post("/v1/licenses", {"offer_id": got.json["id"], "use": "search"})
    assert lic.status == 201, lic.body
    return str(lic.json["license"]["id"])


def _where(url: str) -> tuple[str, str, dict[str, list[str]]]:
    """Bucket, key and query of a path-style presigned URL (the local S3)."""
    u = urlparse(url)
    bucket, _, key = u.path.lstrip("/").partition("/")
    return bucket, key, parse_qs(u.query)


def test_a_verified_asset_is_copied_once_and_delivered_from_the_copy(
    aws: dict[str, str], market: dict[str, Any]
) -> None:
    # Given the market's verified asset (33 bytes, text/plain)
    asset, data = market["asset"], market["data"]
    item = _asset_item(aws, asset["id"])
    key = f"assets/{market['pub_acct']['id']}/{asset['id']}"
    # Then the verification copied its bytes, typed, under a key naming their SHA-256
    assert item["delivery_key"] == f"{key}/{asset['sha256']}"
    copy = boto3.client("s3").get_object(Bucket=aws["DELIVERY_BUCKET"], Key=item["delivery_key"])
    assert copy["Body"].read() == data and copy["ContentType"] == "text/plain"
    # When a licensed buyer fetches it
    lic = market["buyer"].post("/v1/licenses", {"offer_id": market["per_access"]["id"], "use": "search"})
    r = _content(market["buyer"], asset["id"], use="search", license_id=lic.json["license"]["id"])
    assert r.status == 200, r.body
    # Then the URL is the copy's, for 300 s, without a response override (the copy carries its type)
    bucket, got_key, q = _where(r.json["url"])
    assert (bucket, got_key) == (aws["DELIVERY_BUCKET"], item["delivery_key"])
    assert q["X-Amz-Expires"] == ["300"] and "response-content-type" not in q and "versionId" not in q
    assert r.json["sha256"] == asset["sha256"] and r.json["size_bytes"] == len(data)


def test_an_asset_over_the_copy_limit_is_delivered_from_the_content_bucket(
    aws: dict[str, str], market: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = b"# Harbour dues\n\nRaised by two per cent from April.\n"
    monkeypatch.setattr("functions.catalog.logic.assets.DELIVERY_COPY_MAX_BYTES", len(data) - 1)
    asset, done = _new_asset(market, aws, data)
    assert done.json["status"] == "available"
    assert "delivery_key" not in _asset_item(aws, asset["id"])
    r = _content(market["buyer"], asset["id"], use="search", license_id=_licensed(market, asset["id"]))
    assert r.status == 200, r.body
    bucket, key, q = _where(r.json["url"])
    assert (bucket, key) == (aws["CONTENT_BUCKET"], f"assets/{market['pub_acct']['id']}/{asset['id']}")
    assert q["versionId"] and q["response-content-type"] == ["text/markdown"]


def test_without_a_delivery_bucket_nothing_is_copied(
    aws: dict[str, str], market: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A region without S3 Express: the stack sets DELIVERY_BUCKET to "" and deliveries stay on the content bucket."""
    monkeypatch.setenv("DELIVERY_BUCKET", "")
    clear_env_cache()
    try:
        asset, done = _new_asset(market, aws, b"Ferry timetable unchanged.")
        assert done.json["status"] == "available" and "delivery_key" not in _asset_item(aws, asset["id"])
        r = _content(market["buyer"], asset["id"], use="search", license_id=_licensed(market, asset["id"]))
        assert _where(r.json["url"])[0] == aws["CONTENT_BUCKET"]
        # and an asset copied earlier is served from the content bucket too: nothing presigns on a bucket not set
        lic = market["buyer"].post("/v1/licenses", {"offer_id": market["per_access"]["id"], "use": "search"})
        r = _content(market["buyer"], market["asset"]["id"], use="search", license_id=lic.json["license"]["id"])
        assert _where(r.json["url"])[0] == aws["CONTENT_BUCKET"]
    finally:
        monkeypatch.undo()
        clear_env_cache()


def test_a_failed_copy_leaves_the_asset_unverified_until_a_retry(
    aws: dict[str, str], market: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = ContentStore.copy_for_delivery
    failures = [1]

    def flaky(self: ContentStore, *args: Any) -> None:
        if failures:
            failures.pop()
            raise ConnectionError("injected: the copy did not reach S3")
        real(self, *args)

    monkeypatch.setattr(ContentStore, "copy_for_delivery", flaky)
    data = b"Lighthouse keepers' pay settled."
    asset, done = _new_asset(market, aws, data)
    # Then the first verification fails as a whole: the asset is not available without its copy
    assert done.status >= 500
    assert _asset_item(aws, asset["id"])["status"] == "pending_upload"
    # And the retry (the verifier's redelivery, or `complete` again) copies and verifies
    again = market["pub"].post(f"/v1/assets/{asset['id']}/complete")
    assert again.json["status"] == "available"
    item = _asset_item(aws, asset["id"])
    got = boto3.client("s3").get_object(Bucket=aws["DELIVERY_BUCKET"], Key=item["delivery_key"])["Body"].read()
    assert got == data


def test_a_directory_bucket_is_presigned_with_a_read_only_s3_express_session(
    aws: dict[str, str], market: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stack's delivery bucket is an S3 Express One Zone directory bucket, which moto does not have: botocore's
    own S3 Express path is exercised here, with CreateSession answered by the test (its documented response)."""
    buyer, asset = market["buyer"], market["asset"]
    lic = buyer.post("/v1/licenses", {"offer_id": market["per_access"]["id"], "use": "search"}).json["license"]
    assert _content(buyer, asset["id"], use="search", license_id=lic["id"]).status == 200  # clients created
    directory = "imprimatur-delivery--use1-az4--x-s3"
    monkeypatch.setenv("DELIVERY_BUCKET", directory)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    clear_env_cache()
    sessions: list[dict[str, Any]] = []
    lifetime = [timedelta(minutes=5)]

    class _Http:
        status_code = 200
        headers: dict[str, str] = {}

    def create_session(params: dict[str, Any], **_: Any) -> tuple[_Http, dict[str, Any]]:
        sessions.append(dict(params.get("headers", {})))  # the serialized request: SessionMode is a header
        expires = datetime.now(UTC) + lifetime[0]
        creds = {"AccessKeyId": "S3XSESSION", "SecretAccessKey": "s", "SessionToken": "TOKEN", "Expiration": expires}
        return _Http(), {"Credentials": creds}

    try:
        shared_aws.s3_express(read_only=True).meta.events.register("before-call.s3.CreateSession", create_session)
        t0 = datetime.now(UTC)
        bodies = [_content(buyer, asset["id"], use="search", license_id=lic["id"]).json for _ in range(2)]
        # a session with 100 s left (botocore renews one only under 45 s): the URL is announced as dying with it
        shared_aws.reset_clients()
        lifetime[0] = timedelta(seconds=100)
        shared_aws.s3_express(read_only=True).meta.events.register("before-call.s3.CreateSession", create_session)
        short = _content(buyer, asset["id"], use="search", license_id=lic["id"]).json
    finally:
        monkeypatch.undo()
        clear_env_cache()
        shared_aws.reset_clients()
    copy_key = _asset_item(aws, asset["id"])["delivery_key"]
    urls = [b["url"] for b in bodies]
    u = urlparse(urls[0])
    q = parse_qs(u.query)
    assert u.netloc == f"{directory}.s3express-use1-az4.us-east-1.amazonaws.com" and u.path == f"/{copy_key}"
    credential = q["X-Amz-Credential"][0]
    assert credential.startswith("S3XSESSION/") and credential.endswith("/us-east-1/s3express/aws4_request")
    assert q["X-Amz-S3session-Token"] == ["TOKEN"] and "X-Amz-Security-Token" not in q
    assert q["X-Amz-Expires"] == ["300"]
    # one read-only session for both deliveries (the delivery's role may create no other kind)
    assert [s.get("x-amz-create-session-mode") for s in sessions] == ["ReadOnly", "ReadOnly"]
    # expires_at: 300 s with a fresh session, the session's end with a shorter one
    announced = datetime.fromisoformat(bodies[0]["expires_at"].replace("Z", "+00:00")) - t0
    assert timedelta(seconds=290) <= announced <= timedelta(seconds=301)
    left = datetime.fromisoformat(short["expires_at"].replace("Z", "+00:00")) - t0
    assert timedelta(seconds=90) <= left <= timedelta(seconds=101)


def _run_repair_job() -> dict[str, int]:
    from functions.catalog.handlers.verifier import handler
    from local.events import LambdaContext

    return dict(handler({"job": "delivery_copies"}, LambdaContext(function_name="verifier")))  # type: ignore[arg-type]


def test_the_repair_job_copies_what_is_missing_and_leaves_the_rest(aws: dict[str, str], market: dict[str, Any]) -> None:
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    # Given an asset verified before delivery copies existed (no key recorded, no copy), one whose copy was lost,
    # the market's asset with its copy, and a withdrawn asset without one
    older, _ = _new_asset(market, aws, b"Quay repairs start in May.")
    lost, _ = _new_asset(market, aws, b"Fish market moves to the north pier.")
    gone, _ = _new_asset(market, aws, b"Withdrawn before anyone read it.")
    key_of = {a["id"]: _asset_item(aws, a["id"])["delivery_key"] for a in (older, lost, gone)}
    for a in (older, gone):
        ddb.update_item(
            TableName=aws["CATALOG_TABLE"],
            Key={"pk": {"S": f"ASSET#{a['id']}"}, "sk": {"S": "ASSET"}},
            UpdateExpression="REMOVE delivery_key",
        )
    for a in (older, lost, gone):
        s3.delete_object(Bucket=aws["DELIVERY_BUCKET"], Key=key_of[a["id"]])
    assert market["pub"].delete(f"/v1/assets/{gone['id']}").json["status"] == "withdrawn"
    # When the job runs
    counts = _run_repair_job()
    # Then the two available assets without a copy get one, recorded; the copied one is left; the withdrawn one too
    assert counts["copied"] == 2 and counts["present"] == 1 and counts["available"] == 3
    for a in (older, lost):
        assert _asset_item(aws, a["id"])["delivery_key"] == key_of[a["id"]]
        assert s3.head_object(Bucket=aws["DELIVERY_BUCKET"], Key=key_of[a["id"]])["ContentLength"] > 0
    assert "delivery_key" not in _asset_item(aws, gone["id"])
    # And deliveries of the repaired asset are served from its copy
    r = _content(market["buyer"], older["id"], use="search", license_id=_licensed(market, older["id"]))
    assert _where(r.json["url"])[:2] == (aws["DELIVERY_BUCKET"], key_of[older["id"]])
    # And a second run finds everything in place
    assert _run_repair_job() == {**counts, "copied": 0, "present": 3}


def test_a_browser_request_is_served_from_the_content_bucket_which_allows_cors(
    aws: dict[str, str], market: dict[str, Any]
) -> None:
    """S3 directory buckets take no CORS configuration; the content bucket's rule lets any origin GET. A page's
    cross-origin fetch sends Origin, a crawler does not."""
    buyer, asset = market["buyer"], market["asset"]
    lic = buyer.post("/v1/licenses", {"offer_id": market["per_access"]["id"], "use": "search"}).json["license"]
    path = f"/v1/assets/{asset['id']}/content"
    query = {"use": "search", "license_id": lic["id"]}
    page = buyer.get(path, params=query, headers={"Origin": "https://reader.example"})
    crawler = buyer.get(path, params=query)
    assert _where(page.json["url"])[0] == aws["CONTENT_BUCKET"]
    assert _where(crawler.json["url"])[0] == aws["DELIVERY_BUCKET"]
    rules = boto3.client("s3").get_bucket_cors(Bucket=aws["CONTENT_BUCKET"])["CORSRules"]
    assert any("GET" in r["AllowedMethods"] and "*" in r["AllowedOrigins"] for r in rules)

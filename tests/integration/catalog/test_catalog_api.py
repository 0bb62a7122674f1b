"""Catalogue through the gateway against moto: uploads, verification, ownership, offers, search."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import unquote_plus

import boto3
import pytest

from functions.shared import clock
from infra.definitions import QUEUES
from local.dispatch import drain
from local.events import sqs_event


def asset_body(data: bytes, **extra: Any) -> dict[str, Any]:
    return {
        "title": "Climate report 2026",
        "kind": "article",
        "media_type": "text/plain",
        "language": "en",
        "tags": ["climate", "science"],
        "size_bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        **extra,
    }


def put_object(aws: dict[str, str], asset: dict[str, Any], data: bytes) -> None:
    boto3.client("s3").put_object(
        Bucket=aws["CONTENT_BUCKET"], Key=f"assets/{asset['publisher_id']}/{asset['id']}", Body=data
    )


@pytest.fixture
def publisher(make_account: Any) -> tuple[Any, dict[str, Any]]:
    return make_account("publisher")


def upload(api: Any, aws: dict[str, str], data: bytes, **extra: Any) -> dict[str, Any]:
    r = api.post("/v1/assets", asset_body(data, **extra))
    assert r.status == 201, r.body
    put_object(aws, r.json["asset"], data)
    done = api.post(f"/v1/assets/{r.json['asset']['id']}/complete")
    assert done.status == 200, done.body
    return dict(done.json)


def uploads_event(aws: dict[str, str]) -> dict[str, Any]:
    """The uploads queue's pending object notifications (not S3's test event) as the verifier's SQS event."""
    sqs = boto3.client("sqs")
    url = aws[QUEUES["uploads"].env_var]
    msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
    msgs = [m for m in msgs if "Records" in json.loads(m["Body"])]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return sqs_event(msgs, arn)


def test_put_upload_is_verified_by_the_s3_event(aws: dict[str, str], gw: Any, publisher: Any) -> None:
    client, _ = publisher
    data = b"The planet warmed again."
    # Given
    created = client.post("/v1/assets", asset_body(data))
    assert created.status == 201
    asset, up = created.json["asset"], created.json["upload"]
    assert asset["status"] == "pending_upload" and up["method"] == "PUT"
    assert up["headers"]["Content-Type"] == "text/plain" and "x-amz-checksum-sha256" in up["headers"]
    # When the bytes land in S3 and the notification is delivered to the verifier
    put_object(aws, asset, data)
    event = uploads_event(aws)
    (record,) = event["Records"]
    (s3_record,) = json.loads(record["body"])["Records"]
    assert s3_record["eventName"].startswith("ObjectCreated")
    assert unquote_plus(s3_record["s3"]["object"]["key"]) == f"assets/{asset['publisher_id']}/{asset['id']}"
    verifier = QUEUES["uploads"].consumer
    assert gw.invoke(verifier, event) == {"batchItemFailures": []}
    # Then the asset is available to anyone
    got = client.as_(None).get(f"/v1/assets/{asset['id']}")
    assert got.status == 200 and got.json["status"] == "available"
    verified = client.get(f"/v1/assets/{asset['id']}").json
    # When an hour later SQS delivers the very same event again (at-least-once: same message, same S3 record)
    clock.set_offset(3600)
    assert gw.invoke(verifier, event) == {"batchItemFailures": []}
    # Then it succeeds and changes nothing: not re-verified, not re-stamped
    assert client.get(f"/v1/assets/{asset['id']}").json == verified


def test_tampered_upload_is_rejected_with_reason(aws: dict[str, str], publisher: Any) -> None:
    client, _ = publisher
    r = client.post("/v1/assets", asset_body(b"original bytes"))
    put_object(aws, r.json["asset"], b"tampered bytes")
    done = client.post(f"/v1/assets/{r.json['asset']['id']}/complete")
    assert done.json["status"] == "rejected" and "SHA-256" in done.json["status_reason"]


def test_wrong_media_type_is_rejected(aws: dict[str, str], publisher: Any) -> None:
    client, _ = publisher
    data = b"not a pdf at all"
    r = client.post("/v1/assets", asset_body(data, media_type="application/pdf"))
    put_object(aws, r.json["asset"], data)
    done = client.post(f"/v1/assets/{r.json['asset']['id']}/complete")
    assert done.json["status"] == "rejected" and "application/pdf" in done.json["status_reason"]


def test_drafts_are_invisible_to_others_and_uneditable(aws: dict[str, str], make_account: Any) -> None:
    owner, _ = make_account("publisher")
    other, _ = make_account("publisher")
    r = owner.post("/v1/assets", asset_body(b"draft"))
    aid = r.json["asset"]["id"]
    assert owner.get(f"/v1/assets/{aid}").status == 200
    assert other.get(f"/v1/assets/{aid}").status == 404
    assert other.as_(None).get(f"/v1/assets/{aid}").status == 404
    assert other.patch(f"/v1/assets/{aid}", {"title": "mine now"}).status == 404
    assert other.delete(f"/v1/assets/{aid}").status == 404
    assert other.post(f"/v1/assets/{aid}/complete").status == 404
    assert [a["id"] for a in other.get("/v1/assets").json["items"]] == []


def test_patch_and_withdraw_retire_offers(aws: dict[str, str], publisher: Any) -> None:
    client, _ = publisher
    asset = upload(client, aws, b"some text")
    offer = client.post(
        "/v1/offers",
        {
            "asset_id": asset["id"],
            "uses": ["ai-input"],
            "pricing": {"model": "per_access", "amount_micros": 10_000, "currency": "USD"},
        },
    )
    assert offer.status == 201
    patched = client.patch(f"/v1/assets/{asset['id']}", {"title": "Renamed", "tags": ["energy"]})
    assert patched.status == 200 and patched.json["title"] == "Renamed" and patched.json["tags"] == ["energy"]
    assert client.patch(f"/v1/assets/{asset['id']}", {}).status == 422
    gone = client.delete(f"/v1/assets/{asset['id']}")
    assert gone.status == 200 and gone.json["status"] == "withdrawn"
    assert client.get(f"/v1/offers/{offer.json['id']}").json["status"] == "retired"
    assert client.as_(None).get(f"/v1/assets/{asset['id']}").status == 404
    assert client.get("/v1/catalog/assets", params={"q": "renamed"}).json["items"] == []


@pytest.mark.parametrize(
    ("pricing", "ok"),
    [
        ({"model": "per_access", "amount_micros": 10_000}, True),
        ({"model": "per_unit", "amount_micros": 2_000, "unit": "1k tokens"}, True),
        ({"model": "flat", "amount_micros": 5_000_000}, True),
        ({"model": "subscription", "amount_micros": 99_000_000, "period_days": 30}, True),
        ({"model": "free"}, True),
        ({"model": "per_unit", "amount_micros": 2_000}, False),
        ({"model": "free", "amount_micros": 1}, False),
        ({"model": "flat", "amount_micros": 0}, False),
        ({"model": "subscription", "amount_micros": 5}, False),
        ({"model": "flat", "amount_micros": 5, "currency": "usd"}, False),
        ({"model": "flat", "amount_micros": 5, "unit": "x"}, False),
        ({"model": "barter", "amount_micros": 5}, False),
    ],
)
def test_offer_pricing_validation(aws: dict[str, str], publisher: Any, pricing: dict[str, Any], ok: bool) -> None:
    client, _ = publisher
    asset = upload(client, aws, b"priced")
    r = client.post("/v1/offers", {"asset_id": asset["id"], "uses": ["ai-train"], "pricing": pricing})
    assert r.status == (201 if ok else 422), r.body


def test_offer_scope_rules(aws: dict[str, str], make_account: Any, admin: Any) -> None:
    owner, _ = make_account("publisher")
    other, _ = make_account("publisher")
    asset = upload(owner, aws, b"scoped")
    base = {"uses": ["search"], "pricing": {"model": "free"}}
    assert other.post("/v1/offers", {**base, "asset_id": asset["id"]}).status == 422
    assert owner.post("/v1/offers", {**base}).status == 422
    assert owner.post("/v1/offers", {**base, "asset_id": asset["id"], "collection_id": "col_x"}).status == 422
    assert owner.post("/v1/offers", {**base, "asset_id": asset["id"], "territories": ["XX"]}).status == 422
    assert owner.post("/v1/offers", {**base, "asset_id": asset["id"], "territories": ["US", "EU"]}).status == 201
    pool = admin.post("/v1/pools", {"name": "Local news", "description": "Small newsrooms"})
    assert pool.status == 201
    assert owner.post("/v1/offers", {**base, "pool_id": pool.json["id"]}).status == 403
    assert admin.post("/v1/offers", {**base, "pool_id": pool.json["id"]}).status == 201
    offer = owner.post("/v1/offers", {**base, "asset_id": asset["id"]}).json
    assert other.delete(f"/v1/offers/{offer['id']}").status == 404
    assert owner.delete(f"/v1/offers/{offer['id']}").json["status"] == "retired"
    listed = owner.as_(None).get("/v1/offers", params={"asset_id": asset["id"]}).json["items"]
    assert {o["status"] for o in listed} == {"active", "retired"}
    assert owner.get("/v1/offers").status == 400


def test_collections_and_publisher_profile(aws: dict[str, str], make_account: Any) -> None:
    client, account = make_account("publisher", name="Daily Planet")
    col = client.post("/v1/collections", {"title": "Archive 1990s"})
    assert col.status == 201
    upload(client, aws, b"in the collection", collection_id=col.json["id"])
    assert client.as_(None).get(f"/v1/collections/{col.json['id']}").json["title"] == "Archive 1990s"
    prof = client.as_(None).get(f"/v1/publishers/{account['id']}").json
    assert prof["name"] == "Daily Planet" and prof["asset_count"] == 1
    assert prof["robots_txt"] == f"License: {prof['rsl_url']}"
    assert client.post("/v1/assets", asset_body(b"x", collection_id="col_nope")).status == 422


def test_search_filters_and_pagination(aws: dict[str, str], make_account: Any) -> None:
    from functions.catalog.dal.content import ContentStore
    from functions.catalog.dal.store import CatalogStore
    from functions.catalog.logic.assets import create_asset, verify_asset
    from functions.catalog.models.input import CreateAssetRequest
    from functions.shared.auth import Principal

    # Given 240 available assets from two publishers, created through the logic (faster than HTTP)
    a_client, a = make_account("publisher")
    _b_client, b = make_account("publisher")
    store, content = CatalogStore(aws["CATALOG_TABLE"]), ContentStore(aws["CONTENT_BUCKET"])
    s3 = boto3.client("s3")
    kinds = ["article", "dataset", "book"]
    for i in range(240):
        owner = a if i % 2 == 0 else b
        data = f"item {i}".encode()
        req = CreateAssetRequest(
            title=f"Report {i} {'ocean' if i % 5 == 0 else 'forest'}",
            kind=kinds[i % 3],
            media_type="text/plain",
            language="fr" if i % 4 == 0 else "en",
            tags=["even" if i % 2 == 0 else "odd"],
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )
        asset, _ = create_asset(store, content, Principal(owner["id"], frozenset({"publisher"}), "k"), req)
        s3.put_object(Bucket=aws["CONTENT_BUCKET"], Key=asset.s3_key, Body=data)
        verify_asset(store, content, asset.id)
    some = a_client.get("/v1/assets", params={"limit": 1}).json["items"][0]
    a_client.post(
        "/v1/offers",
        {"asset_id": some["id"], "uses": ["ai-train"], "pricing": {"model": "flat", "amount_micros": 3_000_000}},
    )
    public = a_client.as_(None)

    def all_pages(**params: Any) -> list[dict[str, Any]]:
        out, cur = [], None
        while True:
            r = public.get("/v1/catalog/assets", params={**params, "limit": 37, "cursor": cur})
            assert r.status == 200, r.body
            out += r.json["items"]
            cur = r.json["next_cursor"]
            if not cur:
                return out

    # Then pagination returns every asset once
    everything = all_pages()
    assert len(everything) == 240 and len({x["id"] for x in everything}) == 240
    # And each filter returns exactly the matching assets
    assert len(all_pages(kind="dataset")) == 80
    assert len(all_pages(language="fr")) == 60
    assert len(all_pages(tag="odd")) == 120
    assert len(all_pages(publisher_id=a["id"])) == 120
    assert len(all_pages(q="ocean")) == 48
    assert len(all_pages(q="ocean report", kind="book")) == 16
    assert len(all_pages(q="ocean", publisher_id=b["id"], language="en")) == sum(
        1 for i in range(240) if i % 5 == 0 and i % 2 == 1 and i % 4 != 0
    )
    with_offer = all_pages(use="ai-train", max_price_micros=5_000_000)
    assert [x["id"] for x in with_offer] == [some["id"]] and with_offer[0]["offers"][0]["pricing"]["model"] == "flat"
    assert all_pages(use="ai-train", max_price_micros=1_000_000) == []
    assert all_pages(use="search") == []
    # And a tampered cursor is a 400
    assert public.get("/v1/catalog/assets", params={"cursor": "e30"}).status == 400
    assert public.get("/v1/catalog/assets", params={"limit": 101}).status == 422


def test_pools_membership(aws: dict[str, str], make_account: Any, admin: Any) -> None:
    client, _ = make_account("publisher")
    other, _ = make_account("publisher")
    asset = upload(client, aws, b"pooled")
    pool = admin.post("/v1/pools", {"name": "Co-op", "description": ""}).json
    assert other.post(f"/v1/pools/{pool['id']}/members", {"asset_ids": [asset["id"]]}).status == 422
    joined = client.post(f"/v1/pools/{pool['id']}/members", {"asset_ids": [asset["id"]]})
    assert joined.status == 200 and joined.json["asset_ids"] == [asset["id"]]
    assert client.get(f"/v1/assets/{asset['id']}").json["pool_ids"] == [pool["id"]]
    assert client.as_(None).get(f"/v1/pools/{pool['id']}").json["member_count"] == 1
    left = client.delete(f"/v1/pools/{pool['id']}/members/{asset['id']}")
    assert left.status == 200 and left.json["leaves_at"].endswith("-01T00:00:00Z")
    assert client.get(f"/v1/assets/{asset['id']}").json["pool_ids"] == [pool["id"]]  # until the next period


def test_rsl_documents(aws: dict[str, str], make_account: Any) -> None:
    from xml.etree import ElementTree as ET

    client, account = make_account("publisher", name="Daily Planet")
    asset = upload(client, aws, b"licensed words")
    client.post(
        "/v1/offers",
        {
            "asset_id": asset["id"],
            "uses": ["ai-input", "search"],
            "pricing": {"model": "per_access", "amount_micros": 10_000},
        },
    )
    for path in (f"/v1/assets/{asset['id']}/rsl.xml", f"/v1/publishers/{account['id']}/rsl.xml"):
        r = client.as_(None).get(path)
        assert r.status == 200 and r.content_type == "application/rsl+xml"
        doc = ET.fromstring(r.body)
        ns = {"r": "https://rslstandard.org/rsl"}
        assert doc.tag == "{https://rslstandard.org/rsl}rsl"
        content = doc.find("r:content", ns)
        assert content is not None and content.get("url", "").endswith(f"/v1/assets/{asset['id']}/content")
        assert content.find("r:license/r:payment", ns).get("type") == "crawl"  # type: ignore[union-attr]
        assert content.find("r:copyright", ns).text == "Daily Planet"  # type: ignore[union-attr]


def _multipart(api: Any, aws: dict[str, str], data: bytes) -> dict[str, Any]:
    """Declare a multipart upload of ``data`` (one part) and send the part; returns the created asset."""
    r = api.post("/v1/assets", asset_body(data, upload_method="MULTIPART"))
    assert r.status == 201, r.body
    asset, up = r.json["asset"], r.json["upload"]
    boto3.client("s3").upload_part(
        Bucket=aws["CONTENT_BUCKET"],
        Key=f"assets/{asset['publisher_id']}/{asset['id']}",
        UploadId=up["upload_id"],
        PartNumber=1,
        Body=data,
    )
    return dict(asset)


def test_a_large_object_is_verified_asynchronously_202_then_available(
    aws: dict[str, str], gw: Any, publisher: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 17: `complete` does not hash an object above SYNC_VERIFY_MAX_BYTES inside the API function."""
    from functions.catalog.logic import assets

    monkeypatch.setattr(assets, "SYNC_VERIFY_MAX_BYTES", 16)  # "large" for the test: anything above 16 bytes
    client, _ = publisher
    data = b"A long report on sea levels, in many chapters."
    asset = _multipart(client, aws, data)
    # When the upload is completed
    done = client.post(f"/v1/assets/{asset['id']}/complete")
    # Then 202: the asset is verifying, with where to poll and when
    assert done.status == 202, done.body
    assert done.json["status"] == "verifying"
    assert done.headers["location"] == f"/v1/assets/{asset['id']}" and int(done.headers["retry-after"]) > 0
    assert client.get(f"/v1/assets/{asset['id']}").json["status"] == "verifying"
    assert client.as_(None).get(f"/v1/assets/{asset['id']}").status == 404  # not public while verifying
    # And completing again changes nothing (no second hash, same answer)
    again = client.post(f"/v1/assets/{asset['id']}/complete")
    assert again.status == 202 and again.json["status"] == "verifying"
    # When the verifier consumes the S3 event of the completed object
    drain(gw.invoke, aws, queues=("uploads",))
    # Then the asset is available, and the verified version is recorded
    got = client.get(f"/v1/assets/{asset['id']}")
    assert got.status == 200 and got.json["status"] == "available", got.body
    from functions.catalog.dal.store import CatalogStore

    stored = CatalogStore(aws["CATALOG_TABLE"]).get_asset(asset["id"])
    assert stored is not None and stored.content_version
    head = boto3.client("s3").head_object(Bucket=aws["CONTENT_BUCKET"], Key=stored.s3_key)
    assert stored.content_version == head["VersionId"]


def test_a_large_tampered_object_is_rejected_by_the_verifier(
    aws: dict[str, str], gw: Any, publisher: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.catalog.logic import assets

    monkeypatch.setattr(assets, "SYNC_VERIFY_MAX_BYTES", 16)
    client, _ = publisher
    declared = b"The declared bytes, long enough."
    r = client.post("/v1/assets", asset_body(declared, upload_method="MULTIPART"))
    asset, up = r.json["asset"], r.json["upload"]
    boto3.client("s3").upload_part(
        Bucket=aws["CONTENT_BUCKET"],
        Key=f"assets/{asset['publisher_id']}/{asset['id']}",
        UploadId=up["upload_id"],
        PartNumber=1,
        Body=b"Other bytes of the same length!!",
    )
    assert client.post(f"/v1/assets/{asset['id']}/complete").status == 202
    drain(gw.invoke, aws, queues=("uploads",))
    got = client.get(f"/v1/assets/{asset['id']}").json
    assert got["status"] == "rejected" and "SHA-256" in got["status_reason"]


def test_a_put_checked_by_s3_is_not_hashed_again_whatever_its_size(
    aws: dict[str, str], publisher: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A single PUT signed with x-amz-checksum-sha256: S3 checked the SHA-256 on upload (HeadObject ChecksumMode), so
    `complete` answers 200 at once, above the synchronous limit too, reading only the first bytes.
    moto neither checks nor returns the checksum, so HeadObject's answer is completed as S3 gives it (the parsing of
    S3's answer is tested in tests/unit/catalog/test_content_store.py)."""
    import base64
    import dataclasses

    from functions.catalog.dal.content import ContentStore
    from functions.catalog.logic import assets

    monkeypatch.setattr(assets, "SYNC_VERIFY_MAX_BYTES", 16)
    real_head = ContentStore.head

    def head_as_s3(self: ContentStore, key: str) -> Any:
        got = real_head(self, key)
        return got and dataclasses.replace(got, sha256=hashlib.sha256(data).hexdigest())

    monkeypatch.setattr(ContentStore, "head", head_as_s3)

    def no_full_hash(*_: Any, **__: Any) -> Any:
        raise AssertionError("the whole object was hashed again")

    monkeypatch.setattr(assets, "verify", no_full_hash)
    client, _ = publisher
    data = b"A report uploaded with one presigned PUT."
    r = client.post("/v1/assets", asset_body(data))
    asset = r.json["asset"]
    boto3.client("s3").put_object(
        Bucket=aws["CONTENT_BUCKET"],
        Key=f"assets/{asset['publisher_id']}/{asset['id']}",
        Body=data,
        ChecksumSHA256=base64.b64encode(hashlib.sha256(data).digest()).decode(),
    )
    done = client.post(f"/v1/assets/{asset['id']}/complete")
    assert done.status == 200 and done.json["status"] == "available", done.body


def test_the_verifier_finishes_an_asset_that_complete_moved_to_verifying_meanwhile(
    aws: dict[str, str], publisher: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The S3 event can reach the verifier before `complete` marks the asset verifying: the verifier's result must
    still land (else the asset would stay verifying for ever)."""
    from functions.catalog.dal.content import ContentStore
    from functions.catalog.dal.store import CatalogStore
    from functions.catalog.logic import assets

    client, _ = publisher
    data = b"Raced between complete and the verifier."
    asset = _multipart(client, aws, data)
    store, content = CatalogStore(aws["CATALOG_TABLE"]), ContentStore(aws["CONTENT_BUCKET"])
    a = store.get_asset(asset["id"])
    assert a is not None and a.upload.upload_id
    content.complete_multipart(a.s3_key, a.upload.upload_id, content.list_parts(a.s3_key, a.upload.upload_id))
    real_verify = assets.verify

    def verify_while_complete_marks_verifying(*args: Any, **kwargs: Any) -> Any:
        current = store.get_asset(asset["id"])
        assert current is not None
        store.save_asset(current.model_copy(update={"status": "verifying"}), expect_status="pending_upload")
        return real_verify(*args, **kwargs)

    monkeypatch.setattr(assets, "verify", verify_while_complete_marks_verifying)
    result = assets.verify_asset(store, content, asset["id"])
    assert result is not None and result.status == "available"
    final = store.get_asset(asset["id"])
    assert final is not None and final.status == "available"


def test_a_search_page_reads_each_shared_offer_scope_once(
    aws: dict[str, str], make_account: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.catalog.dal import reader
    from functions.catalog.dal.content import ContentStore
    from functions.catalog.dal.store import CatalogStore
    from functions.catalog.logic.assets import create_asset, verify_asset
    from functions.catalog.models.input import CreateAssetRequest
    from functions.shared.auth import Principal

    # Given six available assets of one collection, sold by a collection offer
    client, acct = make_account("publisher")
    col = client.post("/v1/collections", {"title": "Harbour archive"}).json["id"]
    store, content = CatalogStore(aws["CATALOG_TABLE"]), ContentStore(aws["CONTENT_BUCKET"])
    for i in range(6):
        data = f"harbour {i}".encode()
        req = CreateAssetRequest(
            title=f"Harbour {i}",
            kind="article",
            media_type="text/plain",
            language="en",
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            collection_id=col,
        )
        asset, _ = create_asset(store, content, Principal(acct["id"], frozenset({"publisher"}), "k"), req)
        boto3.client("s3").put_object(Bucket=aws["CONTENT_BUCKET"], Key=asset.s3_key, Body=data)
        verify_asset(store, content, asset.id)
    offer = {"collection_id": col, "uses": ["ai-train"], "pricing": {"model": "flat", "amount_micros": 1_000}}
    assert client.post("/v1/offers", offer).status == 201
    reads: list[tuple[str, str]] = []
    real = reader._offers_for_scope
    monkeypatch.setattr(reader, "_offers_for_scope", lambda t, i: reads.append((t, i)) or real(t, i))
    # When a buyer searches for what the offer sells
    page = client.as_(None).get("/v1/catalog/assets", params={"q": "harbour", "use": "ai-train"}).json
    # Then all six are found with the collection's offer, and the collection's offers were read once
    assert len(page["items"]) == 6
    assert all(item["offers"] for item in page["items"])
    assert reads.count(("collection", col)) == 1
    assert sorted(t for t, _ in reads) == ["asset"] * 6 + ["collection"]

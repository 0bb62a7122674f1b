"""Issue 3 end to end over HTTP against the local stack: uploads through moto's S3 with the presigned URLs."""

from __future__ import annotations

import hashlib
import os
import time
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests

MIB = 1024 * 1024


def wait_status(client: Any, asset_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.time() + timeout
    while True:
        got = client.get(f"/v1/assets/{asset_id}").json()
        if got["status"] != "pending_upload" or time.time() > deadline:
            return dict(got)
        time.sleep(0.2)


def declare(client: Any, data: bytes, **extra: Any) -> dict[str, Any]:
    body = {
        "title": "E2E upload",
        "kind": "dataset",
        "media_type": "application/octet-stream",
        "language": "en",
        "size_bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        **extra,
    }
    r = client.post("/v1/assets", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_small_put_upload_becomes_available_and_public(new_account: Any, http: Any) -> None:
    pub, _ = new_account("publisher")
    data = b"A small article about tides.\n"
    # Given a declared asset with a presigned PUT
    created = declare(pub, data, media_type="text/plain", title="Tides explained", tags=["ocean"])
    up = created["upload"]
    assert up["method"] == "PUT"
    # When the publisher uploads straight to S3 with the returned headers
    assert requests.put(up["url"], data=data, headers=up["headers"], timeout=30).status_code == 200
    # Then the S3 event verifies it, and it is in the public catalogue
    asset = wait_status(pub, created["asset"]["id"])
    assert asset["status"] == "available", asset
    found = http.get("/v1/catalog/assets", params={"q": "tides"}).json()["items"]
    assert created["asset"]["id"] in [a["id"] for a in found]


def test_presigned_put_policy_r4(new_account: Any) -> None:
    pub, _ = new_account("publisher")
    data = b"policy check"
    created = declare(pub, data, media_type="text/plain")
    url = urlparse(created["upload"]["url"])
    q = parse_qs(url.query)
    # Scoped to exactly this asset's object key
    assert url.path.endswith(f"/assets/{created['asset']['publisher_id']}/{created['asset']['id']}")
    # Short-lived and signed over the content type and the SHA-256 checksum (moto does not enforce these;
    # the stored object is verified independently)
    assert int(q["X-Amz-Expires"][0]) <= 900
    assert set(q["X-Amz-SignedHeaders"][0].split(";")) >= {"content-type", "host", "x-amz-checksum-sha256"}
    import base64

    assert (
        created["upload"]["headers"]["x-amz-checksum-sha256"]
        == base64.b64encode(hashlib.sha256(data).digest()).decode()
    )


def test_multipart_upload_of_20_mib(new_account: Any) -> None:
    pub, _ = new_account("publisher")
    data = os.urandom(20 * MIB) + b"tail"
    # Given a multipart upload (asked for explicitly: the default switches to multipart above 100 MiB)
    created = declare(pub, data, upload_method="MULTIPART")
    up = created["upload"]
    assert up["method"] == "MULTIPART" and up["part_size"] == 16 * MIB and len(up["parts"]) == 2
    # When each part goes straight to S3 through its presigned URL
    parts = []
    for p in up["parts"]:
        n = p["part_number"]
        chunk = data[(n - 1) * up["part_size"] : n * up["part_size"]]
        r = requests.put(p["url"], data=chunk, timeout=120)
        assert r.status_code == 200, r.text
        parts.append({"part_number": n, "etag": r.headers["ETag"]})
    done = pub.post(f"/v1/assets/{created['asset']['id']}/complete", json={"parts": parts})
    # Then completion verifies the assembled object
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "available" and done.json()["size_bytes"] == len(data)


def test_tampered_upload_is_rejected(new_account: Any) -> None:
    pub, _ = new_account("publisher")
    created = declare(pub, b"what I promised", media_type="text/plain")
    up = created["upload"]
    # moto does not check the signed checksum header, so the altered bytes land; the verifier catches them
    requests.put(up["url"], data=b"something else!", headers=up["headers"], timeout=30)
    asset = wait_status(pub, created["asset"]["id"])
    assert asset["status"] == "rejected" and asset["status_reason"]


def test_other_publisher_cannot_see_or_edit_drafts(new_account: Any, http: Any) -> None:
    owner, _ = new_account("publisher")
    other, _ = new_account("publisher")
    draft = declare(owner, b"draft", media_type="text/plain")["asset"]["id"]
    assert other.get(f"/v1/assets/{draft}").status_code == 404
    assert http.get(f"/v1/assets/{draft}").status_code == 404
    assert other.patch(f"/v1/assets/{draft}", json={"title": "stolen"}).status_code == 404
    assert other.delete(f"/v1/assets/{draft}").status_code == 404
    assert owner.get(f"/v1/assets/{draft}").json()["status"] == "pending_upload"


def test_demo_data_is_seeded(local_stack: dict[str, Any], http: Any) -> None:
    demo = local_stack.get("demo")
    assert demo, "make run seeds demo data unless --no-seed"
    assert {a["pricing"] for a in demo["assets"]} == {"per_access", "per_unit", "flat", "subscription", "free"}
    listed = {a["id"] for a in http.get("/v1/catalog/assets", params={"limit": 100}).json()["items"]}
    assert {a["id"] for a in demo["assets"]} <= listed

"""The content bucket's DAL reads S3's answers as S3 gives them (moto returns no checksums): the SHA-256 S3 checked
on a single PUT, none for a multipart object (its checksum is composite, or CRC-only), and the VersionId read."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from functions.catalog.dal import content as content_mod
from functions.catalog.dal.content import ContentStore

BUCKET = "content-bucket"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    monkeypatch.setattr(content_mod.aws, "client", lambda name: client)
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


def _head(stub: Stubber, **answer: Any) -> None:
    stub.add_response(
        "head_object",
        {"ContentLength": 5, "ETag": '"e"', **answer},
        {"Bucket": BUCKET, "Key": "k", "ChecksumMode": "ENABLED"},
    )


def test_a_put_checked_by_s3_gives_its_sha256_and_version(s3: Stubber) -> None:
    digest = hashlib.sha256(b"hello").digest()
    _head(s3, ChecksumSHA256=base64.b64encode(digest).decode(), ChecksumType="FULL_OBJECT", VersionId="v1")
    got = ContentStore(BUCKET).head("k")
    assert got is not None and got.sha256 == digest.hex() and got.version_id == "v1" and got.size == 5


@pytest.mark.parametrize(
    "answer",
    [
        {},  # no checksum at all (uploaded without one)
        {"ChecksumSHA256": base64.b64encode(b"x" * 32).decode() + "-3", "ChecksumType": "COMPOSITE"},  # multipart
        {"ChecksumSHA256": base64.b64encode(b"x" * 32).decode(), "ChecksumType": "COMPOSITE"},
    ],
)
def test_no_full_object_sha256_means_we_hash_it_ourselves(s3: Stubber, answer: dict[str, Any]) -> None:
    _head(s3, VersionId="null", **answer)
    got = ContentStore(BUCKET).head("k")
    assert got is not None and got.sha256 is None
    assert got.version_id is None  # "null": written while versioning was off, no version to pin


def test_a_missing_object_is_none(s3: Stubber) -> None:
    s3.add_client_error("head_object", service_error_code="404", http_status_code=404)
    assert ContentStore(BUCKET).head("k") is None

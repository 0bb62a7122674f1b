"""Content bucket access: presigned uploads (single PUT and multipart) and streaming reads for verification.
Content bytes never pass through the API: clients talk to S3 with these URLs."""

from __future__ import annotations

import base64
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from functions.shared import aws
from functions.shared.faults import RuleViolated

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CopySourceTypeDef, GetObjectRequestTypeDef, ListPartsRequestTypeDef

CHUNK = 8 * 1024 * 1024
RANGE = 16 * 1024 * 1024  # one ranged GET of the verifier's read-ahead


class ContentStore:
    def __init__(self, bucket: str, delivery_bucket: str = "") -> None:
        self.bucket = bucket
        self.delivery_bucket = delivery_bucket  # delivery copies (S3 Express One Zone); "" where there are none

    def copy_for_delivery(self, key: str, version_id: str | None, delivery_key: str, media_type: str) -> None:
        """Copy the verified version of ``key`` into the delivery bucket under ``delivery_key``, with its media type
        as the copy's Content-Type (deliveries presign on the copy without a response override). One ``CopyObject``;
        the copy is never changed after: its key names the bytes' SHA-256, and only the verifying functions write."""
        source: CopySourceTypeDef = {"Bucket": self.bucket, "Key": key}
        if version_id:
            source["VersionId"] = version_id  # the bytes verified, even if the key was overwritten since
        aws.s3_for(self.delivery_bucket).copy_object(
            Bucket=self.delivery_bucket,
            Key=delivery_key,
            CopySource=source,
            MetadataDirective="REPLACE",
            ContentType=media_type,
        )

    @property
    def _s3(self) -> S3Client:
        return aws.s3()

    def presign_put(self, key: str, media_type: str, sha256_hex: str, expires_s: int) -> tuple[str, dict[str, str]]:
        """A PUT URL whose signature covers the content type and the SHA-256 checksum header, so S3 refuses a
        body whose checksum differs from the declaration (moto does not enforce this; the verifier re-checks)."""
        checksum = base64.b64encode(bytes.fromhex(sha256_hex)).decode()
        url = self._s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": self.bucket, "Key": key, "ContentType": media_type, "ChecksumSHA256": checksum},
            ExpiresIn=expires_s,
        )
        return url, {"Content-Type": media_type, "x-amz-checksum-sha256": checksum}

    def has_delivery_copy(self, delivery_key: str) -> bool:
        """Whether the delivery bucket holds ``delivery_key`` (a ``HeadObject``)."""
        from botocore.exceptions import ClientError

        try:
            aws.s3_for(self.delivery_bucket).head_object(Bucket=self.delivery_bucket, Key=delivery_key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def start_multipart(self, key: str, media_type: str) -> str:
        got = self._s3.create_multipart_upload(Bucket=self.bucket, Key=key, ContentType=media_type)
        return str(got["UploadId"])

    def presign_part(self, key: str, upload_id: str, part_number: int, expires_s: int) -> str:
        return str(
            self._s3.generate_presigned_url(
                "upload_part",
                Params={"Bucket": self.bucket, "Key": key, "UploadId": upload_id, "PartNumber": part_number},
                ExpiresIn=expires_s,
            )
        )

    def complete_multipart(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        """Assemble the parts. S3's refusals that the uploader caused (a wrong etag, a part too small, an unknown
        upload) become ``RuleViolated`` ``invalid_parts``; anything else is unexpected and raised as is."""
        from botocore.exceptions import ClientError

        try:
            self._s3.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etag} for n, etag in sorted(parts)]},
            )
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("InvalidPart", "InvalidPartOrder", "NoSuchUpload", "EntityTooSmall"):
                raise RuleViolated(f"S3 refused to complete the upload ({code}).", code="invalid_parts") from None
            raise

    def list_parts(self, key: str, upload_id: str) -> list[tuple[int, str]]:
        out: list[tuple[int, str]] = []
        args: ListPartsRequestTypeDef = {"Bucket": self.bucket, "Key": key, "UploadId": upload_id}
        while True:
            got = self._s3.list_parts(**args)
            out += [(p["PartNumber"], p["ETag"]) for p in got.get("Parts", [])]
            if not got.get("IsTruncated"):
                return out
            args["PartNumberMarker"] = got["NextPartNumberMarker"]

    def abort_multipart(self, key: str, upload_id: str) -> None:
        s3 = self._s3
        try:
            s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except s3.exceptions.NoSuchUpload:
            pass

    def head(self, key: str) -> StoredObject | None:
        """The current version of the object: size, version id and, for a single PUT signed with
        ``x-amz-checksum-sha256``, the SHA-256 that S3 itself checked on upload (``ChecksumMode``). None when
        there is no such object (yet). Multipart objects carry no full-object SHA-256 (S3's are CRC-only)."""
        s3 = self._s3
        try:
            got = s3.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        except s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        checksum = got.get("ChecksumSHA256")
        full = checksum and "-" not in checksum and got.get("ChecksumType", "FULL_OBJECT") == "FULL_OBJECT"
        return StoredObject(
            size=int(got["ContentLength"]),
            version_id=_version(got.get("VersionId")),
            sha256=base64.b64decode(checksum).hex() if full else None,
        )

    def stream(self, key: str, *, limit: int | None = None, parallel: int = 1) -> Stream | None:
        """The current object's bytes in chunks and the version read, or None when there is no such object (yet).
        ``limit``: only the first ``limit`` bytes (a ranged GET). ``parallel`` > 1: that many ranged GETs in
        flight ahead of the reader (one object, pinned by its ETag), for the verifier's large objects."""
        if parallel > 1 and limit is None:
            return self._read_ahead(key, parallel)
        s3 = self._s3
        args: GetObjectRequestTypeDef = {"Bucket": self.bucket, "Key": key}
        if limit is not None:
            args["Range"] = f"bytes=0-{max(limit, 1) - 1}"
        try:
            got = s3.get_object(**args)
        except s3.exceptions.NoSuchKey:
            return None
        body = got["Body"]

        def chunks() -> Iterator[bytes]:
            try:
                while True:
                    data = body.read(CHUNK)
                    if not data:
                        return
                    yield data
            finally:
                body.close()

        return Stream(chunks=chunks(), version_id=_version(got.get("VersionId")))

    def _read_ahead(self, key: str, parallel: int) -> Stream | None:
        s3 = self._s3
        try:
            got = s3.head_object(Bucket=self.bucket, Key=key)
        except s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        size, etag = int(got["ContentLength"]), str(got["ETag"])
        starts = range(0, size, RANGE)

        def fetch(start: int) -> bytes:
            end = min(start + RANGE, size) - 1
            part = s3.get_object(Bucket=self.bucket, Key=key, Range=f"bytes={start}-{end}", IfMatch=etag)
            return bytes(part["Body"].read())

        def chunks() -> Iterator[bytes]:
            with ThreadPoolExecutor(max_workers=parallel) as pool:
                window: deque[Future[bytes]] = deque()
                todo = iter(starts)
                for start in todo:
                    window.append(pool.submit(fetch, start))
                    if len(window) >= parallel:
                        break
                while window:
                    data = window.popleft().result()
                    nxt = next(todo, None)
                    if nxt is not None:
                        window.append(pool.submit(fetch, nxt))
                    yield data

        return Stream(chunks=chunks(), version_id=_version(got.get("VersionId")))


def _version(version_id: str | None) -> str | None:
    """S3 answers ``null`` for an object written while versioning was off; that is no version to pin."""
    return None if not version_id or version_id == "null" else str(version_id)


@dataclass(frozen=True)
class StoredObject:
    size: int
    version_id: str | None
    sha256: str | None  # hex, only when S3 checked a full-object SHA-256 on upload


@dataclass(frozen=True)
class Stream:
    chunks: Iterator[bytes]
    version_id: str | None  # the version these bytes belong to (recorded as the verified version)

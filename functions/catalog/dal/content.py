"""Content bucket access: presigned uploads (single PUT and multipart) and streaming reads for verification.
Content bytes never pass through the API: clients talk to S3 with these URLs."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from functions.shared import aws

CHUNK = 8 * 1024 * 1024


class ContentStore:
    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    @property
    def _s3(self) -> Any:
        return aws.client("s3")

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
        self._s3.complete_multipart_upload(
            Bucket=self.bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etag} for n, etag in sorted(parts)]},
        )

    def list_parts(self, key: str, upload_id: str) -> list[tuple[int, str]]:
        out: list[tuple[int, str]] = []
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "UploadId": upload_id}
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

    def stream(self, key: str) -> Iterator[bytes] | None:
        """The stored object's bytes in chunks, or None when there is no such object (yet)."""
        s3 = self._s3
        try:
            body = s3.get_object(Bucket=self.bucket, Key=key)["Body"]
        except s3.exceptions.NoSuchKey:
            return None

        def chunks() -> Iterator[bytes]:
            try:
                while True:
                    data = body.read(CHUNK)
                    if not data:
                        return
                    yield data
            finally:
                body.close()

        return chunks()

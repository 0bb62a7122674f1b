"""Verification of stored content against the publisher's declaration: size, SHA-256, and media type.

The media type is checked by content sniffing where the format has a signature (PDF, PNG, JPEG, WebP, GIF-less
images, ZIP-based formats, gzip, MP3, WAV, MP4, Parquet); text types must decode as UTF-8 in the first 64 KiB,
and JSON must parse when the whole object is small (≤ 1 MiB). Limits: a text file that is valid UTF-8 but holds
something else (e.g. CSV declared as Markdown) cannot be told apart and is accepted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from functions.shared.limits import json_limit_violation

_SNIFF = 64 * 1024
UPLOAD_JSON_DEPTH = 512  # a data file may nest deeper than an API body (64), not without bound
SNIFF_BYTES = _SNIFF
SMALL_JSON_BYTES = 1024 * 1024  # JSON up to this size must parse
_TEXT = {
    "text/plain",
    "text/html",
    "text/markdown",
    "text/csv",
    "application/json",
    "application/x-ndjson",
    "application/xml",
}


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str | None
    size: int
    sha256: str


def _magic_ok(media_type: str, head: bytes) -> bool:
    checks = {
        "application/pdf": lambda h: h.startswith(b"%PDF-"),
        "image/png": lambda h: h.startswith(b"\x89PNG\r\n\x1a\n"),
        "image/jpeg": lambda h: h.startswith(b"\xff\xd8\xff"),
        "image/webp": lambda h: h[:4] == b"RIFF" and h[8:12] == b"WEBP",
        "application/zip": lambda h: h.startswith((b"PK\x03\x04", b"PK\x05\x06")),
        "application/epub+zip": lambda h: h.startswith(b"PK\x03\x04"),
        "application/gzip": lambda h: h.startswith(b"\x1f\x8b"),
        "application/x-tar": lambda h: len(h) > 262 and h[257:262] == b"ustar",
        "application/parquet": lambda h: h.startswith(b"PAR1"),
        "audio/mpeg": lambda h: h.startswith(b"ID3") or (len(h) > 1 and h[0] == 0xFF and h[1] & 0xE0 == 0xE0),
        "audio/wav": lambda h: h[:4] == b"RIFF" and h[8:12] == b"WAVE",
        "video/mp4": lambda h: h[4:8] == b"ftyp",
    }
    if media_type == "application/octet-stream":
        return True  # opaque binary by declaration: size and SHA-256 still hold it to what was declared
    if media_type in checks:
        return bool(checks[media_type](head))
    if media_type in _TEXT:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            return exc.start >= len(head) - 3  # a multi-byte character cut at the sniff boundary
        return True
    return False


def verify(chunks: Iterable[bytes], *, declared_size: int, declared_sha256: str, media_type: str) -> Verdict:
    digest = hashlib.sha256()
    size = 0
    head = b""
    small = bytearray()
    for chunk in chunks:
        if len(head) < _SNIFF:
            head += chunk[: _SNIFF - len(head)]
        if size + len(chunk) <= 1024 * 1024:
            small += chunk
        digest.update(chunk)
        size += len(chunk)
        if size > declared_size:
            return Verdict(False, f"stored object is larger than the declared {declared_size} bytes", size, "")
    return judge(
        size=size,
        sha256=digest.hexdigest(),
        head=head,
        small=bytes(small),
        declared_size=declared_size,
        declared_sha256=declared_sha256,
        media_type=media_type,
    )


def judge(
    *, size: int, sha256: str, head: bytes, small: bytes, declared_size: int, declared_sha256: str, media_type: str
) -> Verdict:
    """The verdict on a stored object from its size, its SHA-256 (hashed here, or checked by S3 on upload), its
    first 64 KiB and, when it is at most 1 MiB, its whole content."""
    sha = sha256
    if size != declared_size:
        return Verdict(False, f"stored object has {size} bytes, {declared_size} were declared", size, sha)
    if sha != declared_sha256.lower():
        return Verdict(False, "SHA-256 of the stored object does not match the declared sha256", size, sha)
    if not _magic_ok(media_type, head):
        return Verdict(False, f"content does not look like {media_type}", size, sha)
    if media_type == "application/json" and size <= 1024 * 1024:
        # Python's parser recurses per level: a deeply nested file would crash the verifier into the DLQ (issue 17)
        too_deep = json_limit_violation(
            bytes(small).decode("utf-8", "replace"), max_depth=UPLOAD_JSON_DEPTH, long_numbers=True
        )
        if too_deep is not None:
            return Verdict(False, f"content is not accepted as JSON: {too_deep[0].lower()}{too_deep[1:]}", size, sha)
        try:
            json.loads(bytes(small))
        except RecursionError:  # a backstop: the depth check above is far below the recursion limit
            return Verdict(False, "content is not accepted as JSON: it is nested too deeply", size, sha)
        except ValueError as exc:  # also an integer longer than Python's 4,300-digit limit
            return Verdict(False, f"content is not valid JSON ({str(exc)[:120]})", size, sha)
    return Verdict(True, None, size, sha)

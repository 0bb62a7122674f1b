"""Asset rules: create with a presigned upload, read with ownership, update, withdraw, verify."""

from __future__ import annotations

import math
from datetime import timedelta

from functions.catalog.dal.content import ContentStore
from functions.catalog.dal.store import CatalogStore
from functions.catalog.logic.verify import SMALL_JSON_BYTES, SNIFF_BYTES, judge, verify
from functions.catalog.models.domain import (
    DELIVERY_COPY_MAX_BYTES,
    PART_SIZE,
    PART_URL_TTL_S,
    PUT_MAX_BYTES,
    PUT_URL_TTL_S,
    SYNC_VERIFY_MAX_BYTES,
    Asset,
    UploadState,
)
from functions.catalog.models.input import CompleteRequest, CreateAssetRequest, UpdateAssetRequest
from functions.shared.auth import Principal
from functions.shared.clock import iso, now, now_iso
from functions.shared.faults import Missing, RuleViolated, StateConflict, Withdrawn
from functions.shared.ids import is_id, new_id
from functions.shared.jsontypes import JSONObject

MAX_PARTS = 10_000
READ_AHEAD = 4  # the verifier reads 4 ranges at once while it hashes (docs/performance.md)


def part_size_for(size: int) -> int:
    """16 MiB parts, grown in whole MiB when a file would need more than 10,000 parts."""
    mib = 1024 * 1024
    return max(PART_SIZE, math.ceil(size / MAX_PARTS / mib) * mib)


def _visible(asset: Asset | None, caller: Principal | None) -> Asset:
    """The asset if the caller may see it: anyone for available, the owner (or an admin) for any status."""
    if asset is None:
        raise Missing("No such asset.")
    if asset.status == "available":
        return asset
    if caller is not None and (caller.account_id == asset.publisher_id or caller.is_admin):
        return asset
    raise Missing("No such asset.")


def _owned(asset: Asset | None, caller: Principal) -> Asset:
    if asset is None or asset.publisher_id != caller.account_id:
        raise Missing("No such asset.")
    return asset


def _check_collection(store: CatalogStore, caller: Principal, collection_id: str | None) -> None:
    if collection_id is None:
        return
    col = store.get_collection(collection_id) if is_id(collection_id, "col") else None
    if col is None or col.publisher_id != caller.account_id:
        raise RuleViolated("collection_id is not one of your collections.", code="unknown_collection")


def create_asset(
    store: CatalogStore, content: ContentStore, caller: Principal, req: CreateAssetRequest
) -> tuple[Asset, JSONObject]:
    _check_collection(store, caller, req.collection_id)
    asset_id = new_id("ast")
    key = f"assets/{caller.account_id}/{asset_id}"
    created = now()
    multipart = req.upload_method == "MULTIPART" or (req.upload_method is None and req.size_bytes > PUT_MAX_BYTES)
    upload: JSONObject
    if multipart:
        part_size = part_size_for(req.size_bytes)
        count = math.ceil(req.size_bytes / part_size)
        upload_id = content.start_multipart(key, req.media_type)
        state = UploadState(method="MULTIPART", upload_id=upload_id, part_size=part_size, part_count=count)
        upload = {
            "method": "MULTIPART",
            "upload_id": upload_id,
            "part_size": part_size,
            "parts": [
                {"part_number": n, "url": content.presign_part(key, upload_id, n, PART_URL_TTL_S)}
                for n in range(1, count + 1)
            ],
            "expires_at": iso(created + timedelta(seconds=PART_URL_TTL_S)),
        }
    else:
        url, headers = content.presign_put(key, req.media_type, req.sha256, PUT_URL_TTL_S)
        state = UploadState(method="PUT")
        upload = {
            "method": "PUT",
            "url": url,
            "headers": headers,
            "expires_at": iso(created + timedelta(seconds=PUT_URL_TTL_S)),
        }
    asset = Asset(
        id=asset_id,
        publisher_id=caller.account_id,
        title=req.title,
        description=req.description,
        kind=req.kind,
        media_type=req.media_type,
        language=req.language,
        tags=req.tags,
        size_bytes=req.size_bytes,
        sha256=req.sha256.lower(),
        status="pending_upload",
        s3_key=key,
        collection_id=req.collection_id,
        upload=state,
        published_at=req.published_at,
        created_at=iso(created),
        updated_at=iso(created),
    )
    store.put_new_asset(asset)
    return asset, upload


def get_asset(store: CatalogStore, asset_id: str, caller: Principal | None) -> Asset:
    return _visible(store.get_asset(asset_id), caller)


def update_asset(store: CatalogStore, caller: Principal, asset_id: str, req: UpdateAssetRequest) -> Asset:
    asset = _owned(store.get_asset(asset_id), caller)
    if asset.status == "withdrawn":
        raise Withdrawn("This asset was withdrawn.", code="asset_withdrawn")
    changes = req.model_dump(exclude_unset=True)
    if "collection_id" in changes:
        _check_collection(store, caller, changes["collection_id"])
    updated = asset.model_copy(update={**changes, "updated_at": now_iso()})
    if not store.save_asset(updated, expect_status=asset.status):
        raise StateConflict("The asset changed while it was being updated; retry.", code="concurrent_update")
    return updated


def withdraw_asset(store: CatalogStore, content: ContentStore, caller: Principal, asset_id: str) -> Asset:
    asset = _owned(store.get_asset(asset_id), caller)
    if asset.status == "withdrawn":
        return asset
    if asset.upload.method == "MULTIPART" and asset.status == "pending_upload" and asset.upload.upload_id:
        content.abort_multipart(asset.s3_key, asset.upload.upload_id)
    when = now_iso()
    withdrawn = asset.model_copy(
        update={"status": "withdrawn", "status_reason": "withdrawn by the publisher", "updated_at": when}
    )
    store.save_asset(withdrawn)
    for offer in store.iter_offers(f"OFFERS#asset#{asset.id}"):
        if offer.status == "active":
            store.retire_offer(offer.id, when)
    return withdrawn


def complete_upload(
    store: CatalogStore, content: ContentStore, caller: Principal, asset_id: str, req: CompleteRequest
) -> Asset:
    asset = _owned(store.get_asset(asset_id), caller)
    if asset.status != "pending_upload":
        return asset  # already verified (or withdrawn): completing again changes nothing
    if asset.upload.method == "MULTIPART":
        assert asset.upload.upload_id is not None
        parts = (
            [(p.part_number, p.etag) for p in req.parts]
            if req.parts
            else content.list_parts(asset.s3_key, asset.upload.upload_id)
        )
        expected = asset.upload.part_count or 0
        if sorted(n for n, _ in parts) != list(range(1, expected + 1)):
            raise RuleViolated(
                f"All {expected} parts must be uploaded and listed before completing.", code="incomplete_upload"
            )
        content.complete_multipart(asset.s3_key, asset.upload.upload_id, parts)  # invalid parts: RuleViolated
    return verify_asset(store, content, asset.id, in_api=True) or asset


VERIFIABLE = ("pending_upload", "verifying")


def verify_asset(store: CatalogStore, content: ContentStore, asset_id: str, *, in_api: bool = False) -> Asset | None:
    """Verify the stored object of a pending asset. Idempotent: only a ``pending_upload`` or ``verifying`` asset
    changes, once. Returns the asset after verification (``verifying`` when ``in_api`` and the object is too large
    to hash within the API function: the verifier finishes it), or None when there is nothing (yet) to verify.

    A single PUT whose SHA-256 S3 checked on upload (``x-amz-checksum-sha256``, ``HeadObject`` with
    ``ChecksumMode``) is not hashed again: only its first bytes are read, for the media type. Everything else is
    hashed here, in chunks. The S3 ``VersionId`` of the bytes verified is recorded: deliveries presign on it."""
    asset = store.get_asset(asset_id)
    if asset is None or asset.status not in VERIFIABLE:
        return asset
    stored = content.head(asset.s3_key)
    if stored is None:
        return None
    if stored.sha256 is not None:
        head = content.stream(asset.s3_key, limit=SMALL_JSON_BYTES)
        if head is None or head.version_id != stored.version_id:
            return None  # overwritten between the two reads: its own ObjectCreated event verifies the new version
        first = b"".join(head.chunks)
        verdict = judge(
            size=stored.size,
            sha256=stored.sha256,
            head=first[:SNIFF_BYTES],
            small=first if stored.size <= SMALL_JSON_BYTES else b"",
            declared_size=asset.size_bytes,
            declared_sha256=asset.sha256,
            media_type=asset.media_type,
        )
        version = stored.version_id
    elif in_api and stored.size > SYNC_VERIFY_MAX_BYTES:
        if asset.status == "verifying":
            return asset
        verifying = asset.model_copy(update={"status": "verifying", "updated_at": now_iso()})
        if store.save_asset(verifying, expect_status="pending_upload"):
            return verifying
        return store.get_asset(asset_id)
    else:
        body = content.stream(asset.s3_key, parallel=1 if in_api else READ_AHEAD)
        if body is None:
            return None
        verdict = verify(
            body.chunks, declared_size=asset.size_bytes, declared_sha256=asset.sha256, media_type=asset.media_type
        )
        version = body.version_id
    delivery_key = _copy_for_delivery(content, asset, version) if verdict.ok else None
    when = now_iso()
    current: Asset | None = asset
    for _ in range(3):  # `complete` may move the asset to verifying while the verifier hashes it
        if current is None or current.status not in VERIFIABLE:
            return current
        result = current.model_copy(
            update={
                "status": "available" if verdict.ok else "rejected",
                "status_reason": verdict.reason,
                "verified_at": when,
                "updated_at": when,
                "published_at": current.published_at or when,
                "content_version": version if verdict.ok else None,
                "delivery_key": delivery_key,
            }
        )
        if store.save_asset(result, expect_status=current.status):
            return result
        current = store.get_asset(asset_id)
    return current


def _copy_for_delivery(content: ContentStore, asset: Asset, version: str | None) -> str | None:
    """Copy verified bytes of up to ``DELIVERY_COPY_MAX_BYTES`` to the delivery bucket (S3 Express One Zone, issue
    16) before the asset becomes available, so no delivery presigns a copy that is not there yet; the key names the
    SHA-256, so a verification run twice writes the same bytes to the same key. None when there is no delivery
    bucket or the object is larger: deliveries then presign on the content bucket. A failed copy raises, and the
    asset stays unverified until the verifier's retry (its queue redelivers the event)."""
    if not content.delivery_bucket or asset.size_bytes > DELIVERY_COPY_MAX_BYTES:
        return None
    key = f"{asset.s3_key}/{asset.sha256}"
    content.copy_for_delivery(asset.s3_key, version, key, asset.media_type)
    return key


def ensure_delivery_copies(store: CatalogStore, content: ContentStore, *, page: int = 100) -> dict[str, int]:
    """The delivery copies' repair job (scheduled daily on the verifier): every available asset of up to
    ``DELIVERY_COPY_MAX_BYTES`` gets its copy (assets verified before copies existed, a copy lost with its zone), made
    from the verified version and recorded on the asset. Idempotent; an asset withdrawn meanwhile is left alone. An
    asset without a verified version (an unversioned bucket) is skipped: its current bytes may not be the ones
    verified. Returns what it found and did."""
    counts = {"available": 0, "present": 0, "copied": 0, "too_large": 0, "unversioned": 0}
    if not content.delivery_bucket:
        return counts
    start = None
    while True:
        entries, start = store.search_page("ALL", start, page)
        for asset in store.batch_get_assets([str(e["asset_id"]) for e in entries]).values():
            if asset.status != "available":
                continue
            counts["available"] += 1
            if asset.size_bytes > DELIVERY_COPY_MAX_BYTES:
                counts["too_large"] += 1
                continue
            if asset.content_version is None:
                counts["unversioned"] += 1
                continue
            key = f"{asset.s3_key}/{asset.sha256}"
            if asset.delivery_key == key and content.has_delivery_copy(key):
                counts["present"] += 1
                continue
            content.copy_for_delivery(asset.s3_key, asset.content_version, key, asset.media_type)
            if asset.delivery_key == key or store.set_delivery_key(asset.id, key):
                counts["copied"] += 1
        if not start:
            return counts


def asset_id_from_key(key: str) -> str | None:
    parts = key.split("/")
    if len(parts) == 3 and parts[0] == "assets" and is_id(parts[2], "ast"):
        return parts[2]
    return None

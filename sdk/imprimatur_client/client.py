"""The Imprimatur API client: one method per call of the public contract, pagination iterators, retries with
back-off on 429/5xx and network errors that reuse the Idempotency-Key, typed errors from problem+json."""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import random
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from imprimatur_client.certificates import verify_certificate
from imprimatur_client.errors import ImprimaturError, TransportError, VerificationFailed, from_response

Progress = Callable[[int], None]
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
CHUNK = 1024 * 1024


def sha256_file(path: Path, progress: Progress | None = None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            if progress:
                progress(len(chunk))
    return digest.hexdigest()


@dataclass
class ContentGrant:
    url: str
    expires_at: str
    license_id: str
    sha256: str
    size_bytes: int
    media_type: str
    crawler_charged: str | None = None


class Client:
    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.max_retries, self.backoff, self._sleep = max_retries, backoff, sleep
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)
        self._s3 = httpx.Client(timeout=httpx.Timeout(timeout, read=300), transport=transport)

    def close(self) -> None:
        self._http.close()
        self._s3.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------ transport
    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        idempotent: bool = False,
        raw: bool = False,
    ) -> Any:
        """One API call. POSTs that create or charge get an Idempotency-Key, reused by every retry."""
        hdrs = {"Accept": "application/json", **(headers or {})}
        if self.api_key:
            hdrs["Authorization"] = f"Bearer {self.api_key}"
        if idempotent:
            hdrs.setdefault("Idempotency-Key", str(uuid.uuid4()))
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        attempt = 0
        while True:
            try:
                resp = self._http.request(method, path, json=json_body, params=clean, headers=hdrs)
            except httpx.TransportError as exc:
                if attempt >= self.max_retries:
                    raise TransportError(f"cannot reach {self.base_url}: {exc}", code="network") from None
                self._wait(attempt, None)
                attempt += 1
                continue
            if resp.status_code in RETRY_STATUSES and attempt < self.max_retries:
                self._wait(attempt, resp.headers.get("retry-after"))
                attempt += 1
                continue
            if resp.status_code >= 400:
                try:
                    body = resp.json()
                except ValueError:
                    body = {"detail": resp.text[:500]}
                raise from_response(resp.status_code, body, dict(resp.headers))
            if raw:
                return resp
            return resp.json() if resp.content else None

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        delay = self.backoff * (2**attempt) * (0.5 + random.random())
        if retry_after and retry_after.isdigit():
            delay = max(delay, float(retry_after))
        self._sleep(min(delay, 30.0))

    def paginate(self, path: str, params: dict[str, Any] | None = None, page_size: int = 100) -> Iterator[Any]:
        cursor = None
        while True:
            page = self.request("GET", path, params={**(params or {}), "limit": page_size, "cursor": cursor})
            yield from page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    # ------------------------------------------------------------------------------------------- accounts
    def health(self) -> dict[str, Any]:
        return dict(self.request("GET", "/v1/health"))

    def create_account(self, name: str, email: str, roles: list[str]) -> dict[str, Any]:
        return dict(
            self.request(
                "POST", "/v1/accounts", json_body={"name": name, "email": email, "roles": roles}, idempotent=True
            )
        )

    def me(self) -> dict[str, Any]:
        return dict(self.request("GET", "/v1/me"))

    def create_key(self) -> dict[str, Any]:
        return dict(self.request("POST", "/v1/me/keys", json_body={}, idempotent=True))

    def keys(self) -> Iterator[dict[str, Any]]:
        return self.paginate("/v1/me/keys")

    def revoke_key(self, key_id: str) -> None:
        self.request("DELETE", f"/v1/me/keys/{key_id}")

    def suspend_account(self, account_id: str) -> dict[str, Any]:
        return dict(self.request("POST", f"/v1/accounts/{account_id}/suspend", json_body={}))

    # --------------------------------------------------------------------------------------------- assets
    def create_asset(self, **fields: Any) -> dict[str, Any]:
        return dict(self.request("POST", "/v1/assets", json_body=fields, idempotent=True))

    def get_asset(self, asset_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/v1/assets/{asset_id}"))

    def my_assets(self, status: str | None = None) -> Iterator[dict[str, Any]]:
        return self.paginate("/v1/assets", {"status": status})

    def update_asset(self, asset_id: str, **fields: Any) -> dict[str, Any]:
        return dict(self.request("PATCH", f"/v1/assets/{asset_id}", json_body=fields))

    def withdraw_asset(self, asset_id: str) -> dict[str, Any]:
        return dict(self.request("DELETE", f"/v1/assets/{asset_id}"))

    def complete_upload(self, asset_id: str, parts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        return dict(
            self.request("POST", f"/v1/assets/{asset_id}/complete", json_body={"parts": parts} if parts else {})
        )

    def search(self, **filters: Any) -> Iterator[dict[str, Any]]:
        return self.paginate("/v1/catalog/assets", filters)

    def create_collection(self, title: str, description: str | None = None) -> dict[str, Any]:
        return dict(
            self.request(
                "POST", "/v1/collections", json_body={"title": title, "description": description}, idempotent=True
            )
        )

    def get_collection(self, collection_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/v1/collections/{collection_id}"))

    def publisher(self, publisher_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/v1/publishers/{publisher_id}"))

    def rsl(self, *, asset_id: str | None = None, publisher_id: str | None = None) -> str:
        path = f"/v1/assets/{asset_id}/rsl.xml" if asset_id else f"/v1/publishers/{publisher_id}/rsl.xml"
        return str(self.request("GET", path, raw=True).text)

    # --------------------------------------------------------------------------------------------- offers
    def create_offer(self, **fields: Any) -> dict[str, Any]:
        return dict(self.request("POST", "/v1/offers", json_body=fields, idempotent=True))

    def offers(self, **scope: str) -> Iterator[dict[str, Any]]:
        return self.paginate("/v1/offers", scope)

    def get_offer(self, offer_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/v1/offers/{offer_id}"))

    def retire_offer(self, offer_id: str) -> dict[str, Any]:
        return dict(self.request("DELETE", f"/v1/offers/{offer_id}"))

    # ---------------------------------------------------------------------------------------------- pools
    def create_pool(self, name: str, description: str = "") -> dict[str, Any]:
        return dict(
            self.request("POST", "/v1/pools", json_body={"name": name, "description": description}, idempotent=True)
        )

    def get_pool(self, pool_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/v1/pools/{pool_id}"))

    def join_pool(
        self, pool_id: str, asset_ids: list[str] | None = None, collection_ids: list[str] | None = None
    ) -> dict[str, Any]:
        return dict(
            self.request(
                "POST",
                f"/v1/pools/{pool_id}/members",
                json_body={"asset_ids": asset_ids, "collection_ids": collection_ids},
            )
        )

    def leave_pool(self, pool_id: str, asset_id: str) -> dict[str, Any]:
        return dict(self.request("DELETE", f"/v1/pools/{pool_id}/members/{asset_id}"))

    def distribute_pool(self, pool_id: str, period: str) -> dict[str, Any]:
        return dict(
            self.request("POST", f"/v1/pools/{pool_id}/distributions", json_body={"period": period}, idempotent=True)
        )

    # ------------------------------------------------------------------------------------------- licences
    def buy(
        self, offer_id: str, use: str, budget_cap_micros: int | None = None, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"offer_id": offer_id, "use": use}
        if budget_cap_micros is not None:
            body["budget_cap_micros"] = budget_cap_micros
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return dict(self.request("POST", "/v1/licenses", json_body=body, headers=headers, idempotent=True))

    def licenses(self, as_: str = "buyer", status: str | None = None) -> Iterator[dict[str, Any]]:
        return self.paginate("/v1/licenses", {"as": as_, "status": status})

    def get_license(self, license_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/v1/licenses/{license_id}"))

    def certificate(self, license_id: str) -> str:
        return str(self.request("GET", f"/v1/licenses/{license_id}/certificate")["certificate"])

    def cancel_license(self, license_id: str) -> dict[str, Any]:
        return dict(self.request("POST", f"/v1/licenses/{license_id}/cancel", json_body={}))

    def revoke_license(self, license_id: str, reason: str) -> dict[str, Any]:
        return dict(self.request("POST", f"/v1/licenses/{license_id}/revoke", json_body={"reason": reason}))

    def jwks(self) -> dict[str, Any]:
        return dict(self.request("GET", "/.well-known/jwks.json"))

    def verify_certificate(self, token: str, jwks: dict[str, Any] | None = None) -> dict[str, Any]:
        return verify_certificate(token, jwks or self.jwks())

    # -------------------------------------------------------------------------------------------- content
    def content(
        self,
        asset_id: str,
        use: str,
        *,
        license_id: str | None = None,
        max_price: str | None = None,
        exact_price: str | None = None,
    ) -> ContentGrant:
        """A presigned URL for licensed content. ``max_price``/``exact_price`` (e.g. ``"USD 0.01"``) take a
        pay-per-crawl licence on the spot; ``ContentGrant.crawler_charged`` says what was charged."""
        headers = {}
        if max_price:
            headers["crawler-max-price"] = max_price
        if exact_price:
            headers["crawler-exact-price"] = exact_price
        resp = self.request(
            "GET",
            f"/v1/assets/{asset_id}/content",
            params={"use": use, "license_id": license_id},
            headers=headers,
            raw=True,
        )
        data = resp.json()
        return ContentGrant(**data, crawler_charged=resp.headers.get("crawler-charged"))

    def download(self, grant: ContentGrant, dest: Path, progress: Progress | None = None) -> Path:
        """Stream the content to ``dest`` and check its SHA-256 (the partial file is removed on mismatch)."""
        digest = hashlib.sha256()
        tmp = dest.with_name(dest.name + ".part")
        try:
            with self._s3.stream("GET", grant.url) as resp:
                if resp.status_code != 200:
                    raise ImprimaturError(f"download failed: HTTP {resp.status_code}", status=resp.status_code)
                with tmp.open("wb") as f:
                    for chunk in resp.iter_bytes(CHUNK):
                        f.write(chunk)
                        digest.update(chunk)
                        if progress:
                            progress(len(chunk))
        except httpx.TransportError as exc:
            raise TransportError(f"download failed: {exc}", code="network") from None
        if digest.hexdigest() != grant.sha256:
            tmp.unlink(missing_ok=True)
            raise VerificationFailed("the downloaded bytes do not match the asset's SHA-256", code="checksum")
        tmp.replace(dest)
        return dest

    # ------------------------------------------------------------------------------------- metering, money
    def report_usage(self, events: list[dict[str, Any]], batch_size: int = 500) -> dict[str, Any]:
        total: dict[str, Any] = {"accepted": 0, "duplicates": 0, "rejected": []}
        for i in range(0, len(events), batch_size):
            got = self.request("POST", "/v1/usage", json_body={"events": events[i : i + batch_size]}, idempotent=True)
            total["accepted"] += got["accepted"]
            total["duplicates"] += got["duplicates"]
            total["rejected"] += got["rejected"]
        return total

    def usage(self, **params: Any) -> list[dict[str, Any]]:
        if "from_" in params:
            params["from"] = params.pop("from_")
        if "as_" in params:
            params["as"] = params.pop("as_")
        return list(self.request("GET", "/v1/usage", params=params)["items"])

    def balance(self, currency: str = "USD", account_id: str | None = None) -> dict[str, Any]:
        return dict(self.request("GET", "/v1/balance", params={"currency": currency, "account_id": account_id}))

    def statement(self, period: str, *, csv: bool = False, account_id: str | None = None) -> Any:
        if csv:
            return self.request(
                "GET",
                f"/v1/statements/{period}",
                params={"account_id": account_id},
                headers={"Accept": "text/csv"},
                raw=True,
            ).text
        return self.request("GET", f"/v1/statements/{period}", params={"account_id": account_id})

    # ------------------------------------------------------------------------------------------- uploads
    def publish_file(
        self,
        path: Path,
        *,
        title: str | None = None,
        kind: str = "other",
        media_type: str | None = None,
        language: str = "en",
        tags: list[str] | None = None,
        collection_id: str | None = None,
        multipart: bool | None = None,
        state_dir: Path | None = None,
        parallel: int = 4,
        progress: Progress | None = None,
        part_hook: Callable[[int], None] | None = None,
    ) -> dict[str, Any]:
        """Upload one file straight to S3 through presigned URL(s) and return the verified asset.

        Multipart uploads keep their state (asset, upload id, finished parts and ETags) in ``state_dir``, so running
        the same command again after an interruption sends only the missing parts.
        """
        path = Path(path)
        size = path.stat().st_size
        mtype = media_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        state_file = _state_file(state_dir, path, size) if state_dir else None
        state = json.loads(state_file.read_text()) if state_file and state_file.exists() else None
        if state is None:
            digest = sha256_file(path)
            body: dict[str, Any] = {
                "title": title or path.stem[:300],
                "kind": kind,
                "media_type": mtype,
                "language": language,
                "tags": tags or [],
                "size_bytes": size,
                "sha256": digest,
            }
            if collection_id:
                body["collection_id"] = collection_id
            if multipart is not None:
                body["upload_method"] = "MULTIPART" if multipart else "PUT"
            created = self.create_asset(**body)
            state = {"asset_id": created["asset"]["id"], "upload": created["upload"], "done": {}}
            if state_file and created["upload"]["method"] == "MULTIPART":
                state_file.parent.mkdir(parents=True, exist_ok=True)
                state_file.write_text(json.dumps(state))
        up = state["upload"]
        if up["method"] == "PUT":
            with path.open("rb") as f:
                resp = self._s3.put(
                    up["url"], content=_reader(f, progress), headers={**up["headers"], "Content-Length": str(size)}
                )
            if resp.status_code != 200:
                raise ImprimaturError(
                    f"upload refused by storage: HTTP {resp.status_code} {resp.text[:200]}", status=resp.status_code
                )
            return self.complete_upload(state["asset_id"])
        done: dict[str, str] = state["done"]
        if progress:
            progress(sum(min(up["part_size"], size - (int(n) - 1) * up["part_size"]) for n in done))
        todo = [p for p in up["parts"] if str(p["part_number"]) not in done]

        def send(part: dict[str, Any]) -> tuple[int, str]:
            n = part["part_number"]
            if part_hook:
                part_hook(n)
            with path.open("rb") as f:
                f.seek((n - 1) * up["part_size"])
                data = f.read(up["part_size"])
            resp = self._s3.put(part["url"], content=data)
            if resp.status_code != 200:
                raise ImprimaturError(f"part {n} refused by storage: HTTP {resp.status_code}", status=resp.status_code)
            if progress:
                progress(len(data))
            return n, resp.headers["etag"]

        with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
            for n, etag in pool.map(send, todo):
                done[str(n)] = etag
                if state_file:
                    state_file.write_text(json.dumps(state))
        asset = self.complete_upload(
            state["asset_id"],
            [{"part_number": int(n), "etag": e} for n, e in sorted(done.items(), key=lambda x: int(x[0]))],
        )
        if state_file:
            state_file.unlink(missing_ok=True)
        return asset


def _reader(f: Any, progress: Progress | None) -> Iterator[bytes]:
    while chunk := f.read(CHUNK):
        if progress:
            progress(len(chunk))
        yield chunk


def _state_file(state_dir: Path, path: Path, size: int) -> Path:
    key = hashlib.sha256(f"{path.resolve()}|{size}|{int(os.path.getmtime(path))}".encode()).hexdigest()[:24]
    return Path(state_dir) / f"upload-{key}.json"

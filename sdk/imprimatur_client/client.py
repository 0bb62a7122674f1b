"""The Imprimatur API client: one method per call of the public contract, pagination iterators, typed errors from
problem+json, and retries only where they are safe.

Retry policy (``Client.request``): network errors, 429 and 5xx are retried with exponential back-off and jitter,
honouring ``Retry-After``; a 409 only when its code says the state is passing: ``idempotency_in_progress`` (the same
request is still running on the server), or ``budget_reserved`` and ``license_changed`` (deliveries in flight hold
budget that a lower cap would need, or the licence changed meanwhile; only the idempotent ``PATCH`` of a licence
answers them). Every POST carries an ``Idempotency-Key`` (one per call, reused by its retries), so a retried POST never
has a second effect. Everything else (4xx) is raised at once as a typed ``ImprimaturError`` whose message names the
request id.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import mimetypes
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from imprimatur_client import money
from imprimatur_client.certificates import verify_certificate
from imprimatur_client.errors import (
    BudgetExhausted,
    ImprimaturError,
    LicenseEnded,
    TransportError,
    VerificationFailed,
    from_response,
)
from imprimatur_client.version import __version__

Progress = Callable[[int], None]
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IN_FLIGHT = "idempotency_in_progress"
# 409s that pass by themselves and whose request is safe to repeat: the same request still running; budget held by
# deliveries in flight (PATCH of a cap); the licence changed while its cap was being set (PATCH again re-reads it)
RETRY_CONFLICTS = frozenset({IN_FLIGHT, "budget_reserved", "license_changed"})
REQUEST_ID_HEADERS = ("apigw-requestid", "x-amzn-requestid", "x-request-id")
CHUNK = 1024 * 1024


def sha256_file(path: Path, progress: Progress | None = None) -> str:
    """The hex SHA-256 of a file, read in 1 MiB chunks (never whole into memory)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            if progress:
                progress(len(chunk))
    return digest.hexdigest()


@dataclass
class ContentGrant:
    """The answer of ``GET /v1/assets/{id}/content``: a presigned URL (valid for at most 300 s) and what to expect."""

    url: str
    expires_at: str
    license_id: str
    sha256: str
    size_bytes: int
    media_type: str
    crawler_charged: str | None = None


@dataclass
class FetchResult:
    """One asset of ``Client.fetch_many``: its verified bytes, or the error that stopped it (``skipped`` when the
    budget ran out before it was tried: it was not requested and cost nothing)."""

    asset_id: str
    content: bytes | None = None
    grant: ContentGrant | None = None
    error: ImprimaturError | None = None
    skipped: bool = False
    media_type: str = field(default="application/octet-stream")

    @property
    def ok(self) -> bool:
        """True when the content was downloaded and its SHA-256 verified."""
        return self.content is not None

    def text(self, encoding: str | None = None) -> str:
        """The content decoded as text (the media type's charset, else UTF-8)."""
        if self.content is None:
            raise ValueError(f"{self.asset_id} was not fetched: {self.error}")
        return self.content.decode(encoding or _charset(self.media_type))


class Client:
    """A client for one marketplace and one API key.

    ``Client("http://127.0.0.1:8080", "imp_...")``, or ``Client.from_env()`` to read ``IMPRIMATUR_API_URL`` and
    ``IMPRIMATUR_API_KEY`` (falling back to the CLI's profile). Use it as a context manager, or call ``close()``.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        max_wait: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``max_retries`` retries per call at most, waiting ``backoff * 2**n`` seconds (with jitter) and never more
        than ``max_wait`` seconds at once; a ``Retry-After`` longer than ``max_wait`` is not waited for (the error is
        raised). ``transport`` and ``sleep`` are for tests."""
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.max_retries, self.backoff, self.max_wait, self._sleep = max_retries, backoff, max_wait, sleep
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)
        self._s3 = httpx.Client(timeout=httpx.Timeout(timeout, read=300), transport=transport)

    @classmethod
    def from_env(cls, profile: str | None = None, **kwargs: Any) -> Client:
        """A client from ``IMPRIMATUR_API_URL`` / ``IMPRIMATUR_API_KEY``, else from the CLI's profile
        (``IMPRIMATUR_PROFILE`` or ``default`` in ``~/.config/imprimatur/config.toml``)."""
        from imprimatur_client import config

        prof = config.resolve(profile)
        if prof is None:
            raise ImprimaturError(
                "No marketplace configured: set IMPRIMATUR_API_URL and IMPRIMATUR_API_KEY, "
                "or run `imprimatur configure`.",
                code="not_configured",
            )
        return cls(prof.url, prof.key, **kwargs)

    def close(self) -> None:
        """Close the connection pools."""
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
        idempotency_key: str | None = None,
        raw: bool = False,
    ) -> Any:
        """One API call: the decoded JSON (or the ``httpx.Response`` with ``raw=True``).

        Every POST carries an ``Idempotency-Key`` (``idempotency_key``, or a new UUID), reused by its retries. Retries:
        network errors, 429 and 5xx (back-off with jitter, honouring ``Retry-After``) and a 409
        ``idempotency_in_progress``, ``budget_reserved`` or ``license_changed``; nothing else. Failures raise the ``ImprimaturError`` subclass of the status.
        """
        request_id = f"req_{uuid.uuid4().hex}"
        hdrs = {
            "Accept": "application/json",
            "User-Agent": f"imprimatur-client/{__version__}",
            "X-Request-Id": request_id,
            **(headers or {}),
        }
        if self.api_key:
            hdrs["Authorization"] = f"Bearer {self.api_key}"
        if method.upper() == "POST":
            hdrs["Idempotency-Key"] = idempotency_key or hdrs.get("Idempotency-Key") or str(uuid.uuid4())
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        attempt = 0
        while True:
            try:
                resp = self._http.request(method, path, json=json_body, params=clean, headers=hdrs)
            except httpx.TransportError as exc:
                if attempt >= self.max_retries:
                    raise TransportError(
                        f"cannot reach {self.base_url}: {exc}", code="network", request_id=request_id
                    ) from None
                self._sleep(self._delay(attempt, None))
                attempt += 1
                continue
            if resp.status_code >= 400:
                try:
                    body = resp.json()
                except ValueError:
                    body = {"detail": resp.text[:500]}
                delay = self._retry_delay(resp.status_code, body, resp.headers.get("retry-after"), attempt)
                if delay is not None:
                    self._sleep(delay)
                    attempt += 1
                    continue
                rid = next((resp.headers[h] for h in REQUEST_ID_HEADERS if resp.headers.get(h)), request_id)
                raise from_response(resp.status_code, body, dict(resp.headers), rid)
            if raw:
                return resp
            return resp.json() if resp.content else None

    def _retry_delay(self, status: int, body: Any, retry_after: str | None, attempt: int) -> float | None:
        """Seconds to wait before retrying this answer, or None when it must not be retried."""
        if attempt >= self.max_retries:
            return None
        passing = status == 409 and isinstance(body, dict) and body.get("code") in RETRY_CONFLICTS
        if status not in RETRY_STATUSES and not passing:
            return None
        wait = _retry_after_seconds(retry_after)
        if wait is not None and wait > self.max_wait:
            return None  # the server asks for longer than we are willing to block: say so now
        return self._delay(attempt, wait)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        delay = min(self.backoff * (2**attempt), self.max_wait) * (0.5 + random.random() / 2)  # jitter: 50-100 %
        return max(delay, retry_after or 0.0)

    def paginate(self, path: str, params: dict[str, Any] | None = None, page_size: int = 100) -> Iterator[Any]:
        """Every item of a list call, following ``next_cursor`` page by page (``page_size`` 1..100)."""
        cursor = None
        while True:
            page = self.request("GET", path, params={**(params or {}), "limit": page_size, "cursor": cursor})
            yield from page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    # ------------------------------------------------------------------------------------------- accounts
    def health(self) -> dict[str, Any]:
        """``GET /v1/health``: liveness (no key needed)."""
        return dict(self.request("GET", "/v1/health"))

    def openapi(self) -> dict[str, Any]:
        """``GET /v1/openapi.json``: the OpenAPI 3 document of the API."""
        return dict(self.request("GET", "/v1/openapi.json"))

    def create_account(self, name: str, email: str, roles: list[str]) -> dict[str, Any]:
        """Admin: create an account; returns ``{account, api_key}`` (the key is shown once)."""
        return dict(self.request("POST", "/v1/accounts", json_body={"name": name, "email": email, "roles": roles}))

    def me(self) -> dict[str, Any]:
        """The caller's account ``{id, name, email, roles, status, created_at}``."""
        return dict(self.request("GET", "/v1/me"))

    def create_key(self) -> dict[str, Any]:
        """Create another API key for the caller; returns ``{key_id, api_key, created_at}`` (shown once)."""
        return dict(self.request("POST", "/v1/me/keys", json_body={}))

    def keys(self) -> Iterator[dict[str, Any]]:
        """The caller's API keys (ids and dates, never the secret)."""
        return self.paginate("/v1/me/keys")

    def revoke_key(self, key_id: str) -> None:
        """Revoke one of the caller's keys (it stops working within the authoriser cache TTL)."""
        self.request("DELETE", f"/v1/me/keys/{key_id}")

    def suspend_account(self, account_id: str) -> dict[str, Any]:
        """Admin: suspend an account; its keys stop working."""
        return dict(self.request("POST", f"/v1/accounts/{account_id}/suspend", json_body={}))

    def accounts(
        self, q: str | None = None, *, status: str | None = None, role: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Admin: every account, newest first, or those whose name (from any of its words on), e-mail or display name
        starts with ``q``; ``status`` (active, pending, suspended) and ``role`` filter them."""
        return self.paginate("/v1/accounts", {"q": q, "status": status, "role": role})

    def get_account(self, account_id: str) -> dict[str, Any]:
        """Admin: one account, with who changed it last (``updated_by``, ``updated_at``)."""
        return dict(self.request("GET", f"/v1/accounts/{account_id}"))

    def update_account(self, account_id: str, **fields: Any) -> dict[str, Any]:
        """Admin: change ``name``, ``email``, ``roles`` or ``profile`` (fields left out are kept)."""
        return dict(self.request("PATCH", f"/v1/accounts/{account_id}", json_body=fields))

    def reinstate_account(self, account_id: str) -> dict[str, Any]:
        """Admin: undo a suspension; the account's keys work again."""
        return dict(self.request("POST", f"/v1/accounts/{account_id}/reinstate", json_body={}))

    def approve_account(self, account_id: str) -> dict[str, Any]:
        """Admin: approve an account that signed up and awaits an operator (status ``pending``)."""
        return dict(self.request("POST", f"/v1/accounts/{account_id}/approve", json_body={}))

    def issue_key(self, account_id: str) -> dict[str, Any]:
        """Admin: a new key for an account that lost its own; returns ``{key_id, api_key, created_at}`` (shown once)."""
        return dict(self.request("POST", f"/v1/accounts/{account_id}/keys", json_body={}))

    def update_profile(self, **profile: Any) -> dict[str, Any]:
        """Publisher: edit the public profile buyers see (``display_name``, ``website``, ``description``,
        ``logo_url``; https URLs; ``None`` clears a field)."""
        return dict(self.request("PATCH", "/v1/me", json_body={"profile": profile}))

    # --------------------------------------------------------------------------------------------- assets
    def create_asset(self, **fields: Any) -> dict[str, Any]:
        """Publisher: declare an asset (``title, kind, media_type, language, size_bytes, sha256``, ...); returns
        ``{asset, upload}``. ``publish_file`` does the whole upload for a file on disk."""
        return dict(self.request("POST", "/v1/assets", json_body=fields))

    def get_asset(self, asset_id: str) -> dict[str, Any]:
        """An asset: anyone when available, its owner in every status."""
        return dict(self.request("GET", f"/v1/assets/{asset_id}"))

    def my_assets(self, status: str | None = None) -> Iterator[dict[str, Any]]:
        """Publisher: the caller's own assets, optionally of one ``status``."""
        return self.paginate("/v1/assets", {"status": status})

    def update_asset(self, asset_id: str, **fields: Any) -> dict[str, Any]:
        """Owner: change metadata (``title``, ``description``, ``kind``, ``language``, ``tags``, ...)."""
        return dict(self.request("PATCH", f"/v1/assets/{asset_id}", json_body=fields))

    def withdraw_asset(self, asset_id: str) -> dict[str, Any]:
        """Owner: withdraw an asset; it is no longer served and its offers are retired."""
        return dict(self.request("DELETE", f"/v1/assets/{asset_id}"))

    def complete_upload(
        self, asset_id: str, parts: list[dict[str, Any]] | None = None, *, wait_s: float = 3600.0
    ) -> dict[str, Any]:
        """Owner: finish an upload (``parts`` = ``[{part_number, etag}]`` for a multipart one) and verify it.

        A large object is verified asynchronously: the API answers ``202`` with the asset ``verifying``; this polls
        the asset (honouring ``Retry-After``) until it leaves ``verifying`` or ``wait_s`` seconds have passed, and
        returns the asset as it then is (``wait_s=0``: return the ``verifying`` asset at once)."""
        resp = self.request(
            "POST", f"/v1/assets/{asset_id}/complete", json_body={"parts": parts} if parts else {}, raw=True
        )
        asset = dict(resp.json())
        if resp.status_code != 202:
            return asset
        deadline = time.monotonic() + wait_s
        while asset.get("status") == "verifying" and time.monotonic() < deadline:
            pause = max(1.0, _retry_after_seconds(resp.headers.get("retry-after")) or 5.0)
            self._sleep(min(pause, max(deadline - time.monotonic(), 0.0)))
            asset = self.get_asset(asset_id)
        return asset

    def search(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """Public search over available assets, each with its active ``offers``. Filters: ``q, kind, language, tag,
        publisher_id, collection_id, use, max_price_micros``. Iterates over every page."""
        return self.paginate("/v1/catalog/assets", filters)

    def create_collection(self, title: str, description: str | None = None) -> dict[str, Any]:
        """Publisher: create a collection (a grouping of assets that offers can cover)."""
        return dict(self.request("POST", "/v1/collections", json_body={"title": title, "description": description}))

    def get_collection(self, collection_id: str) -> dict[str, Any]:
        """A collection (public)."""
        return dict(self.request("GET", f"/v1/collections/{collection_id}"))

    def publisher(self, publisher_id: str) -> dict[str, Any]:
        """A publisher's public profile (name, counts)."""
        return dict(self.request("GET", f"/v1/publishers/{publisher_id}"))

    def rsl(self, *, asset_id: str | None = None, publisher_id: str | None = None) -> str:
        """The RSL 1.0 document of an asset or of a publisher, as XML text."""
        path = f"/v1/assets/{asset_id}/rsl.xml" if asset_id else f"/v1/publishers/{publisher_id}/rsl.xml"
        return str(self.request("GET", path, raw=True).text)

    # --------------------------------------------------------------------------------------------- offers
    def create_offer(self, **fields: Any) -> dict[str, Any]:
        """Publisher (admin for a pool): publish an offer: one of ``asset_id``/``collection_id``/``pool_id``,
        ``uses`` and ``pricing {model, amount_micros, currency, unit?, period_days?}``."""
        return dict(self.request("POST", "/v1/offers", json_body=fields))

    def offers(self, **scope: str) -> Iterator[dict[str, Any]]:
        """Public: offers by ``asset_id``, ``collection_id``, ``publisher_id`` or ``pool_id``."""
        return self.paginate("/v1/offers", scope)

    def get_offer(self, offer_id: str) -> dict[str, Any]:
        """An offer (public)."""
        return dict(self.request("GET", f"/v1/offers/{offer_id}"))

    def retire_offer(self, offer_id: str) -> dict[str, Any]:
        """Owner: retire an offer: no new licences; existing ones are untouched."""
        return dict(self.request("DELETE", f"/v1/offers/{offer_id}"))

    # ---------------------------------------------------------------------------------------------- pools
    def create_pool(self, name: str, description: str = "") -> dict[str, Any]:
        """Admin: create a pool for collective licensing."""
        return dict(self.request("POST", "/v1/pools", json_body={"name": name, "description": description}))

    def get_pool(self, pool_id: str) -> dict[str, Any]:
        """A pool (public)."""
        return dict(self.request("GET", f"/v1/pools/{pool_id}"))

    def join_pool(
        self, pool_id: str, asset_ids: list[str] | None = None, collection_ids: list[str] | None = None
    ) -> dict[str, Any]:
        """Publisher: opt assets and/or collections into a pool."""
        body = {k: v for k, v in (("asset_ids", asset_ids), ("collection_ids", collection_ids)) if v}
        return dict(self.request("POST", f"/v1/pools/{pool_id}/members", json_body=body))

    def leave_pool(self, pool_id: str, asset_id: str) -> dict[str, Any]:
        """Publisher: opt an asset out of a pool from the next period; returns ``leaves_at``."""
        return dict(self.request("DELETE", f"/v1/pools/{pool_id}/members/{asset_id}"))

    def distribute_pool(self, pool_id: str, period: str) -> dict[str, Any]:
        """Admin: split a pool's net revenue of ``period`` (``YYYY-MM``, a closed period) between its members.

        Returns ``{pool_id, period, booked_period, created_at, currencies, remainder_rule}``: the distribution is
        booked in the period in which it runs (``booked_period``), as lines naming ``distributed_period``. Each
        currency is split on its own: ``currencies`` is ``[{currency, net_revenue_micros, carried_in_micros,
        shares_micros, carried_forward_micros, members, carried}]`` where ``members`` is ``[{asset_id, publisher_id,
        accesses, charged_micros, attributed_micros, carried_share_micros, share_micros}]`` and ``carried`` the revenue
        kept in the pool for a later period ``[{license_id, amount_micros, since_period, reason}]``; always
        ``shares_micros + carried_forward_micros == net_revenue_micros + carried_in_micros``. A period that is not
        closed yet raises ``PeriodOpen`` (409 ``period_open``; ``close_period`` first)."""
        return dict(self.request("POST", f"/v1/pools/{pool_id}/distributions", json_body={"period": period}))

    # ------------------------------------------------------------------------------------------- licences
    def buy(
        self, offer_id: str, use: str, budget_cap_micros: int | None = None, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """Buyer: take a licence on an offer for one ``use``; returns ``{license, certificate}``.

        Pass your own ``idempotency_key`` (e.g. derived from your job id) to make a re-run of your program return
        the licence it already took instead of buying a second one; without it, retries of this call are safe but
        a second call is a second purchase. ``budget_cap_micros`` caps everything ever charged on the licence (a cap
        below a flat or subscription offer's price raises ``BudgetBelowPrice``, and nothing is bought).
        """
        body: dict[str, Any] = {"offer_id": offer_id, "use": use}
        if budget_cap_micros is not None:
            body["budget_cap_micros"] = budget_cap_micros
        return dict(self.request("POST", "/v1/licenses", json_body=body, idempotency_key=idempotency_key))

    def licenses(self, as_: str = "buyer", status: str | None = None) -> Iterator[dict[str, Any]]:
        """The caller's licences, as ``buyer`` or as ``publisher``, optionally of one ``status`` (``active``,
        ``cancelled``, ``revoked``, ``lapsed``). Each is a dict like ``get_license``'s."""
        return self.paginate("/v1/licenses", {"as": as_, "status": status})

    def get_license(self, license_id: str) -> dict[str, Any]:
        """A licence (its buyer or publisher only).

        Besides ``id``, ``offer_id``, ``scope``, ``use``, the frozen ``terms`` and its dates, it names both parties
        (``buyer_id``/``buyer_name``, ``publisher_id``/``publisher_name``) and carries the money:
        ``budget_cap_micros`` (None when uncapped), ``spent_micros`` (everything charged on it so far) and
        ``remaining_micros`` (``budget_cap_micros - spent_micros``, None when uncapped). ``status`` is ``active``,
        ``cancelled``, ``revoked`` or ``lapsed`` (a subscription whose renewal would have exceeded its cap; see
        ``lapsed_at``, and ``set_budget_cap`` to make it active again).
        """
        return dict(self.request("GET", f"/v1/licenses/{license_id}"))

    def set_budget_cap(self, license_id: str, budget_cap_micros: int) -> dict[str, Any]:
        """Buyer: raise or lower a licence's budget cap (``PATCH /v1/licenses/{id}``); returns the licence.

        A cap is never set below what was already charged (``CapBelowSpent``). Lowering it below what deliveries in
        flight have reserved answers ``BudgetReserved``, which passes within a minute: it is retried like a 429
        (honouring ``Retry-After`` up to ``max_wait``) before it is raised. A licence that lapsed because a renewal
        would have exceeded its cap becomes ``active`` again when the cap is raised. Setting the same cap twice is
        harmless (no Idempotency-Key needed).
        """
        if isinstance(budget_cap_micros, bool) or not isinstance(budget_cap_micros, int) or budget_cap_micros < 0:
            raise ValueError(f"budget_cap_micros must be a non-negative integer (micros), not {budget_cap_micros!r}")
        return dict(
            self.request("PATCH", f"/v1/licenses/{license_id}", json_body={"budget_cap_micros": budget_cap_micros})
        )

    def certificate(self, license_id: str) -> str:
        """The licence's certificate: a compact JWS (ES256) to verify with ``verify_certificate``. Only an active
        licence has one (``LicenseNotActive`` otherwise)."""
        return str(self.request("GET", f"/v1/licenses/{license_id}/certificate")["certificate"])

    def cancel_license(self, license_id: str) -> dict[str, Any]:
        """Buyer: cancel a licence (delivery stops at the next request). Cancelling it again answers the same."""
        return dict(self.request("POST", f"/v1/licenses/{license_id}/cancel", json_body={}))

    def revoke_license(self, license_id: str, reason: str) -> dict[str, Any]:
        """Publisher: revoke a licence with a reason. Revoking it again answers the same."""
        return dict(self.request("POST", f"/v1/licenses/{license_id}/revoke", json_body={"reason": reason}))

    def jwks(self) -> dict[str, Any]:
        """The public keys (JWKS) that verify certificates; cache it, it changes rarely."""
        return dict(self.request("GET", "/.well-known/jwks.json"))

    def verify_certificate(self, token: str, jwks: dict[str, Any] | None = None) -> dict[str, Any]:
        """The claims of ``token`` once its signature and term verify (needs the ``verify`` extra)."""
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
        """A presigned URL for licensed content (each call is one metered access).

        ``max_price``/``exact_price`` (``"0.01"`` or ``"USD 0.01"``) take a pay-per-crawl licence on the spot when
        an active per-access offer is within that price; ``ContentGrant.crawler_charged`` says what was charged.
        Raises ``PaymentRequired`` (with ``offers``) when nothing licenses the use, ``BudgetExhausted`` when the
        access would take the licence past its budget cap, and a ``LicenseEnded`` subclass (``LicenseRevoked``,
        ``LicenseCancelled``, ``LicenseLapsed``, ``LicenseExpired``) when the only licence that covers it is no longer
        active. None of these charges anything.
        """
        headers = {}
        if max_price:
            headers["crawler-max-price"] = money.header(max_price, "max_price")
        if exact_price:
            headers["crawler-exact-price"] = money.header(exact_price, "exact_price")
        resp = self.request(
            "GET",
            f"/v1/assets/{asset_id}/content",
            params={"use": use, "license_id": license_id},
            headers=headers,
            raw=True,
        )
        data = resp.json()
        known = {k: data[k] for k in ("url", "expires_at", "license_id", "sha256", "size_bytes", "media_type")}
        return ContentGrant(**known, crawler_charged=resp.headers.get("crawler-charged"))

    def download(self, grant: ContentGrant, dest: Path, progress: Progress | None = None) -> Path:
        """Stream the content to ``dest`` and check its SHA-256 (the partial file is removed on mismatch)."""
        digest = hashlib.sha256()
        dest = Path(dest)
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
            tmp.unlink(missing_ok=True)
            raise TransportError(f"download failed: {exc}", code="network") from None
        if digest.hexdigest() != grant.sha256:
            tmp.unlink(missing_ok=True)
            raise VerificationFailed("the downloaded bytes do not match the asset's SHA-256", code="checksum")
        tmp.replace(dest)
        return dest

    def read(self, grant: ContentGrant, max_bytes: int = 256 * 1024 * 1024) -> bytes:
        """The content of a grant in memory, SHA-256 verified (refuses assets above ``max_bytes``: use
        ``download`` for those)."""
        if grant.size_bytes > max_bytes:
            raise ImprimaturError(
                f"the asset has {grant.size_bytes} bytes, more than max_bytes={max_bytes}: use download()",
                code="too_large",
            )
        try:
            resp = self._s3.get(grant.url)
        except httpx.TransportError as exc:
            raise TransportError(f"download failed: {exc}", code="network") from None
        if resp.status_code != 200:
            raise ImprimaturError(f"download failed: HTTP {resp.status_code}", status=resp.status_code)
        if hashlib.sha256(resp.content).hexdigest() != grant.sha256:
            raise VerificationFailed("the downloaded bytes do not match the asset's SHA-256", code="checksum")
        return resp.content

    def fetch_bytes(
        self, asset_id: str, use: str, *, license_id: str | None = None, max_price: str | None = None
    ) -> bytes:
        """``content`` then ``read``: the verified bytes of a licensed asset (one metered access)."""
        return self.read(self.content(asset_id, use, license_id=license_id, max_price=max_price))

    def fetch_text(
        self,
        asset_id: str,
        use: str,
        *,
        license_id: str | None = None,
        max_price: str | None = None,
        encoding: str | None = None,
    ) -> str:
        """The verified content of a licensed text asset, decoded (the media type's charset, else UTF-8)."""
        grant = self.content(asset_id, use, license_id=license_id, max_price=max_price)
        return self.read(grant).decode(encoding or _charset(grant.media_type))

    def fetch_many(
        self,
        asset_ids: Iterable[str],
        use: str,
        *,
        license_id: str | None = None,
        max_price: str | None = None,
        max_spend_micros: int | None = None,
        concurrency: int = 4,
    ) -> list[FetchResult]:
        """Fetch many assets concurrently (at most ``concurrency`` at once), within a budget; results in input order.

        Nothing here ever fails the whole batch: each ``FetchResult`` has the bytes or the error. The budget is the
        smaller of ``max_spend_micros`` and, when ``license_id`` names a per-access licence, what the marketplace says
        is left on it (its ``remaining_micros``; ``budget_cap_micros - spent_micros`` from a server older than API
        1.1). Before each request its price is set aside: the licence's per-access price, else ``max_price`` (pay per
        crawl never charges more). What the server did not charge comes back: the whole price when it refused the
        request (a 4xx), the difference when its ``crawler-charged`` header says less. An asset whose price no longer
        fits, once the requests in flight have finished, is not requested at all (``skipped``); so are the assets not
        yet started once the server answers ``BudgetExhausted`` (or, for a named licence, ``LicenseEnded``).
        ``max_spend_micros`` needs a price to count with: ``license_id`` or ``max_price`` (``ValueError`` otherwise).
        """
        ids = list(asset_ids)
        price, left = self._fetch_budget(license_id, max_price, max_spend_micros)
        budget = _Budget(left)
        stop = threading.Event()
        workers = max(1, concurrency)
        results: list[FetchResult] = [FetchResult(a, skipped=True) for a in ids]

        def one(asset_id: str) -> FetchResult:
            try:
                grant = self.content(asset_id, use, license_id=license_id, max_price=max_price)
            except ImprimaturError as exc:
                if isinstance(exc, BudgetExhausted) or (license_id and isinstance(exc, LicenseEnded)):
                    stop.set()
                if 400 <= exc.status < 500:  # refused: nothing was charged (a 5xx or network error may have been)
                    budget.give_back(price)
                return FetchResult(asset_id, error=exc)
            budget.give_back(price - _charged(grant, price))
            try:
                return FetchResult(asset_id, self.read(grant), grant, media_type=grant.media_type)
            except ImprimaturError as exc:  # the access happened (and was charged); the download failed
                return FetchResult(asset_id, grant=grant, error=exc, media_type=grant.media_type)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            running: dict[Future[FetchResult], int] = {}

            def settle() -> None:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for f in done:
                    results[running.pop(f)] = f.result()

            # Start requests in input order from this thread alone, so which assets fit the budget never depends on
            # thread timing: an asset waits for a free worker, and for requests in flight that may give budget back.
            for index, asset_id in enumerate(ids):
                started = False
                while not stop.is_set():
                    if len(running) < workers and budget.take(price):
                        started = True
                        break
                    if not running:
                        break  # the price does not fit and nothing in flight can give budget back
                    settle()
                if started:
                    running[pool.submit(one, asset_id)] = index
            while running:
                settle()
        return results

    def _fetch_budget(
        self, license_id: str | None, max_price: str | None, max_spend_micros: int | None
    ) -> tuple[int, int | None]:
        """``(price set aside per request, budget or None)`` for ``fetch_many``."""
        price, left = 0, max_spend_micros
        priced = license_id is not None or max_price is not None
        if license_id:
            lic = self.get_license(license_id)
            pricing = (lic.get("terms") or {}).get("pricing") or {}
            if lic.get("status", "active") != "active":
                # the server refuses the named licence (or, with a price header, may take a fresh one at that price)
                price = money.parse(max_price, "max_price")[1] if max_price else 0
            elif pricing.get("model") == "per_access":
                price = int(pricing.get("amount_micros") or 0)
                on_licence = _remaining(lic)
                if on_licence is not None:
                    left = on_licence if left is None else min(left, on_licence)
            # an active flat, subscription, per-unit or free licence charges nothing per delivery
        elif max_price:
            price = money.parse(max_price, "max_price")[1]
        if max_spend_micros is not None and not priced:
            raise ValueError("max_spend_micros needs license_id or max_price: without them the price is unknown")
        return price, left

    # ------------------------------------------------------------------------------------- metering, money
    def report_usage(self, events: list[dict[str, Any]], batch_size: int = 500) -> dict[str, Any]:
        """Buyer: report usage events ``{event_id, license_id, asset_id, use, units, occurred_at}`` in batches of
        ``batch_size`` (≤ 500); returns the summed ``{accepted, duplicates, rejected}``. Resending an ``event_id``
        never counts twice (``duplicates`` counts the events already accepted when the request was made).
        ``rejected`` is ``[{event_id, code}]``: e.g. ``not_unit_priced`` (only licences priced ``per_unit`` take
        reports), ``budget_exhausted`` (the units would take the licence past its budget cap), or an event outside
        the licence's scope or term. A rejected event is not charged; it is no exception."""
        total: dict[str, Any] = {"accepted": 0, "duplicates": 0, "rejected": []}
        for i in range(0, len(events), batch_size):
            got = self.request("POST", "/v1/usage", json_body={"events": events[i : i + batch_size]})
            total["accepted"] += got["accepted"]
            total["duplicates"] += got["duplicates"]
            total["rejected"] += got["rejected"]
        return total

    def usage(self, **params: Any) -> list[dict[str, Any]]:
        """Usage grouped by ``group_by`` (day, asset, license, buyer, publisher); filters ``from_``, ``to``,
        ``license_id``, ``asset_id``, ``as_``. Returns ``[{key, units, accesses, amount_micros}]``."""
        if "from_" in params:
            params["from"] = params.pop("from_")
        if "as_" in params:
            params["as"] = params.pop("as_")
        return list(self.request("GET", "/v1/usage", params=params)["items"])

    def balance(self, currency: str = "USD", account_id: str | None = None) -> dict[str, Any]:
        """``{currency, balance_micros}``: what a buyer owes (negative) or a publisher has earned."""
        return dict(self.request("GET", "/v1/balance", params={"currency": currency, "account_id": account_id}))

    def statement(self, period: str, *, csv: bool = False, account_id: str | None = None) -> Any:
        """The statement of ``period`` (``YYYY-MM``): a dict, or the CSV text with ``csv=True`` (one ``TOTAL`` row
        per currency).

        ``{account_id, period, status, closed_at, sha256, fee_rate_bps, lines, distributions, totals}``. ``status`` is
        ``open`` until the period is closed; a ``closed`` statement never changes again and carries ``closed_at`` and
        ``sha256`` (hex SHA-256 of the RFC 8785 JSON of the body without ``sha256`` and ``closed_at``).
        ``totals`` is a list, one entry per currency: ``[{currency, gross_micros, fee_micros, net_micros,
        distributions_micros}]`` (amounts are never added across currencies). ``distributions`` are the pool
        distributions booked in this period: ``{pool_id, distributed_period, currency, share_micros, accesses,
        charged_micros, pool_net_micros, carried_in_micros, carried_forward_micros}`` (a member's share is positive;
        on the pool's own statement what it paid out is negative, with what it carried in and carries forward)."""
        if csv:
            return self.request(
                "GET",
                f"/v1/statements/{period}",
                params={"account_id": account_id},
                headers={"Accept": "text/csv"},
                raw=True,
            ).text
        return self.request("GET", f"/v1/statements/{period}", params={"account_id": account_id})

    def close_period(self, period: str) -> dict[str, Any]:
        """Admin: close ``period`` (``YYYY-MM``, a past month) for good; returns ``{period, status: "closed",
        closed_at, statements}`` (how many statements were frozen).

        A closed period's statements never change again (usage arriving later is booked in the open period), and only
        a closed period's pool revenue can be distributed (``distribute_pool``). Closing a closed period again answers
        the same; the current or a future month raises ``ValidationFailed`` (422). The monthly job closes the
        previous month on the 1st, so this is for doing it sooner or again."""
        return dict(self.request("POST", f"/v1/periods/{period}/close", json_body={}))

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


class _Budget:
    """Micros left to spend (None: no limit), shared by ``fetch_many``'s workers."""

    def __init__(self, left: int | None) -> None:
        self.left = left
        self._lock = threading.Lock()

    def take(self, amount: int) -> bool:
        """Set ``amount`` aside if it fits."""
        with self._lock:
            if self.left is None:
                return True
            if amount > self.left:
                return False
            self.left -= amount
            return True

    def give_back(self, amount: int) -> None:
        with self._lock:
            if self.left is not None:
                self.left += amount


def _remaining(lic: dict[str, Any]) -> int | None:
    """What is left of a licence's budget (None: uncapped): the server's ``remaining_micros`` (API 1.1), else its cap
    minus ``spent_micros``, else the cap alone (a server that reports neither)."""
    if "remaining_micros" in lic:
        return None if lic["remaining_micros"] is None else int(lic["remaining_micros"])
    if lic.get("budget_cap_micros") is None:
        return None
    return int(lic["budget_cap_micros"]) - int(lic.get("spent_micros") or 0)


def _charged(grant: ContentGrant, reserved: int) -> int:
    """What a delivery charged: its ``crawler-charged`` header, else what was set aside for it."""
    if not grant.crawler_charged:
        return reserved
    try:
        return money.parse(grant.crawler_charged, "crawler-charged")[1]
    except money.PriceError:
        return reserved


def _reader(f: Any, progress: Progress | None) -> Iterator[bytes]:
    while chunk := f.read(CHUNK):
        if progress:
            progress(len(chunk))
        yield chunk


def _state_file(state_dir: Path, path: Path, size: int) -> Path:
    key = hashlib.sha256(f"{path.resolve()}|{size}|{int(os.path.getmtime(path))}".encode()).hexdigest()[:24]
    return Path(state_dir) / f"upload-{key}.json"


def _charset(media_type: str) -> str:
    for part in media_type.split(";")[1:]:
        k, _, v = part.strip().partition("=")
        if k.lower() == "charset" and v:
            return v.strip('"')
    return "utf-8"


def _retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())

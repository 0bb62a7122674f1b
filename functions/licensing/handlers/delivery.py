"""Content delivery, the hot path: ``GET /v1/assets/{id}/content?use=&license_id=``.

Kept deliberately small (no web framework, no pydantic, no KMS): one ``BatchGetItem`` across the licensing and
catalogue tables (licence + asset) when the licence is named, or a ``Query`` of the buyer's
active licences and one ``BatchGetItem`` (asset + the budget records of capped candidates) when it is not; a
presigned S3 GET computed locally; one Kinesis record on the deliveries stream (issue 16). P1: ≤ 2 AWS calls with a
named licence, ≤ 3 otherwise, 0 KMS. P3: no DynamoDB write on a delivery of an uncapped licence (metering aggregates
usage from the stream); a capped licence spends a budget lease held in memory and writes once per lease (``functions.licensing.logic.budget``).
The route's OpenAPI description lives in ``delivery_doc``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from functions.catalog.dal.reader import active_offers_for_asset, asset_from_item, asset_key
from functions.licensing.dal import deliveries
from functions.licensing.dal.budget import DynamoBudgetStore, budget_from_item, budget_key
from functions.licensing.dal.reader import license_from_item, license_from_model, license_key
from functions.licensing.logic.budget import Holder, acquire
from functions.licensing.logic.entitlement import access_price, covers_asset, refusal
from functions.licensing.models.exceptions import PayPerCrawlRace
from functions.shared import aws, clock, ratelimit, wire
from functions.shared.auth import principal_from_event, raise_pending
from functions.shared.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    NotFound,
    PaymentRequired,
    Unauthorized,
    Unprocessable,
    problem_result,
)
from functions.shared.faults import Fault
from functions.shared.ids import is_id, new_id
from functions.shared.jsontypes import LambdaEvent
from functions.shared.money import format_price_header, parse_price_header
from functions.shared.settings import load_settings
from functions.shared.urls import base_url
from functions.shared.uses import USES, covers

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.utilities.typing import LambdaContext  # a type only: no Powertools at run time (P2)

    # the contracts (docs/data-contracts.md); nothing more is imported on the hot path
    from functions.catalog.dal.reader import AssetRecord, OfferRecord
    from functions.licensing.dal.reader import LicenseRecord
    from functions.metering.contracts import UsageMessage

log = logging.getLogger("imprimatur.delivery")
# One line per delivery is DEBUG: at crawler scale it would cost more than the delivery itself, and every delivery is
# already recorded by metering (usage archive). Failures are logged by the runtime; raise the level to debug.
log.setLevel(logging.DEBUG if os.environ.get("DELIVERY_DEBUG_LOG") == "1" else logging.WARNING)
URL_TTL_S = 300
HOLDER = Holder()  # this instance's budget leases (capped licences), spent in memory


@dataclass(frozen=True)
class DeliveryEnv:
    """Read without pydantic (``functions.shared.settings``): importing it was about a quarter of this handler's cold
    import beyond boto3's (P2)."""

    LICENSING_TABLE: str
    CATALOG_TABLE: str
    CONTENT_BUCKET: str
    DELIVERIES_STREAM: (
        str  # every 200 is one record on this Kinesis stream (issue 16; functions.licensing.dal.deliveries)
    )
    ACCOUNTS_TABLE: str = ""  # read-only: is an offer's publisher suspended (only when a licence would be granted)
    DELIVERY_BUCKET: str = ""  # delivery copies (S3 Express One Zone); empty: presign on CONTENT_BUCKET


def env() -> DeliveryEnv:
    return load_settings(DeliveryEnv)


def _now() -> str:
    return clock.now_iso()


def _batch_get(keys: dict[str, list[LambdaEvent]]) -> dict[str, list[LambdaEvent]]:
    """One ``BatchGetItem`` (eventually consistent), sent by ``functions.shared.wire``: the same client, signer,
    events and retries, without botocore's generic pipeline (a third of this handler's CPU; issue 16)."""
    ddb = aws.client("dynamodb")
    request: dict[str, object] = {t: {"Keys": k} for t, k in keys.items() if k}
    out: dict[str, list[LambdaEvent]] = {t: [] for t in keys}
    for _ in range(5):
        got = wire.call(ddb, "BatchGetItem", {"RequestItems": request})
        for table, items in got.get("Responses", {}).items():
            out[table] += items
        request = got.get("UnprocessedKeys") or {}
        if not request:
            break
    return out


def _crawler_limit(headers: dict[str, str]) -> tuple[str, str, int] | None:
    for name, mode in (("crawler-exact-price", "exact"), ("crawler-max-price", "max")):
        if headers.get(name):
            try:
                currency, micros = parse_price_header(headers[name])
            except ValueError:
                raise BadRequest(f"{name} must look like 'USD 0.010000'.", code="invalid_price_header") from None
            return mode, currency, micros
    return None


def _without_suspended(offers: list[OfferRecord]) -> list[OfferRecord]:
    """The offers whose publisher is not suspended (issue 19: a suspended publisher's offers grant no new licence);
    409 ``publisher_suspended`` when there were offers and every one is a suspended publisher's. One read of the
    accounts table, only on the way to a 402 or a pay-per-crawl grant, never on a licensed delivery."""
    table = env().ACCOUNTS_TABLE
    if not offers or not table:
        return offers
    from functions.accounts.dal.reader import suspended

    gone = suspended(table, [o["publisher_id"] for o in offers])
    live = [o for o in offers if o["publisher_id"] not in gone]
    if not live:
        raise Conflict(
            "The publisher of this content is suspended: its offers grant no new licence.", code="publisher_suspended"
        )
    return live


def _payment_required(asset: AssetRecord, use: str, detail: str) -> PaymentRequired:
    offers = _without_suspended([o for o in active_offers_for_asset(asset) if covers(o["uses"], use)])
    headers = {}
    per_access = [o for o in offers if o["pricing"]["model"] == "per_access"]
    if per_access:
        cheapest = min(per_access, key=lambda o: o["pricing"]["amount_micros"])
        headers["crawler-price"] = format_price_header(
            cheapest["pricing"]["currency"], cheapest["pricing"]["amount_micros"]
        )
    return PaymentRequired(detail, extra={"offers": offers, "asset_id": asset["id"], "use": use}, headers=headers)


def _fits(lic: LicenseRecord, limit: tuple[str, str, int] | None) -> bool:
    """Whether a delivery under this licence charges what the crawler's price header allows (API v1.1: with
    ``crawler-max-price`` never more, with ``crawler-exact-price`` nothing else)."""
    if limit is None:
        return True
    mode, currency, micros = limit
    price = access_price(lic)
    same = price == 0 or lic["terms"]["pricing"].get("currency") == currency
    return same and (price == micros if mode == "exact" else price <= micros)


def _pay_per_crawl(buyer_id: str, asset: AssetRecord, use: str, limit: tuple[str, str, int], now: str) -> LicenseRecord:
    """The buyer's pay-per-crawl licence on the cheapest per_access offer within the price: reused while it is
    active, replaced when it was cancelled, lapsed or expired, never when revoked (403); else 402."""
    from functions.licensing.dal.store import LicensingStore
    from functions.licensing.logic.licenses import build_license

    mode, currency, micros = limit
    offers = [
        o
        for o in active_offers_for_asset(asset)
        if covers(o["uses"], use)
        and o["pricing"]["model"] == "per_access"
        and o["pricing"]["currency"] == currency
        and (o["pricing"]["amount_micros"] == micros if mode == "exact" else o["pricing"]["amount_micros"] <= micros)
    ]
    if not offers:
        raise _payment_required(asset, use, "No per-access offer for this use within the price you sent.")
    offers = _without_suspended(offers)
    offer = min(offers, key=lambda o: (o["pricing"]["amount_micros"], o["created_at"]))
    store = LicensingStore(env().LICENSING_TABLE)
    for _ in range(3):
        existing_id = store.ppc_license_id(buyer_id, offer["id"])
        replaces = None
        if existing_id is not None:
            got = aws.client("dynamodb").get_item(
                TableName=env().LICENSING_TABLE, Key=license_key(existing_id), ConsistentRead=True
            )
            existing = license_from_item(got["Item"]) if "Item" in got else None
            if existing is not None:
                # a pay-per-crawl licence starts when it is granted: one a concurrent request granted after this
                # request began is not "not started" but just in time (else two crawls would grant two licences)
                code = refusal(existing, asset, use, max(now, existing["starts_at"]))
                if code is None and _fits(existing, limit):
                    return existing
                if code == "license_revoked":
                    raise Forbidden(_REFUSALS[code], code=code)
            replaces = existing_id  # cancelled, lapsed or expired (or its terms no longer fit): a fresh licence
        lic = build_license(buyer_id, offer, use, None, pay_per_crawl=True)
        try:
            store.grant(
                lic,
                max_licenses=offer.get("max_licenses"),
                ppc_key=f"PPC#{buyer_id}#{offer['id']}",
                ppc_replaces=replaces,
            )
            return license_from_model(lic)
        except PayPerCrawlRace:
            pass  # read again: the other request's licence is the one to use
    raise Conflict("Pay-per-crawl licences for this offer are being created concurrently; retry.", code="ppc_race")


def _budget_refusal(lic: LicenseRecord, budget_item: LambdaEvent | None) -> tuple[str | None, str | None]:
    """``(None, lease id or None)`` when a delivery may charge this licence; ``("budget_exhausted", None)`` when its
    cap cannot cover the price. Takes (or spends) a lease on a capped, priced licence; uncapped licences write
    nothing (and have no lease)."""
    price = access_price(lic)
    cap = lic.get("budget_cap_micros")
    if cap is None or price == 0:
        return None, None
    lease = HOLDER.spend(lic["id"], price, time.time())
    if lease is None:
        store = DynamoBudgetStore(env().LICENSING_TABLE)
        budget = budget_from_item(budget_item) if budget_item else store.get(lic["id"])
        if budget is None:  # a capped licence granted before budget records existed: its record now
            store.ensure(lic["id"], int(cap))
        lease = acquire(store, lic["id"], price, time.time(), lambda: new_id("lse"), budget)
        if lease is None:
            return "budget_exhausted", None
        HOLDER.hold(lease)
    return None, lease.lease_id


def deliver(event: LambdaEvent) -> LambdaEvent:
    e = env()
    caller = principal_from_event(event)
    if caller is None:
        raise Unauthorized("A valid API key is required.")
    if caller.pending:
        raise_pending()
    if "buyer" not in caller.roles:
        raise Forbidden("Fetching content needs the buyer role.", code="insufficient_role")
    asset_id = (event.get("pathParameters") or {}).get("id", "")
    if not is_id(asset_id, "ast"):
        raise NotFound("No such asset.")
    q = event.get("queryStringParameters") or {}
    use = q.get("use")
    if use not in USES:
        raise Unprocessable(
            "Query parameter 'use' is required: one of " + ", ".join(USES) + ".",
            code="validation_failed",
            extra={"errors": [{"field": "use", "location": "query", "message": "invalid use", "type": "enum"}]},
        )
    license_id = q.get("license_id")
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    limit = _crawler_limit(headers)
    now = _now()

    lic: LicenseRecord | None = None
    lease_id: str | None = None  # the budget lease this delivery spends (capped licences)
    if license_id is not None:
        if not is_id(license_id, "lic"):
            raise NotFound("No such licence.")
        # licence and asset only: the budget record is read when a capped licence takes a lease (once per several
        # accesses), not on every delivery of every licence (0.5 read units each, issue 16)
        got = _batch_get({e.LICENSING_TABLE: [license_key(license_id)], e.CATALOG_TABLE: [asset_key(asset_id)]})
        assets = got[e.CATALOG_TABLE]
        by_sk = {i["sk"]["S"]: i for i in got[e.LICENSING_TABLE]}
        asset = asset_from_item(assets[0], now) if assets else None
        _check_asset(asset)
        assert asset is not None
        lic = license_from_item(by_sk["LIC"]) if "LIC" in by_sk else None
        if lic is None or lic["buyer_id"] != caller.account_id:
            raise NotFound("No such licence.")
        code = refusal(lic, asset, use, now)
        if code is None and not _fits(lic, limit):
            raise _payment_required(asset, use, "This licence's price is not within the price you sent.")
        if code is None:
            code, lease_id = _budget_refusal(lic, None)
        if code is not None:
            raise Forbidden(_REFUSALS.get(code, "The licence does not entitle this delivery."), code=code)
    else:
        candidates = _licenses_of(e.LICENSING_TABLE, f"ACTIVE#{caller.account_id}")[:99]
        capped = [c["id"] for c in candidates if c.get("budget_cap_micros") is not None and access_price(c)]
        got = _batch_get({e.CATALOG_TABLE: [asset_key(asset_id)], e.LICENSING_TABLE: [budget_key(i) for i in capped]})
        assets = got[e.CATALOG_TABLE]
        asset = asset_from_item(assets[0], now) if assets else None
        _check_asset(asset)
        assert asset is not None
        budgets = {i["pk"]["S"].removeprefix("BUDGET#"): i for i in got[e.LICENSING_TABLE]}
        covering = [c for c in candidates if covers_asset(c, asset) and covers([c["use"]], use)]
        refused: list[tuple[str, LicenseRecord]] = []
        for c in sorted(covering, key=lambda c: (access_price(c), c["created_at"])):
            code = refusal(c, asset, use, now)
            if code is None and not _fits(c, limit):
                continue
            if code is None:
                code, lease_id = _budget_refusal(c, budgets.get(c["id"]))
            if code is None:
                lic = c
                break
            refused.append((code, c))
        if lic is None and limit is not None:
            lic = _pay_per_crawl(caller.account_id, asset, use, limit, now)
        elif lic is None:
            ended = [
                (str(refusal(c, asset, use, now)), c)
                for c in _licenses_of(e.LICENSING_TABLE, f"ENDED#{caller.account_id}")
                if covers_asset(c, asset) and covers([c["use"]], use)
            ]
            if refused or ended:  # API v1.1: the buyer's only licences here are not active: that licence's code
                # an active licence refused by its cap comes first: the buyer raises the cap, it does not buy again
                live = [r for r in refused if r[0] == "budget_exhausted"]
                code, _ = live[0] if live else max(refused + ended, key=lambda r: _ended_at(r[1]))
                raise Forbidden(_REFUSALS.get(code, "The licence does not entitle this delivery."), code=code)
            raise _payment_required(asset, use, "No licence of yours covers this asset for this use.")

    return _deliver(e, event, caller.account_id, asset, lic, lease_id, use, limit, now)


def _ended_at(lic: LicenseRecord) -> str:
    return str(lic.get("revoked_at") or lic.get("cancelled_at") or lic.get("lapsed_at") or lic.get("expires_at") or "")


_REFUSALS = {
    "license_revoked": "The publisher revoked this licence.",
    "license_cancelled": "This licence was cancelled.",
    "license_lapsed": "This licence lapsed: its budget cap could not cover its renewal.",
    "license_expired": "This licence has expired.",
    "license_not_started": "This licence has not started yet.",
    "license_scope": "This licence does not cover this asset.",
    "license_use": "This licence does not cover this use.",
    "budget_exhausted": "The licence's budget cap is reached.",
}


def _check_asset(asset: AssetRecord | None) -> None:
    if asset is None or asset["status"] in ("pending_upload", "verifying", "rejected"):
        raise NotFound("No such asset.")
    if asset["status"] == "withdrawn":
        raise Gone("This asset was withdrawn by its publisher.", code="asset_withdrawn")


def _licenses_of(table: str, index_key: str) -> list[LicenseRecord]:
    """A buyer's active (``ACTIVE#``) or ended (``ENDED#``) licences, from the sparse index gsi3."""
    got = wire.call(  # the delivery's reads skip botocore's generic pipeline (functions.shared.wire)
        aws.client("dynamodb"),
        "Query",
        {
            "TableName": table,
            "IndexName": "gsi3",
            "KeyConditionExpression": "gsi3pk = :p",
            "ExpressionAttributeValues": {":p": {"S": index_key}},
        },
    )
    return [license_from_item(i) for i in got.get("Items", [])]


def _deliver(
    e: DeliveryEnv,
    event: LambdaEvent,
    buyer_id: str,
    asset: AssetRecord,
    lic: LicenseRecord,
    lease_id: str | None,
    use: str,
    limit: tuple[str, str, int] | None,
    now: str,
) -> LambdaEvent:
    copy = asset.get("delivery_key")
    # A browser's cross-origin request (it sends Origin) gets the content bucket, whose CORS rule lets a page read the
    # bytes: S3 directory buckets have no CORS configuration. Crawlers send no Origin.
    browser = any(k.lower() == "origin" for k in event.get("headers") or {})
    ttl: float = URL_TTL_S
    if copy and e.DELIVERY_BUCKET and not browser:
        # the verified bytes' copy in S3 Express One Zone (USD 0.03 per million GETs, not 0.40; issue 16), stored
        # with the media type as its Content-Type; botocore signs it with an S3 Express session (CreateSession,
        # read-only, cached per bucket for its 5 minutes)
        params = {"Bucket": e.DELIVERY_BUCKET, "Key": copy}
        url = aws.s3_for(e.DELIVERY_BUCKET, read_only=True).generate_presigned_url(
            "get_object", Params=params, ExpiresIn=URL_TTL_S
        )
        left = aws.s3_express_session_left(e.DELIVERY_BUCKET)  # the URL dies with the session that signed it
        ttl = min(ttl, left) if left is not None else ttl
    else:
        params = {"Bucket": e.CONTENT_BUCKET, "Key": asset["s3_key"], "ResponseContentType": asset["media_type"]}
        version = asset.get("content_version")
        if version:
            params["VersionId"] = version  # the verified bytes, even if the key was overwritten since
        url = aws.s3().generate_presigned_url("get_object", Params=params, ExpiresIn=URL_TTL_S)
    scope = lic["scope"]
    message: UsageMessage = {
        "kind": "usage",
        "event_id": new_id("evt"),
        "source": "delivery",
        "buyer_id": buyer_id,
        "license_id": lic["id"],
        "asset_id": asset["id"],
        "publisher_id": asset["publisher_id"],
        "pool_id": scope["id"] if scope["type"] == "pool" else None,
        "use": use,
        "units": 1,
        "occurred_at": now,
    }
    if lease_id:
        message["lease_id"] = lease_id
    deliveries.record(e.DELIVERIES_STREAM, message)  # before the URL is handed out; 503 if it cannot be written
    expires = datetime.fromtimestamp(time.time() + ttl, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    base = base_url(event)
    headers = {
        "Content-Type": "application/json",
        "Cache-Control": "no-store",
        "Link": f'<{base}/v1/assets/{asset["id"]}/rsl.xml>; rel="license"; type="application/rsl+xml"',
    }
    price = access_price(lic)
    if limit is not None:
        headers["crawler-charged"] = format_price_header(lic["terms"]["pricing"]["currency"], price)
    body = {
        "url": url,
        "expires_at": expires,
        "license_id": lic["id"],
        "sha256": asset["sha256"],
        "size_bytes": asset["size_bytes"],
        "media_type": asset["media_type"],
    }
    log.debug(json.dumps({"msg": "delivered", "asset_id": asset["id"], "license_id": lic["id"], "use": use}))
    return {"statusCode": 200, "headers": headers, "body": json.dumps(body, separators=(",", ":"))}


def handler(event: LambdaEvent, context: LambdaContext) -> LambdaEvent:
    try:
        limited = ratelimit.refused(event)  # per account (functions.shared.ratelimit): 429 + Retry-After
        if limited is not None:
            return limited
        return deliver(event)
    except Fault as exc:
        return problem_result(exc)
    except Exception:  # the last resort: logged in full, answered with a request id only
        request_id = str((event.get("requestContext") or {}).get("requestId") or getattr(context, "aws_request_id", ""))
        log.exception(json.dumps({"msg": "unexpected error", "request_id": request_id}))
        return problem_result(
            Fault(
                f"Something went wrong on our side. Quote request id {request_id} to the operator.",
                extra={"request_id": request_id},
            )
        )


def openapi_app() -> APIGatewayHttpResolver:
    from functions.licensing.handlers.delivery_doc import app

    return app

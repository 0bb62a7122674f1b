"""Content delivery, the hot path: ``GET /v1/assets/{id}/content?use=&license_id=``.

Kept deliberately small (no web framework, no pydantic, no KMS): one ``BatchGetItem`` across the licensing,
catalogue and metering tables (licence + asset + spend) when the licence is named, or a ``Query`` of the buyer's
active licences and one ``BatchGetItem`` when it is not; a presigned S3 GET computed locally; one SQS message.
P1: ≤ 2 AWS calls with a named licence, ≤ 3 otherwise, 0 KMS. P3: no DynamoDB write on a delivery (metering
aggregates usage from the queue). The route's OpenAPI description lives in ``delivery_doc``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import UTC, datetime
from typing import Any

from functions.catalog.dal.reader import active_offers_for_asset, asset_from_item, asset_key
from functions.licensing.dal.reader import license_from_item, license_key
from functions.licensing.logic.entitlement import access_price, covers_asset, refusal
from functions.metering.dal.reader import spend_from_item, spend_key
from functions.shared import aws
from functions.shared.auth import principal_from_event
from functions.shared.config import BaseEnv, load_env
from functions.shared.errors import (
    ApiError,
    BadRequest,
    Forbidden,
    Gone,
    NotFound,
    PaymentRequired,
    Unauthorized,
    Unprocessable,
)
from functions.shared.ids import is_id, new_id
from functions.shared.money import format_price_header, parse_price_header
from functions.shared.urls import base_url
from functions.shared.uses import USES, covers

log = logging.getLogger("imprimatur.delivery")
# One line per delivery is DEBUG: at crawler scale it would cost more than the delivery itself, and every delivery is
# already recorded by metering (usage archive). Failures are logged by the runtime; raise the level to debug.
log.setLevel(logging.DEBUG if os.environ.get("DELIVERY_DEBUG_LOG") == "1" else logging.WARNING)
URL_TTL_S = 300


class DeliveryEnv(BaseEnv):
    LICENSING_TABLE: str
    CATALOG_TABLE: str
    METERING_TABLE: str
    CONTENT_BUCKET: str
    USAGE_QUEUE_URL: str


def env() -> DeliveryEnv:
    return load_env(DeliveryEnv)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _batch_get(keys: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    ddb = aws.client("dynamodb")
    request = {t: {"Keys": k} for t, k in keys.items() if k}
    out: dict[str, list[dict[str, Any]]] = {t: [] for t in keys}
    for _ in range(5):
        got = ddb.batch_get_item(RequestItems=request)
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


def _payment_required(asset: dict[str, Any], use: str, detail: str) -> PaymentRequired:
    offers = [o for o in active_offers_for_asset(asset) if covers(o["uses"], use)]
    headers = {}
    per_access = [o for o in offers if o["pricing"]["model"] == "per_access"]
    if per_access:
        cheapest = min(per_access, key=lambda o: o["pricing"]["amount_micros"])
        headers["crawler-price"] = format_price_header(
            cheapest["pricing"]["currency"], cheapest["pricing"]["amount_micros"]
        )
    return PaymentRequired(detail, extra={"offers": offers, "asset_id": asset["id"], "use": use}, headers=headers)


def _pay_per_crawl(buyer_id: str, asset: dict[str, Any], use: str, limit: tuple[str, str, int]) -> dict[str, Any]:
    """Grant (or reuse) the buyer's pay-per-crawl licence on a per_access offer within the price; else 402."""
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
    offer = min(offers, key=lambda o: (o["pricing"]["amount_micros"], o["created_at"]))
    store = LicensingStore(env().LICENSING_TABLE)
    existing = store.ppc_license_id(buyer_id, offer["id"])
    if existing is None:
        lic = build_license(buyer_id, offer, use, None, pay_per_crawl=True)
        try:
            store.grant(lic, max_licenses=offer.get("max_licenses"), ppc_key=f"PPC#{buyer_id}#{offer['id']}")
            return lic.model_dump()
        except ApiError as exc:
            if exc.code != "ppc_race":
                raise
            existing = store.ppc_license_id(buyer_id, offer["id"])
    got = aws.client("dynamodb").get_item(
        TableName=env().LICENSING_TABLE, Key=license_key(str(existing)), ConsistentRead=True
    )
    return license_from_item(got["Item"])


def deliver(event: dict[str, Any]) -> dict[str, Any]:
    e = env()
    caller = principal_from_event(event)
    if caller is None:
        raise Unauthorized("A valid API key is required.")
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

    lic: dict[str, Any] | None = None
    spent = 0
    if license_id is not None:
        if not is_id(license_id, "lic"):
            raise NotFound("No such licence.")
        got = _batch_get(
            {
                e.LICENSING_TABLE: [license_key(license_id)],
                e.CATALOG_TABLE: [asset_key(asset_id)],
                e.METERING_TABLE: [spend_key(license_id)],
            }
        )
        assets = got[e.CATALOG_TABLE]
        lics = got[e.LICENSING_TABLE]
        spends = got[e.METERING_TABLE]
        asset = asset_from_item(assets[0], now) if assets else None
        _check_asset(asset)
        assert asset is not None
        lic = license_from_item(lics[0]) if lics else None
        if lic is None or lic["buyer_id"] != caller.account_id:
            raise NotFound("No such licence.")
        spent = spend_from_item(spends[0]) if spends else 0
        code = refusal(lic, asset, use, now, spent)
        if code is not None:
            raise Forbidden(_REFUSALS.get(code, "The licence does not entitle this delivery."), code=code)
    else:
        candidates = _active_licenses(e.LICENSING_TABLE, caller.account_id)[:99]
        got = _batch_get(
            {e.CATALOG_TABLE: [asset_key(asset_id)], e.METERING_TABLE: [spend_key(c["id"]) for c in candidates]}
        )
        assets = got[e.CATALOG_TABLE]
        asset = asset_from_item(assets[0], now) if assets else None
        _check_asset(asset)
        assert asset is not None
        spent_by = {i["pk"]["S"].removeprefix("SPEND#"): spend_from_item(i) for i in got[e.METERING_TABLE]}
        usable = [
            c
            for c in candidates
            if covers_asset(c, asset) and refusal(c, asset, use, now, spent_by.get(c["id"], 0)) is None
        ]
        if usable:
            lic = min(usable, key=lambda c: (access_price(c), c["created_at"]))
        elif limit is not None:
            lic = _pay_per_crawl(caller.account_id, asset, use, limit)
        else:
            raise _payment_required(asset, use, "No licence of yours covers this asset for this use.")

    return _deliver(e, event, caller.account_id, asset, lic, use, limit, now)


_REFUSALS = {
    "license_revoked": "The publisher revoked this licence.",
    "license_cancelled": "This licence was cancelled.",
    "license_expired": "This licence has expired.",
    "license_not_started": "This licence has not started yet.",
    "license_scope": "This licence does not cover this asset.",
    "license_use": "This licence does not cover this use.",
    "budget_exhausted": "The licence's budget cap is reached.",
}


def _check_asset(asset: dict[str, Any] | None) -> None:
    if asset is None or asset["status"] in ("pending_upload", "rejected"):
        raise NotFound("No such asset.")
    if asset["status"] == "withdrawn":
        raise Gone("This asset was withdrawn by its publisher.", code="asset_withdrawn")


def _active_licenses(table: str, buyer_id: str) -> list[dict[str, Any]]:
    got = aws.client("dynamodb").query(
        TableName=table,
        IndexName="gsi3",
        KeyConditionExpression="gsi3pk = :p",
        ExpressionAttributeValues={":p": {"S": f"ACTIVE#{buyer_id}"}},
    )
    return [license_from_item(i) for i in got.get("Items", [])]


def _deliver(
    e: DeliveryEnv,
    event: dict[str, Any],
    buyer_id: str,
    asset: dict[str, Any],
    lic: dict[str, Any],
    use: str,
    limit: tuple[str, str, int] | None,
    now: str,
) -> dict[str, Any]:
    url = aws.client("s3").generate_presigned_url(
        "get_object",
        Params={"Bucket": e.CONTENT_BUCKET, "Key": asset["s3_key"], "ResponseContentType": asset["media_type"]},
        ExpiresIn=URL_TTL_S,
    )
    scope = lic["scope"]
    message = {
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
    aws.client("sqs").send_message(QueueUrl=e.USAGE_QUEUE_URL, MessageBody=json.dumps(message, separators=(",", ":")))
    expires = datetime.fromtimestamp(time.time() + URL_TTL_S, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
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


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        return deliver(event)
    except ApiError as exc:
        return exc.result()


def openapi_app() -> Any:
    from functions.licensing.handlers.delivery_doc import app

    return app

"""P1 (AWS calls per operation, every route), P3 (writes per key over N deliveries), P5 (consumer throughput and
DynamoDB writes per 1,000 events), warm CPU per delivery, and application log bytes per delivery."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from benchmarks.harness import Harness
from infra.definitions import ROUTES

Req = tuple[str, str, str | None, Any, str]  # method, path, key role, body, query


def route_requests(s: dict[str, Any]) -> dict[str, Callable[[], Req]]:
    """One valid request per route of the route table (keys name the identity used)."""
    a, o, lic, pub_id = s["asset_id"], s["offer_id"], s["license_id"], s["publisher_id"]
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    year, month = int(now[:4]), int(now[5:7])
    past = f"{year - 1:04d}-{month:02d}"  # a year ago: closable, and no benchmark books in it
    n = {"i": 0}

    def uniq() -> str:
        n["i"] += 1
        return f"{n['i']}-{time.time_ns()}"

    return {
        "GET /v1/health": lambda: ("GET", "/v1/health", None, None, ""),
        "GET /v1/openapi.json": lambda: ("GET", "/v1/openapi.json", None, None, ""),
        "POST /v1/accounts": lambda: (
            "POST",
            "/v1/accounts",
            "admin",
            {"name": "x", "email": f"x{uniq()}@bench.example", "roles": ["buyer"]},
            "",
        ),
        "POST /v1/accounts/{id}/suspend": lambda: ("POST", f"/v1/accounts/{s['spare_id']}/suspend", "admin", {}, ""),
        "GET /v1/accounts": lambda: ("GET", "/v1/accounts", "admin", None, "q=spare"),
        "GET /v1/accounts/{id}": lambda: ("GET", f"/v1/accounts/{s['buyer_id']}", "admin", None, ""),
        "PATCH /v1/accounts/{id}": lambda: ("PATCH", f"/v1/accounts/{s['spare_id']}", "admin", {"name": uniq()}, ""),
        "POST /v1/accounts/{id}/reinstate": lambda: (
            "POST",
            f"/v1/accounts/{s['suspended_id']}/reinstate",
            "admin",
            {},
            "",
        ),
        "POST /v1/accounts/{id}/keys": lambda: ("POST", f"/v1/accounts/{s['spare_id']}/keys", "admin", {}, ""),
        "POST /v1/accounts/{id}/approve": lambda: ("POST", f"/v1/accounts/{s['pending_id']}/approve", "admin", {}, ""),
        "PATCH /v1/me": lambda: ("PATCH", "/v1/me", "publisher", {"profile": {"description": uniq()}}, ""),
        "POST /v1/signup": lambda: (
            "POST",
            "/v1/signup",
            None,
            {"name": "Bench Press", "email": f"signup{uniq()}@bench.example", "roles": ["publisher"]},
            "",
        ),
        "GET /v1/signup/verify": lambda: ("GET", "/v1/signup/verify", None, None, ""),
        "POST /v1/signup/verify": lambda: ("POST", "/v1/signup/verify", None, {"token": s["signup_token"]}, ""),
        "GET /v1/me": lambda: ("GET", "/v1/me", "buyer", None, ""),
        "POST /v1/me/keys": lambda: ("POST", "/v1/me/keys", "spare2", {}, ""),
        "GET /v1/me/keys": lambda: ("GET", "/v1/me/keys", "buyer", None, ""),
        "DELETE /v1/me/keys/{key_id}": lambda: ("DELETE", f"/v1/me/keys/{s['spare_key_id']}", "spare2", None, ""),
        "POST /v1/assets": lambda: (
            "POST",
            "/v1/assets",
            "publisher",
            {
                "title": "t",
                "kind": "article",
                "media_type": "text/plain",
                "language": "en",
                "size_bytes": 10,
                "sha256": "0" * 64,
            },
            "",
        ),
        "GET /v1/assets": lambda: ("GET", "/v1/assets", "publisher", None, ""),
        "GET /v1/assets/{id}": lambda: ("GET", f"/v1/assets/{a}", None, None, ""),
        "PATCH /v1/assets/{id}": lambda: ("PATCH", f"/v1/assets/{a}", "publisher", {"description": uniq()}, ""),
        "DELETE /v1/assets/{id}": lambda: ("DELETE", f"/v1/assets/{s['spare_asset']}", "publisher", None, ""),
        "POST /v1/assets/{id}/complete": lambda: ("POST", f"/v1/assets/{a}/complete", "publisher", {}, ""),
        "GET /v1/catalog/assets": lambda: ("GET", "/v1/catalog/assets", None, None, "q=bench"),
        "POST /v1/collections": lambda: ("POST", "/v1/collections", "publisher", {"title": "c"}, ""),
        "GET /v1/collections/{id}": lambda: ("GET", f"/v1/collections/{s['collection_id']}", None, None, ""),
        "GET /v1/publishers/{id}": lambda: ("GET", f"/v1/publishers/{pub_id}", None, None, ""),
        "POST /v1/offers": lambda: (
            "POST",
            "/v1/offers",
            "publisher",
            {"asset_id": a, "uses": ["search"], "pricing": {"model": "free"}},
            "",
        ),
        "GET /v1/offers": lambda: ("GET", "/v1/offers", None, None, f"asset_id={a}"),
        "GET /v1/offers/{id}": lambda: ("GET", f"/v1/offers/{o}", None, None, ""),
        "DELETE /v1/offers/{id}": lambda: ("DELETE", f"/v1/offers/{s['spare_offer']}", "publisher", None, ""),
        "POST /v1/pools": lambda: ("POST", "/v1/pools", "admin", {"name": "p"}, ""),
        "GET /v1/pools/{id}": lambda: ("GET", f"/v1/pools/{s['pool_id']}", None, None, ""),
        "POST /v1/pools/{id}/members": lambda: (
            "POST",
            f"/v1/pools/{s['pool_id']}/members",
            "publisher",
            {"asset_ids": [a]},
            "",
        ),
        "DELETE /v1/pools/{id}/members/{asset_id}": lambda: (
            "DELETE",
            f"/v1/pools/{s['pool_id']}/members/{a}",
            "publisher",
            None,
            "",
        ),
        "GET /v1/publishers/{id}/rsl.xml": lambda: ("GET", f"/v1/publishers/{pub_id}/rsl.xml", None, None, ""),
        "GET /v1/assets/{id}/rsl.xml": lambda: ("GET", f"/v1/assets/{a}/rsl.xml", None, None, ""),
        "POST /v1/licenses": lambda: ("POST", "/v1/licenses", "buyer", {"offer_id": o, "use": "ai-input"}, ""),
        "GET /v1/licenses": lambda: ("GET", "/v1/licenses", "buyer", None, ""),
        "GET /v1/licenses/{id}": lambda: ("GET", f"/v1/licenses/{lic}", "buyer", None, ""),
        "GET /v1/licenses/{id}/certificate": lambda: ("GET", f"/v1/licenses/{lic}/certificate", "buyer", None, ""),
        "POST /v1/licenses/{id}/cancel": lambda: ("POST", f"/v1/licenses/{s['spare_license']}/cancel", "buyer", {}, ""),
        "POST /v1/licenses/{id}/revoke": lambda: (
            "POST",
            f"/v1/licenses/{s['spare_license2']}/revoke",
            "publisher",
            {"reason": "bench"},
            "",
        ),
        "GET /.well-known/jwks.json": lambda: ("GET", "/.well-known/jwks.json", None, None, ""),
        "GET /v1/status-lists/{n}": lambda: ("GET", s["status_list_path"], None, None, ""),
        "PATCH /v1/licenses/{id}": lambda: (
            "PATCH",
            f"/v1/licenses/{s['capped_license']}",
            "buyer",
            {"budget_cap_micros": 2 * 10**12},
            "",
        ),
        "GET /v1/assets/{id}/content": lambda: (
            "GET",
            f"/v1/assets/{a}/content",
            "buyer",
            None,
            f"use=ai-input&license_id={lic}",
        ),
        "POST /v1/usage": lambda: (
            "POST",
            "/v1/usage",
            "buyer",
            {
                "events": [
                    {
                        "event_id": uniq(),
                        "license_id": lic,
                        "asset_id": a,
                        "use": "ai-input",
                        "units": 1,
                        "occurred_at": now,
                    }
                ]
            },
            "",
        ),
        "GET /v1/usage": lambda: ("GET", "/v1/usage", "buyer", None, "group_by=asset"),
        "GET /v1/balance": lambda: ("GET", "/v1/balance", "buyer", None, ""),
        "GET /v1/statements/{period}": lambda: ("GET", f"/v1/statements/{now[:7]}", "buyer", None, ""),
        "POST /v1/periods/{period}/close": lambda: ("POST", f"/v1/periods/{past}/close", "admin", None, ""),
        "POST /v1/pools/{id}/distributions": lambda: (
            "POST",
            f"/v1/pools/{s['pool_id']}/distributions",
            "admin",
            {"period": past},  # a closed period (the close route's request runs first: route table order)
            "",
        ),
    }


def _set_pending(h: Harness, account_id: str) -> None:
    """An account awaiting approval, as a sign-up with approval required leaves it (tests/e2e do the same)."""
    import boto3

    boto3.client("dynamodb").update_item(
        TableName=h.env["ACCOUNTS_TABLE"],
        Key={"pk": {"S": f"ACCT#{account_id}"}, "sk": {"S": "ACCT"}},
        UpdateExpression="SET #s = :p",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":p": {"S": "pending"}},
    )


def _signup_token(h: Harness) -> str:
    """A fresh sign-up's verification token, from the sign-up logic with a mailer that keeps the mail (the measured
    request is then the real ``POST /v1/signup/verify``)."""
    from functions.accounts.dal.signup import SignupStore
    from functions.accounts.logic import signup as logic
    from functions.accounts.models.signup import SignupRequest

    kept: list[Any] = []

    class Keep:
        def send(self, mail: Any) -> None:
            kept.append(mail)

    req = SignupRequest(name="Bench Press", email=f"verify{time.time_ns()}@bench.example", roles=["publisher"])
    logic.signup(SignupStore(h.env["ACCOUNTS_TABLE"]), Keep(), req, "en", logic.SignupConfig(base_url="http://bench"))
    (mail,) = kept
    return str(mail.text.split("#token=", 1)[1].split()[0])


def _prepare_spares(h: Harness, s: dict[str, Any]) -> None:
    """Objects consumed by the destructive routes (suspend, revoke key, withdraw, retire, cancel, revoke)."""
    _, body, _ = h.call(
        "POST",
        "/v1/accounts",
        s["admin"],
        {"name": "spare", "email": f"spare{time.time_ns()}@bench.example", "roles": ["buyer"]},
    )
    s["spare_id"] = body["account"]["id"]
    _, body, _ = h.call(
        "POST",
        "/v1/accounts",
        s["admin"],
        {"name": "spare2", "email": f"spare2{time.time_ns()}@bench.example", "roles": ["buyer"]},
    )
    s["spare2"] = body["api_key"]
    _, keys, _ = h.call("GET", "/v1/me/keys", s["spare2"])
    s["spare_key_id"] = keys["items"][0]["key_id"]
    # a suspended account (reinstate), one awaiting approval (approve), and a sign-up's verification token
    _, body, _ = h.call(
        "POST",
        "/v1/accounts",
        s["admin"],
        {"name": "spare3", "email": f"spare3{time.time_ns()}@bench.example", "roles": ["buyer"]},
    )
    s["suspended_id"] = body["account"]["id"]
    h.call("POST", f"/v1/accounts/{s['suspended_id']}/suspend", s["admin"], {})
    _, body, _ = h.call(
        "POST",
        "/v1/accounts",
        s["admin"],
        {"name": "spare4", "email": f"spare4{time.time_ns()}@bench.example", "roles": ["publisher"]},
    )
    s["pending_id"] = body["account"]["id"]
    _set_pending(h, s["pending_id"])
    s["signup_token"] = _signup_token(h)
    _, body, _ = h.call(
        "POST",
        "/v1/assets",
        s["publisher"],
        {
            "title": "spare",
            "kind": "article",
            "media_type": "text/plain",
            "language": "en",
            "size_bytes": 1,
            "sha256": "0" * 64,
        },
    )
    s["spare_asset"] = body["asset"]["id"]
    _, body, _ = h.call(
        "POST",
        "/v1/offers",
        s["publisher"],
        {"asset_id": s["asset_id"], "uses": ["ai-index"], "pricing": {"model": "free"}},
    )
    s["spare_offer"] = body["id"]
    for name in ("spare_license", "spare_license2"):
        _, body, _ = h.call("POST", "/v1/licenses", s["buyer"], {"offer_id": s["offer_id"], "use": "ai-input"})
        s[name] = body["license"]["id"]
    _, body, _ = h.call(
        "POST", "/v1/licenses", s["buyer"], {"offer_id": s["offer_id"], "use": "ai-input", "budget_cap_micros": 10**12}
    )
    s["capped_license"] = body["license"]["id"]
    _, body, _ = h.call("GET", f"/v1/licenses/{s['license_id']}/certificate", s["buyer"])
    claims = json.loads(base64.urlsafe_b64decode(body["certificate"].split(".")[1] + "=="))
    s["status_list_path"] = urlsplit(claims["status"]["status_list"]["uri"]).path
    _, body, _ = h.call("POST", "/v1/collections", s["publisher"], {"title": "bench"})
    s["collection_id"] = body["id"]
    _, body, _ = h.call("POST", "/v1/pools", s["admin"], {"name": "bench pool"})
    s["pool_id"] = body["id"]


DESTRUCTIVE = frozenset(
    {
        "POST /v1/accounts/{id}/suspend",
        "DELETE /v1/me/keys/{key_id}",
        "DELETE /v1/assets/{id}",
        "DELETE /v1/offers/{id}",
        "POST /v1/licenses/{id}/cancel",
        "POST /v1/licenses/{id}/revoke",
        "POST /v1/me/keys",
        "POST /v1/accounts/{id}/reinstate",
        "POST /v1/accounts/{id}/approve",
        "POST /v1/signup/verify",
    }
)


def calls_per_route(h: Harness, s: dict[str, Any]) -> list[dict[str, Any]]:
    _prepare_spares(h, s)
    reqs = route_requests(s)
    missing = {r.route_key for r in ROUTES} - set(reqs)
    assert not missing, f"no benchmark request for {missing}"
    rows = []
    for route in ROUTES:
        method, path, who, body, query = reqs[route.route_key]()
        h.call(method, path, s.get(who) if who else None, body, query)  # warm: first-call imports, caches
        if route.route_key in DESTRUCTIVE:
            _prepare_spares(h, s)  # measure on fresh objects
        method, path, who, body, query = reqs[route.route_key]()
        h.log.reset()
        cpu0 = time.process_time()
        status, _, _ = h.call(method, path, s.get(who) if who else None, body, query)
        cpu_ms = (time.process_time() - cpu0) * 1000
        calls = dict(h.log.calls)
        rows.append(
            {
                "route": route.route_key,
                "status": status,
                "calls": sum(calls.values()),
                "detail": calls,
                "cpu_ms": round(cpu_ms, 1),
            }
        )
    return rows


def delivery_profile(h: Harness, s: dict[str, Any], n: int) -> dict[str, Any]:
    """Warm CPU, wall time, AWS calls and log bytes per delivery, over ``n`` deliveries (named and unnamed)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    lambda_json = logging.Formatter(
        '{"timestamp":"%(asctime)s","level":"%(levelname)s","message":%(message)s,'
        '"logger":"%(name)s","requestId":"00000000-0000-0000-0000-000000000000"}'
    )
    handler.setFormatter(lambda_json)
    logging.getLogger("imprimatur.delivery").addHandler(handler)
    results: dict[str, Any] = {}
    for label, query in (("named", f"use=ai-input&license_id={s['license_id']}"), ("unnamed", "use=ai-input")):
        path = f"/v1/assets/{s['asset_id']}/content"
        h.call("GET", path, s["buyer"], None, query)
        h.log.reset()
        stream.seek(0)
        stream.truncate()
        cpu, wall = [], []
        out_bytes = 0
        copies, size = 0, 0
        for _ in range(n):
            c0, w0 = time.process_time(), time.perf_counter()
            status, body, headers = h.call("GET", path, s["buyer"], None, query)
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
            assert status == 200
            # what the function answers, as bytes on the wire: status line, its headers, the compact JSON body
            sent = len(json.dumps(body, separators=(",", ":")).encode()) + len(b"HTTP/1.1 200 OK\r\n\r\n")
            out_bytes = max(out_bytes, sent + sum(len(k) + len(v) + 4 for k, v in headers.items()))
            # presigned on the delivery copy (S3 Express One Zone in the stack; issue 16) or on the content bucket
            copies += urlsplit(body["url"]).path.lstrip("/").split("/")[0] == h.env.get("DELIVERY_BUCKET")
            size = max(size, int(body["size_bytes"]))
        results[label] = {
            "calls_per_delivery": sum(h.log.calls.values()) / n,
            "limiter_calls_per_delivery": h.log.limiter_calls / n,
            "read_items_per_delivery": h.log.read_items / n,
            "kms_calls": sum(v for k, v in h.log.calls.items() if k.startswith("kms.")),
            "ddb_writes": h.log.write_items,
            "cpu_ms_median": statistics.median(cpu) * 1000,
            "wall_ms_median": statistics.median(wall) * 1000,
            "log_bytes_per_delivery": len(stream.getvalue().encode()) / n,
            "response_bytes": out_bytes,
            "copy_share": copies / n,
            "size_bytes": size,
            "detail": dict(h.log.calls),
        }
    logging.getLogger("imprimatur.delivery").removeHandler(handler)
    return results


def deliveries_and_consumer(h: Harness, s: dict[str, Any], n: int, batch: int | None = None) -> dict[str, Any]:
    """P3 and P5: ``n`` deliveries, then the consumer meters them from the deliveries stream in batches of ``batch``
    per shard (the event source mapping's batch size by default)."""
    from benchmarks import drain

    path = f"/v1/assets/{s['asset_id']}/content"
    query = f"use=ai-input&license_id={s['license_id']}"
    drain.everything(h)  # whatever the earlier measurements left
    h.log.reset()
    for _ in range(n):
        h.call("GET", path, s["buyer"], None, query)
    delivery_writes = h.log.write_items
    h.log.reset()
    got = drain.stream(h, batch) if batch else drain.stream(h)
    assert got.events == n, (got.events, n)
    ddb_calls = sum(v for k, v in h.log.calls.items() if k.startswith("dynamodb."))
    ddb_reads = sum(v for k, v in h.log.calls.items() if k in ("dynamodb.BatchGetItem", "dynamodb.GetItem"))
    top_key, top_writes = h.log.written_keys.most_common(1)[0] if h.log.written_keys else ("-", 0)
    return {
        "deliveries": n,
        "delivery_ddb_writes": delivery_writes,
        "events": got.events,
        "consumer_invocations": got.invocations,
        "consumer_cpu_ms_per_event": got.cpu_s * 1000 / max(got.events, 1),
        "consumer_calls_per_event": got.calls / max(got.events, 1),
        "consumer_read_calls_per_event": ddb_reads / max(got.events, 1),
        "events_per_s": got.events / got.busy_s if got.busy_s else 0.0,
        "consumer_ddb_calls": ddb_calls,
        "write_items_per_1000": h.log.write_items * 1000 / max(got.events, 1),
        "write_units_per_1000": h.log.write_units * 1000 / max(got.events, 1),
        "max_writes_one_key": top_writes,
        "hottest_key": top_key,
        "s3_puts": h.log.calls.get("s3.PutObject", 0),
    }


def crawl_consumer(h: Harness, s: dict[str, Any], n: int = 1000) -> dict[str, Any]:
    """P4 with crawl-shaped traffic: ``n`` metered deliveries on one licence, each of a different asset (what a crawler
    does), where ``deliveries_and_consumer`` meters ``n`` deliveries of one asset. The records are one real delivery's
    record with a new event id and asset id each (the consumer reads no catalogue), so the consumer's writes are
    exactly what it would write for that traffic; only its aggregate keys differ (docs/performance.md)."""
    import json

    import boto3

    from benchmarks import drain

    drain.everything(h)
    status, _, _ = h.call(
        "GET", f"/v1/assets/{s['asset_id']}/content", s["buyer"], None, f"use=ai-input&license_id={s['license_id']}"
    )
    assert status == 200
    taken: list[Any] = []
    drain.stream(h, take=taken)
    (real,) = taken  # the real delivery's record, taken off the stream: not metered itself
    template = json.loads(real["Data"])
    kinesis = boto3.client("kinesis")
    for i in range(0, n, 500):
        kinesis.put_records(
            StreamName=h.env["DELIVERIES_STREAM"],
            Records=[
                {
                    "Data": json.dumps(
                        {**template, "event_id": f"evt_crawl{i + j:07d}", "asset_id": f"ast_crawl{i + j:07d}"}
                    ).encode(),
                    "PartitionKey": f"evt_crawl{i + j:07d}",
                }
                for j in range(min(500, n - i))
            ],
        )
    h.log.reset()
    got = drain.stream(h)
    assert got.events == n, (got.events, n)
    return {
        "events": got.events,
        "write_items_per_1000": h.log.write_items * 1000 / max(got.events, 1),
        "write_units_per_1000": h.log.write_units * 1000 / max(got.events, 1),
        "s3_puts": h.log.calls.get("s3.PutObject", 0),
    }


def n_deliveries() -> int:
    return int(os.environ.get("BENCH_DELIVERIES", "10000"))


def dumps(x: Any) -> str:
    return json.dumps(x, indent=2, sort_keys=True)


def simulated_write_plan(n: int, batch: int = 100) -> dict[str, Any]:
    """P3 at scale without moto's slowness: ``n`` deliveries of ONE asset on ONE licence (the hottest case) go through
    the consumer's own pricing, chunking and aggregation code; every key its transactions would write is counted."""
    from collections import Counter

    from functions.metering.dal.store import MeteringStore, aggregate
    from functions.metering.logic.pricing import price

    lic = {
        "id": "lic_hot",
        "buyer_id": "acct_buyer",
        "publisher_id": "acct_pub",
        "use": "ai-input",
        "scope": {"type": "asset", "id": "ast_hot"},
        "terms": {"pricing": {"model": "per_access", "amount_micros": 10_000, "currency": "USD"}},
    }
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    writes: Counter[str] = Counter()
    transactions = 0
    for start in range(0, n, batch):
        entries = [
            price(
                {
                    "kind": "usage",
                    "event_id": f"evt_{i}",
                    "source": "delivery",
                    "buyer_id": "acct_buyer",
                    "license_id": "lic_hot",
                    "asset_id": "ast_hot",
                    "publisher_id": "acct_pub",
                    "use": "ai-input",
                    "units": 1,
                    "occurred_at": now,
                },
                lic,
                1000,
            )
            for i in range(start, min(n, start + batch))
        ]
        for chunk in MeteringStore.chunks(entries):
            transactions += 1
            for e in chunk:
                writes[e.dedup_key] += 1
            for pk, sk in aggregate(chunk).keys():  # noqa: SIM118 - _Agg.keys() is a method, not a dict view
                writes[f"{pk}|{sk}"] += 1
    key, top = writes.most_common(1)[0]
    return {
        "deliveries": n,
        "transactions": transactions,
        "max_writes_one_key": top,
        "hottest_key": key,
        "keys_written": len(writes),
    }


def capped_deliveries(h: Harness, s: dict[str, Any], n: int = 1000, margin: int = 100) -> dict[str, Any]:
    """Issue 13: DynamoDB writes on the delivery path of a capped licence, whose budget is reserved in leases. The
    cap covers ``n + margin`` accesses, so the remainder covers at least ``margin`` throughout ``n`` deliveries."""
    price = 10_000
    st, lic, _ = h.call(
        "POST",
        "/v1/licenses",
        s["buyer"],
        {"offer_id": s["offer_id"], "use": "ai-input", "budget_cap_micros": (n + margin) * price},
    )
    assert st == 201, lic
    license_id = lic["license"]["id"]
    path = f"/v1/assets/{s['asset_id']}/content"
    query = f"use=ai-input&license_id={license_id}"
    writes_per_delivery: list[int] = []
    items = 0
    for _ in range(n):
        h.log.reset()
        status, body, _ = h.call("GET", path, s["buyer"], None, query)
        assert status == 200, body
        writes_per_delivery.append(
            sum(v for k, v in h.log.calls.items() if k.split(".")[-1] in _WRITE_CALLS and k.startswith("dynamodb."))
        )
        items += h.log.write_items
    refused, _, _ = h.call("GET", path, s["buyer"], None, query)
    return {
        "deliveries": n,
        "write_items": items,
        "write_items_per_1000": items * 1000 / n,
        "max_write_calls_one_delivery": max(writes_per_delivery),
        "leases": sum(1 for w in writes_per_delivery if w),
        "next_delivery_status": refused,
    }


_WRITE_CALLS = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")

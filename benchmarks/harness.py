"""A measurement harness: moto's server in a separate process (so its CPU is not counted as ours), the resources
from ``infra.definitions``, the local gateway in-process with the authoriser cache on (as API Gateway caches it),
and a botocore hook that records every AWS call the handlers make."""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests


@dataclass
class CallLog:
    calls: Counter[str] = field(default_factory=Counter)
    written_keys: Counter[str] = field(default_factory=Counter)
    write_items: int = 0
    write_units: int = 0  # DynamoDB write request units (transactional writes cost 2 per KB)
    read_items: int = 0  # items asked for by GetItem and BatchGetItem (P4 prices each as one read of < 4 KB)
    limiter_calls: int = 0
    """Rate limiter leases (one UpdateItem per chunk on the limits table): kept out of ``calls`` and the written
    keys, and reported and priced on their own lines (P1, P4)."""

    def reset(self) -> None:
        self.calls.clear()
        self.written_keys.clear()
        self.write_items = self.write_units = self.limiter_calls = self.read_items = 0


@contextmanager
def moto_server() -> Iterator[str]:
    """The embedded AWS in its own process, patched as in ``make run`` (local.embedded_dynamodb)."""
    from local.motoserver import running

    with running(patched=True) as (url, _pid):
        yield url


def _item_bytes(item: dict[str, Any]) -> int:
    """DynamoDB's item size, approximately: attribute names plus values (numbers as their digits)."""

    def size(v: Any) -> int:
        if isinstance(v, dict) and len(v) == 1:
            ((t, x),) = v.items()
            if t in ("S", "N"):
                return len(str(x).encode())
            if t == "BOOL" or t == "NULL":
                return 1
            if t == "M":
                return 3 + sum(len(k.encode()) + size(y) for k, y in x.items())
            if t == "L":
                return 3 + sum(size(y) + 1 for y in x)
        return len(str(v).encode())

    return sum(len(k.encode()) + size(v) for k, v in item.items())


class Harness:
    def __init__(self, endpoint: str, instrument: bool = True) -> None:
        """``instrument``: count every AWS call and written key (P1, P3); off for throughput runs, where the
        counting would be part of the time measured."""
        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_ENDPOINT_URL": endpoint,
                "POWERTOOLS_LOG_LEVEL": "WARNING",
            }
        )
        from functions.shared import aws
        from functions.shared.config import clear_env_cache
        from local.gateway import LocalGateway
        from local.provision import provision

        aws.reset_clients()
        clear_env_cache()
        # The benchmark drives one account far past the default rate limits: it measures the limiter's calls and
        # cost (leases of the default chunk), not its refusals.
        os.environ.update({"RATE_LIMIT_PER_KEY": "1000000000", "RATE_LIMIT_PER_IP": "1000000000"})
        self.env = provision()
        os.environ.update(self.env)
        self.gw = LocalGateway(auth_cache_ttl=3600)
        self.gw.warm()
        self.log = CallLog()
        self._limiter_call = False
        if instrument:
            for service in ("dynamodb", "s3", "sqs", "kms"):
                aws.client(service).meta.events.register("before-call.*.*", self._count)
            aws.kinesis_once().meta.events.register("before-call.*.*", self._count)  # the deliveries stream
            aws.client("dynamodb").meta.events.register("before-parameter-build.dynamodb.*", self._writes)

    def _count(self, model: Any, **_: Any) -> None:
        if self._limiter_call:
            self._limiter_call = False
            self.log.limiter_calls += 1
            return
        self.log.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    def _writes(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        """API-level parameters (before serialisation): which keys a write touches."""
        name = model.name
        if params.get("TableName") == self.env.get("LIMITS_TABLE"):
            self._limiter_call = True  # the before-call event of this same call comes next
            return
        if name == "GetItem":
            self.log.read_items += 1
        elif name == "BatchGetItem":
            self.log.read_items += sum(len(r.get("Keys", [])) for r in params.get("RequestItems", {}).values())
        if name in ("PutItem", "UpdateItem", "DeleteItem"):
            key = params.get("Item") or params.get("Key") or {}
            self._written(key, 1)
        elif name == "TransactWriteItems":
            for item in params.get("TransactItems", []):
                op = next(iter(item.values()))
                # 2 units per KB of a put item (a chunk journal grows with the accounts of its chunk); an update's
                # item is not known here: statement lines, usage rows and balances are well under 1 KB
                units = 2 * max(1, -(-_item_bytes(op["Item"]) // 1024)) if "Item" in op else 2
                self._written(op.get("Item") or op.get("Key") or {}, units)
        elif name == "BatchWriteItem":
            for reqs in params.get("RequestItems", {}).values():
                for r in reqs:
                    op = r.get("PutRequest") or r.get("DeleteRequest") or {}
                    self._written(op.get("Item") or op.get("Key") or {}, 1)

    def _written(self, key: dict[str, Any], units: int) -> None:
        pk = key.get("pk", {}).get("S", "?")
        sk = key.get("sk", {}).get("S", "")
        self.log.written_keys[f"{pk}|{sk}"] += 1
        self.log.write_items += 1
        self.log.write_units += units

    def call(
        self,
        method: str,
        path: str,
        key: str | None = None,
        body: Any = None,
        query: str = "",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        import json

        hdrs = {"content-type": "application/json", **(headers or {})}
        if key:
            hdrs["authorization"] = f"Bearer {key}"
        r = self.gw.handle(method, path, query, hdrs, json.dumps(body).encode() if body is not None else None)
        try:
            data = json.loads(r.body) if r.body else None
        except ValueError:
            data = r.body
        return r.status, data, r.headers

    def scenario(self) -> dict[str, Any]:
        """Accounts, an available asset, offers and licences to exercise every route with."""
        from local.server import ensure_admin

        admin = ensure_admin(self.env)
        s: dict[str, Any] = {"admin": admin}
        for role in ("publisher", "buyer"):
            st, body, _ = self.call(
                "POST", "/v1/accounts", admin, {"name": role, "email": f"{role}@bench.example", "roles": [role]}
            )
            assert st == 201, body
            s[role], s[f"{role}_id"] = body["api_key"], body["account"]["id"]
        data = b"benchmark article " * 100
        st, body, _ = self.call(
            "POST",
            "/v1/assets",
            s["publisher"],
            {
                "title": "Bench article",
                "kind": "article",
                "media_type": "text/plain",
                "language": "en",
                "tags": ["bench"],
                "size_bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            },
        )
        s["asset_id"] = body["asset"]["id"]
        up = body["upload"]
        requests.put(up["url"], data=data, headers=up["headers"], timeout=30).raise_for_status()
        self.call("POST", f"/v1/assets/{s['asset_id']}/complete", s["publisher"])
        st, offer, _ = self.call(
            "POST",
            "/v1/offers",
            s["publisher"],
            {
                "asset_id": s["asset_id"],
                "uses": ["ai-input"],
                "pricing": {"model": "per_access", "amount_micros": 10_000},
            },
        )
        s["offer_id"] = offer["id"]
        st, lic, _ = self.call("POST", "/v1/licenses", s["buyer"], {"offer_id": offer["id"], "use": "ai-input"})
        s["license_id"] = lic["license"]["id"]
        return s

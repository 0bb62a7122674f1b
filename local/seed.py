"""Demo data for ``make run``, created only through the public HTTP API (and presigned S3 uploads), exactly as a
publisher and a buyer would: two publishers, one buyer, a few assets of each kind of text, and one offer per
pricing model. Skip it with ``make run ARGS=--no-seed``."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import requests

DEMO_ASSETS: list[dict[str, Any]] = [
    {
        "publisher": 0,
        "title": "Harbour town council approves new sea wall",
        "kind": "article",
        "media_type": "text/markdown",
        "language": "en",
        "tags": ["local news", "climate"],
        "body": "# Sea wall approved\n\nThe council voted 7-2 to fund a new sea wall.\n",
        "offer": {"uses": ["ai-input", "search"], "pricing": {"model": "per_access", "amount_micros": 10_000}},
    },
    {
        "publisher": 0,
        "title": "Fishing fleet statistics 1990-2025",
        "kind": "dataset",
        "media_type": "text/csv",
        "language": "en",
        "tags": ["fisheries", "statistics"],
        "body": "year,boats,catch_tonnes\n1990,112,5400\n2025,41,1900\n",
        "offer": {"uses": ["ai-train"], "pricing": {"model": "flat", "amount_micros": 25_000_000}, "term_days": 365},
    },
    {
        "publisher": 1,
        "title": "Les vendanges précoces en Bourgogne",
        "kind": "article",
        "media_type": "text/plain",
        "language": "fr",
        "tags": ["agriculture", "climate"],
        "body": "Les vendanges ont commencé trois semaines plus tôt que la moyenne.\n",
        "offer": {"uses": ["ai-all"], "pricing": {"model": "per_unit", "amount_micros": 2_000, "unit": "1k tokens"}},
    },
    {
        "publisher": 1,
        "title": "Regional weather observations",
        "kind": "dataset",
        "media_type": "application/json",
        "language": "en",
        "tags": ["weather", "open data"],
        "body": json.dumps({"station": "Dijon", "observations": [{"t": "2026-11-01", "temp_c": 9.5}]}),
        "offer": {"uses": ["all"], "pricing": {"model": "free"}, "attribution_required": True},
    },
    {
        "publisher": 0,
        "title": "Weekly newsletter archive",
        "kind": "book",
        "media_type": "text/html",
        "language": "en",
        "tags": ["archive"],
        "body": "<html><body><h1>Archive</h1><p>Ten years of weekly letters.</p></body></html>",
        "offer": {
            "uses": ["ai-input", "ai-index"],
            "pricing": {"model": "subscription", "amount_micros": 49_000_000, "period_days": 30},
        },
    },
]


def _check(r: requests.Response, expected: int = 200) -> Any:
    if r.status_code != expected:
        raise RuntimeError(f"{r.request.method} {r.request.url} -> {r.status_code}: {r.text[:500]}")
    return r.json() if r.content else None


def seed(api_url: str, admin_key: str, *, timeout_s: float = 60.0) -> dict[str, Any]:
    s = requests.Session()
    admin = {"Authorization": f"Bearer {admin_key}"}
    stamp = int(time.time())
    people: list[dict[str, Any]] = []
    for name, roles in (
        ("Harbour Gazette", ["publisher"]),
        ("Gazette de Bourgogne", ["publisher"]),
        ("Example AI Lab", ["buyer"]),
    ):
        email = f"{name.lower().replace(' ', '.')}.{stamp}@demo.imprimatur.local"
        got = _check(
            s.post(f"{api_url}/v1/accounts", headers=admin, json={"name": name, "email": email, "roles": roles}), 201
        )
        people.append({"name": name, "account_id": got["account"]["id"], "api_key": got["api_key"], "roles": roles})
    assets = []
    for spec in DEMO_ASSETS:
        owner = people[spec["publisher"]]
        auth = {"Authorization": f"Bearer {owner['api_key']}"}
        data = spec["body"].encode()
        body = {k: spec[k] for k in ("title", "kind", "media_type", "language", "tags")}
        created = _check(
            s.post(
                f"{api_url}/v1/assets",
                headers=auth,
                json={**body, "size_bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()},
            ),
            201,
        )
        up = created["upload"]
        put = s.put(up["url"], data=data, headers=up["headers"], timeout=30)
        if put.status_code != 200:
            raise RuntimeError(f"upload failed: {put.status_code} {put.text[:300]}")
        asset_id = created["asset"]["id"]
        deadline = time.time() + timeout_s
        while True:  # the uploads-queue dispatcher verifies it; poll like a client would
            status = _check(s.get(f"{api_url}/v1/assets/{asset_id}", headers=auth))["status"]
            if status != "pending_upload" or time.time() > deadline:
                break
            time.sleep(0.2)
        offer = _check(s.post(f"{api_url}/v1/offers", headers=auth, json={"asset_id": asset_id, **spec["offer"]}), 201)
        assets.append(
            {
                "id": asset_id,
                "title": spec["title"],
                "status": status,
                "offer_id": offer["id"],
                "pricing": offer["pricing"]["model"],
            }
        )
    return {"accounts": people, "assets": assets}

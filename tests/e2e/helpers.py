"""Shared steps for the end-to-end tests (real HTTP against the local stack)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

import requests


def publish(pub: Any, text: str, **extra: Any) -> dict[str, Any]:
    """Declare, upload through the presigned PUT, and complete an asset; returns the available asset."""
    data = text.encode()
    body = {
        "title": extra.pop("title", text[:60]),
        "kind": "article",
        "media_type": "text/plain",
        "language": "en",
        "size_bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        **extra,
    }
    created = pub.post("/v1/assets", json=body)
    assert created.status_code == 201, created.text
    up = created.json()["upload"]
    assert requests.put(up["url"], data=data, headers=up["headers"], timeout=30).status_code == 200
    done = pub.post(f"/v1/assets/{created.json()['asset']['id']}/complete")
    assert done.status_code == 200 and done.json()["status"] == "available", done.text
    return dict(done.json())


def eventually(check: Callable[[], Any], timeout: float = 30.0, interval: float = 0.25) -> Any:
    """Poll until ``check`` returns a truthy value (metering is asynchronous: queue → consumer → reads)."""
    deadline = time.time() + timeout
    while True:
        value = check()
        if value or time.time() > deadline:
            return value
        time.sleep(interval)

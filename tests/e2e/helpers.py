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


def months_back(n: int) -> tuple[str, float]:
    """(period, clock offset seconds) for the 10th, noon UTC, of the month ``n`` months before the real one. Periods
    close for good: each e2e test that closes one travels to its own past month (a shared server; the real month must
    stay open for every other test). Taken: 2 and 3 (pools), 4 and 5 (money rules), 6 and 7 (idempotency)."""
    from datetime import UTC, datetime

    real = datetime.now(UTC)
    months = real.year * 12 + real.month - 1 - n
    target = datetime(months // 12, months % 12 + 1, 10, 12, tzinfo=UTC)
    return target.strftime("%Y-%m"), (target - real).total_seconds()


def set_clock(http: Any, offset_seconds: float) -> None:
    """Move the local marketplace's clock (``POST /local/clock``, local mode only)."""
    r = requests.post(f"{http.base}/local/clock", json={"offset_seconds": offset_seconds}, timeout=30)
    assert r.status_code == 200, r.text

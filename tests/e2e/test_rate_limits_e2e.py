"""`make run` applies the same rate limits as the stack (issue 17): a local server started with small limits in its
environment answers real HTTP requests past them with `429` problem+json and `Retry-After`, per account and, for
requests without a key, per source address."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import running_stack

LIMITS = {"RATE_LIMIT_PER_KEY": "5", "RATE_LIMIT_PER_IP": "4", "RATE_LIMIT_CHUNK": "2", "RATE_LIMIT_WINDOW_S": "3600"}


def until_429(call: Callable[[], requests.Response], most: int) -> tuple[int, requests.Response]:
    """How many requests were served before the first 429, and that 429."""
    for served in range(most):
        r = call()
        if r.status_code == 429:
            return served, r
        assert r.status_code < 300, (r.status_code, r.text[:300])
    raise AssertionError(f"no 429 after {most} requests")


def assert_problem(r: requests.Response, limit: int) -> None:
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 429 and body["code"] == "rate_limited" and body["limit"] == limit
    assert 1 <= int(r.headers["retry-after"]) <= 3600


def test_local_server_limits_keys_and_addresses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in LIMITS.items():
        monkeypatch.setenv(k, v)
    with running_stack(tmp_path, seed=False) as state:
        base, key = state["api_url"].rstrip("/"), state["admin_api_key"]
        auth = {"authorization": f"Bearer {key}"}
        served, refused = until_429(lambda: requests.get(f"{base}/v1/me", headers=auth, timeout=30), 8)
        assert served == 5
        assert_problem(refused, 5)
        # without a key: the address's own budget (the admin's refusals did not spend it)
        served, refused = until_429(lambda: requests.get(f"{base}/v1/health", timeout=30), 8)
        assert served == 4
        assert_problem(refused, 4)
        # an invalid key: the authoriser's deny (401 problem+json locally, API Gateway's 403 in the cloud)
        bad = requests.get(f"{base}/v1/me", headers={"authorization": "Bearer imp_" + "x" * 43}, timeout=30)
        assert bad.status_code == 401 and bad.headers["content-type"] == "application/problem+json"

"""Shared fixtures and helpers.

- ``aws``: a fresh embedded AWS (moto ``mock_aws``) with every resource created from ``infra.definitions``
  and the handlers' environment set; yields that environment.
- ``gw``: the local gateway in-process over ``aws`` (integration tests: handler → logic → DAL against moto,
  through the same routing, authoriser and event shapes as ``make run``).
- ``api``: a tiny client over ``gw`` with ``.get/.post/...`` returning ``Resp(status, headers, json)``.
- ``admin``/``make_account``: account factories through the real API.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest

from functions.shared import aws as shared_aws
from functions.shared.config import clear_env_cache

_EMBEDDED: list[bool] = []


def _install_embedded_aws() -> None:
    """Once per process, on the first world: the same embedded DynamoDB and SQS as `make run`
    (local/embedded_aws.py). Deferred so that the unit tier, which never builds a world, never imports moto."""
    if not _EMBEDDED:
        from local.embedded_aws import install

        install()
        _EMBEDDED.append(True)


@contextlib.contextmanager
def embedded_aws() -> Iterator[dict[str, str]]:
    """A fresh embedded AWS with the stack's resources provisioned, its names in the environment, the system clock and
    every period open (the per-instance cache of closed periods is process-wide); all undone on exit."""
    from moto import mock_aws

    from functions.metering.dal.store import CLOSED_PERIODS
    from functions.shared import clock, ratelimit

    _install_embedded_aws()
    with mock_aws():
        shared_aws.reset_clients()
        clear_env_cache()
        ratelimit.reset()  # this process's leases belong to the previous world's counters
        clock.set_offset(0)
        CLOSED_PERIODS.clear()
        from local.provision import provision

        env = provision()
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            yield env
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            shared_aws.reset_clients()
            clear_env_cache()
            clock.set_offset(0)
            CLOSED_PERIODS.clear()


@pytest.fixture
def aws() -> Iterator[dict[str, str]]:
    with embedded_aws() as env:
        yield env


@dataclass
class Resp:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


class Api:
    """Calls the local gateway in-process, as an HTTP client would."""

    def __init__(self, gw: Any, key: str | None = None) -> None:
        self.gw, self.key = gw, key

    def as_(self, key: str | None) -> Api:
        return Api(self.gw, key)

    def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        raw: bytes | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Resp:
        hdrs = {"content-type": "application/json", **(headers or {})}
        if self.key:
            hdrs.setdefault("authorization", f"Bearer {self.key}")
        body = raw if raw is not None else (json.dumps(json_body).encode() if json_body is not None else None)
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None}, doseq=True)
        r = self.gw.handle(method, path, query, hdrs, body)
        return Resp(r.status, r.headers, r.body)

    def get(self, path: str, **kw: Any) -> Resp:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Resp:
        return self.call("POST", path, json_body=body if body is not None else {}, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Resp:
        return self.call("PATCH", path, json_body=body, **kw)

    def delete(self, path: str, **kw: Any) -> Resp:
        return self.call("DELETE", path, **kw)


@pytest.fixture
def gw(aws: dict[str, str]) -> Any:
    from local.gateway import LocalGateway

    return LocalGateway()


@pytest.fixture
def api(gw: Any) -> Api:
    return Api(gw)


@pytest.fixture
def admin_key(aws: dict[str, str]) -> str:
    from local.server import ensure_admin

    return ensure_admin(aws, None)  # type: ignore[arg-type]


@pytest.fixture
def admin(api: Api, admin_key: str) -> Api:
    return api.as_(admin_key)


@pytest.fixture
def make_account(admin: Api) -> Callable[..., tuple[Api, dict[str, Any]]]:
    """Create an account with ``roles`` through the API; returns (client with its key, account)."""
    counter = {"n": 0}

    def make(*roles: str, name: str | None = None) -> tuple[Api, dict[str, Any]]:
        counter["n"] += 1
        n = counter["n"]
        r = admin.post(
            "/v1/accounts",
            {"name": name or f"Account {n}", "email": f"user{n}@example.com", "roles": list(roles) or ["buyer"]},
        )
        assert r.status == 201, r.body
        return admin.as_(r.json["api_key"]), r.json["account"]

    return make

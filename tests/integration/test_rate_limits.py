"""Per-key and per-IP rate limits through the real handlers and the local gateway (issue 17, section 2):
``429`` problem+json with ``Retry-After`` past the limit, all of an account's keys share one budget, requests
without a key are counted per source IP, and an invalid key reaches the authoriser at most once per cache TTL and a
route's function never."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from functions.shared import aws as shared_aws
from functions.shared import ratelimit
from functions.shared.config import clear_env_cache
from tests.fixtures import Api


@pytest.fixture
def limits(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``limits(per_key=.., per_ip=.., chunk=..)`` sets the limits of this test's world (fresh leases)."""

    def set_limits(**values: int) -> None:
        values = {"window_s": 3600, **values}  # a window no test run crosses (fixed windows restart at a boundary)
        for name, value in values.items():
            monkeypatch.setenv(f"RATE_LIMIT_{name.upper()}", str(value))
        clear_env_cache()
        ratelimit.reset()

    yield set_limits
    clear_env_cache()
    ratelimit.reset()


def assert_429(r: Any, limit: int) -> None:
    assert r.status == 429, (r.status, r.body[:300])
    assert r.content_type == "application/problem+json"
    body = r.json
    assert body["status"] == 429 and body["code"] == "rate_limited" and body["limit"] == limit
    window = ratelimit.env().RATE_LIMIT_WINDOW_S
    assert 1 <= int(r.headers["retry-after"]) <= window


def test_an_account_over_its_limit_gets_429_and_others_do_not(limits: Any, make_account: Any) -> None:
    buyer, _ = make_account("buyer")
    other, _ = make_account("buyer")
    limits(per_key=4, chunk=2)
    second = buyer.post("/v1/me/keys", {}).json["api_key"]  # 1: a second key of the same account
    assert buyer.get("/v1/me").status == 200  # 2
    assert buyer.as_(second).get("/v1/me").status == 200  # 3: the same budget, by account
    assert buyer.get("/v1/me/keys").status == 200  # 4
    assert_429(buyer.as_(second).get("/v1/me"), 4)
    assert_429(buyer.get("/v1/licenses"), 4)  # every function of the account's routes
    assert_429(buyer.get("/v1/assets/ast_00000000000000000000000000/content", params={"use": "ai-input"}), 4)
    assert other.get("/v1/me").status == 200


def test_requests_without_a_key_are_limited_per_source_ip(limits: Any, gw: Any, api: Api) -> None:
    limits(per_ip=2, chunk=1)
    assert api.get("/v1/health").status == 200
    assert api.get("/v1/catalog/assets").status == 200
    assert_429(api.get("/v1/offers"), 2)
    assert gw.handle("GET", "/v1/health", "", {}, None, source_ip="192.0.2.7").status == 200


def test_an_invalid_key_reaches_the_authoriser_once_per_ttl_and_no_route_function(limits: Any, gw: Any) -> None:
    limits()
    gw.auth_cache_ttl = 60
    invoked: Counter[str] = Counter()
    real = gw.invoke

    def counting(function: str, event: dict[str, Any]) -> Any:
        invoked[function] += 1
        return real(function, event)

    gw.invoke = counting
    bad = Api(gw, "imp_" + "x" * 43)
    for path in ("/v1/me", "/v1/licenses", "/v1/me", "/v1/assets/ast_00000000000000000000000000/content"):
        r = bad.get(path)
        assert r.status == 401 and r.content_type == "application/problem+json"  # locally; 403 in the cloud
    assert invoked == Counter({"authorizer": 1})


def test_failed_keys_from_one_address_stop_reading_the_accounts_table(limits: Any, gw: Any) -> None:
    limits(per_ip=3, chunk=1)
    reads: Counter[str] = Counter()

    def hook(model: Any, params: dict[str, Any], **_: Any) -> None:
        body = params.get("body") or b"{}"
        table = json.loads(body if isinstance(body, (bytes, str)) and body else b"{}").get("TableName", "")
        reads[f"{model.name}:{table}"] += 1

    ddb = shared_aws.client("dynamodb")
    ddb.meta.events.register("before-call.dynamodb.*", hook)
    try:
        for i in range(12):
            r = gw.handle(
                "GET", "/v1/me", "", {"authorization": f"Bearer imp_{i:043d}"}, None, source_ip="198.51.100.9"
            )
            assert r.status == 401
    finally:
        ddb.meta.events.unregister("before-call.dynamodb.*", hook)
    lookups = sum(n for k, n in reads.items() if k.startswith("GetItem:") and "accounts" in k)
    assert lookups == 4  # 3 failures within the limit, the 4th finds the window spent; 8 more read nothing
    # the address's keyless requests to public routes have their own budget
    assert gw.handle("GET", "/v1/health", "", {}, None, source_ip="198.51.100.9").status == 200

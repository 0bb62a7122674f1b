"""Authentication half of the authorisation matrix, generated from the route table: every `key` route refuses
no key, a bad key, a revoked key and a suspended account with 401 problem+json before touching its input;
public routes never answer 401."""

from __future__ import annotations

import re
from typing import Any

import pytest

from infra.definitions import ROUTES

KEY_ROUTES = [r for r in ROUTES if r.auth == "key"]
PUBLIC_ROUTES = [r for r in ROUTES if r.auth != "key"]
IDS = {
    "id": "acct_00000000000000000000000000",
    "key_id": "key_00000000000000000000000000",
    "asset_id": "ast_00000000000000000000000000",
    "period": "2026-11",
    "n": "0",
}


def concrete(path: str) -> str:
    return re.sub(r"\{([a-z_]+)\}", lambda m: IDS[m.group(1)], path)


@pytest.fixture
def identities(admin: Any, make_account: Any) -> dict[str, Any]:
    revoked, _ = make_account("publisher", "buyer")
    key_id = revoked.get("/v1/me/keys").json["items"][0]["key_id"]
    assert revoked.delete(f"/v1/me/keys/{key_id}").status == 204
    suspended, account = make_account("publisher", "buyer")
    assert admin.post(f"/v1/accounts/{account['id']}/suspend").status == 200
    return {"none": admin.as_(None), "bad": admin.as_("imp_" + "x" * 43), "revoked": revoked, "suspended": suspended}


@pytest.mark.parametrize("route", KEY_ROUTES, ids=lambda r: r.route_key)
def test_key_routes_refuse_callers_without_a_valid_key(route: Any, identities: dict[str, Any]) -> None:
    for who, client in identities.items():
        r = client.call(route.method, concrete(route.path), json_body={} if route.method in ("POST", "PATCH") else None)
        assert r.status == 401, (who, route.route_key, r.status, r.body[:200])
        assert r.content_type == "application/problem+json"


@pytest.mark.parametrize("route", PUBLIC_ROUTES, ids=lambda r: r.route_key)
def test_public_routes_never_ask_for_a_key(route: Any, api: Any) -> None:
    r = api.call(route.method, concrete(route.path))
    assert r.status != 401, (route.route_key, r.body[:200])
    assert r.status < 500, (route.route_key, r.body[:300])

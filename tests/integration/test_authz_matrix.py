"""The authorisation matrix, from the route table: every route by owner, other tenant (same role), wrong role —
with the expected status of each (together with tests/integration/test_auth_matrix.py: no key, bad key, revoked key,
suspended account). Another tenant's private object is a 404, never a 403 (API.md)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from functions.shared.clock import now_iso
from infra.definitions import ROUTES


@dataclass(frozen=True)
class Case:
    request: Callable[[dict[str, Any]], tuple[str, str, Any, dict[str, Any] | None]]  # method, path, body, params
    owner: tuple[str, int]  # identity, status
    other: tuple[str, int] | None  # another tenant with the same role
    wrong_role: tuple[str, int] | None


def r(method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
    return lambda c: (method, path.format(**c), body(c) if callable(body) else body, params)


ASSET_BODY = {
    "title": "x",
    "kind": "article",
    "media_type": "text/plain",
    "language": "en",
    "size_bytes": 1,
    "sha256": "0" * 64,
}
FREE = {"uses": ["search"], "pricing": {"model": "free"}}
PUBLIC = None
MATRIX: dict[str, Case] = {
    "GET /v1/health": Case(r("GET", "/v1/health"), ("anon", 200), ("buyer_b", 200), PUBLIC),
    "GET /v1/openapi.json": Case(r("GET", "/v1/openapi.json"), ("anon", 200), ("buyer_b", 200), PUBLIC),
    "POST /v1/accounts": Case(
        r("POST", "/v1/accounts", lambda c: {"name": "n", "email": f"{c['uniq']}@x.example", "roles": ["buyer"]}),
        ("admin", 201),
        ("admin_b", 201),
        ("pub_a", 403),
    ),
    "POST /v1/accounts/{id}/suspend": Case(
        r("POST", "/v1/accounts/{victim_id}/suspend", {}), ("admin", 200), ("admin_b", 200), ("pub_a", 403)
    ),
    # admin account management (API v1.1, issue 19); the victim is active, so reinstating it is a 409 not_suspended
    "GET /v1/accounts": Case(r("GET", "/v1/accounts"), ("admin", 200), ("admin_b", 200), ("pub_a", 403)),
    "GET /v1/accounts/{id}": Case(
        r("GET", "/v1/accounts/{victim_id}"), ("admin", 200), ("admin_b", 200), ("pub_a", 403)
    ),
    "PATCH /v1/accounts/{id}": Case(
        r("PATCH", "/v1/accounts/{victim_id}", {"name": "v"}), ("admin", 200), ("admin_b", 200), ("pub_a", 403)
    ),
    "POST /v1/accounts/{id}/reinstate": Case(
        r("POST", "/v1/accounts/{victim_id}/reinstate", {}), ("admin", 409), ("admin_b", 409), ("pub_a", 403)
    ),
    "POST /v1/accounts/{id}/keys": Case(
        r("POST", "/v1/accounts/{victim_id}/keys", {}), ("admin", 201), ("admin_b", 201), ("pub_a", 403)
    ),
    "PATCH /v1/me": Case(
        r("PATCH", "/v1/me", {"profile": {"display_name": "P"}}), ("pub_a", 200), ("pub_b", 200), ("buyer_a", 403)
    ),
    "GET /v1/me": Case(r("GET", "/v1/me"), ("pub_a", 200), ("pub_b", 200), None),
    # self sign-up (issue 19): public; the same answer whoever asks (no key is needed, none is looked at)
    "POST /v1/signup": Case(
        r(
            "POST",
            "/v1/signup",
            lambda c: {"name": "S", "email": f"s-{uuid.uuid4().hex[:8]}@x.example", "roles": ["buyer"]},
        ),
        ("anon", 202),
        ("buyer_b", 202),
        PUBLIC,
    ),
    "GET /v1/signup/verify": Case(r("GET", "/v1/signup/verify"), ("anon", 200), ("buyer_b", 200), PUBLIC),
    "POST /v1/accounts/{id}/approve": Case(
        r("POST", "/v1/accounts/{victim_id}/approve", {}), ("admin", 409), ("admin_b", 409), ("pub_a", 403)
    ),
    "POST /v1/signup/verify": Case(
        r("POST", "/v1/signup/verify", {"token": "A" * 43}), ("anon", 410), ("buyer_b", 410), PUBLIC
    ),
    "POST /v1/me/keys": Case(r("POST", "/v1/me/keys", {}), ("buyer_a", 201), ("buyer_b", 201), None),
    "GET /v1/me/keys": Case(r("GET", "/v1/me/keys"), ("buyer_a", 200), ("buyer_b", 200), None),
    "DELETE /v1/me/keys/{key_id}": Case(
        r("DELETE", "/v1/me/keys/{spare_key_id}"), ("spare", 204), ("buyer_b", 404), None
    ),
    "POST /v1/assets": Case(r("POST", "/v1/assets", ASSET_BODY), ("pub_a", 201), ("pub_b", 201), ("buyer_a", 403)),
    "GET /v1/assets": Case(r("GET", "/v1/assets"), ("pub_a", 200), ("pub_b", 200), ("buyer_a", 403)),
    "GET /v1/assets/{id}": Case(r("GET", "/v1/assets/{draft_id}"), ("pub_a", 200), ("pub_b", 404), ("anon", 404)),
    "PATCH /v1/assets/{id}": Case(
        r("PATCH", "/v1/assets/{draft_id}", {"title": "t"}), ("pub_a", 200), ("pub_b", 404), ("buyer_a", 403)
    ),
    "DELETE /v1/assets/{id}": Case(
        r("DELETE", "/v1/assets/{spare_draft_id}"), ("pub_a", 200), ("pub_b", 404), ("buyer_a", 403)
    ),
    "POST /v1/assets/{id}/complete": Case(
        r("POST", "/v1/assets/{asset_id}/complete", {}), ("pub_a", 200), ("pub_b", 404), ("buyer_a", 403)
    ),
    "GET /v1/catalog/assets": Case(r("GET", "/v1/catalog/assets"), ("anon", 200), ("buyer_b", 200), PUBLIC),
    "POST /v1/collections": Case(
        r("POST", "/v1/collections", {"title": "c"}), ("pub_a", 201), ("pub_b", 201), ("buyer_a", 403)
    ),
    "GET /v1/collections/{id}": Case(
        r("GET", "/v1/collections/{collection_id}"), ("anon", 200), ("pub_b", 200), PUBLIC
    ),
    "GET /v1/publishers/{id}": Case(r("GET", "/v1/publishers/{pub_a_id}"), ("anon", 200), ("pub_b", 200), PUBLIC),
    "POST /v1/offers": Case(
        r("POST", "/v1/offers", lambda c: {**FREE, "asset_id": c["asset_id"]}),
        ("pub_a", 201),
        ("pub_b", 422),
        ("buyer_a", 403),
    ),
    "GET /v1/offers": Case(r("GET", "/v1/offers", None, {"asset_id": "x"}), ("anon", 200), ("pub_b", 200), PUBLIC),
    "GET /v1/offers/{id}": Case(r("GET", "/v1/offers/{offer_id}"), ("anon", 200), ("pub_b", 200), PUBLIC),
    "DELETE /v1/offers/{id}": Case(
        r("DELETE", "/v1/offers/{spare_offer_id}"), ("pub_a", 200), ("pub_b", 404), ("buyer_a", 404)
    ),
    "POST /v1/pools": Case(r("POST", "/v1/pools", {"name": "p"}), ("admin", 201), ("admin_b", 201), ("pub_a", 403)),
    "GET /v1/pools/{id}": Case(r("GET", "/v1/pools/{pool_id}"), ("anon", 200), ("pub_b", 200), PUBLIC),
    "POST /v1/pools/{id}/members": Case(
        r("POST", "/v1/pools/{pool_id}/members", lambda c: {"asset_ids": [c["asset_id"]]}),
        ("pub_a", 200),
        ("pub_b", 422),
        ("buyer_a", 403),
    ),
    "DELETE /v1/pools/{id}/members/{asset_id}": Case(
        r("DELETE", "/v1/pools/{pool_id}/members/{member_id}"), ("pub_a", 200), ("pub_b", 404), ("buyer_a", 403)
    ),
    "GET /v1/publishers/{id}/rsl.xml": Case(
        r("GET", "/v1/publishers/{pub_a_id}/rsl.xml"), ("anon", 200), ("pub_b", 200), PUBLIC
    ),
    "GET /v1/assets/{id}/rsl.xml": Case(
        r("GET", "/v1/assets/{asset_id}/rsl.xml"), ("anon", 200), ("pub_b", 200), PUBLIC
    ),
    "POST /v1/licenses": Case(
        r("POST", "/v1/licenses", lambda c: {"offer_id": c["offer_id"], "use": "ai-input"}),
        ("buyer_a", 201),
        ("buyer_b", 201),
        ("pub_a", 403),
    ),
    "GET /v1/licenses": Case(r("GET", "/v1/licenses"), ("buyer_a", 200), ("buyer_b", 200), ("pub_b", 403)),
    "GET /v1/licenses/{id}": Case(
        r("GET", "/v1/licenses/{license_id}"), ("buyer_a", 200), ("buyer_b", 404), ("pub_b", 404)
    ),
    "PATCH /v1/licenses/{id}": Case(
        r("PATCH", "/v1/licenses/{capped_license_id}", {"budget_cap_micros": 2 * 10**9}),
        ("buyer_a", 200),
        ("buyer_b", 404),
        ("pub_a", 403),
    ),
    "GET /v1/licenses/{id}/certificate": Case(
        r("GET", "/v1/licenses/{license_id}/certificate"), ("buyer_a", 200), ("buyer_b", 404), ("pub_b", 404)
    ),
    "POST /v1/licenses/{id}/cancel": Case(
        r("POST", "/v1/licenses/{spare_license_id}/cancel", {}), ("buyer_a", 200), ("buyer_b", 404), ("pub_a", 404)
    ),
    "POST /v1/licenses/{id}/revoke": Case(
        r("POST", "/v1/licenses/{spare_license2_id}/revoke", {"reason": "r"}),
        ("pub_a", 200),
        ("pub_b", 404),
        ("buyer_a", 404),
    ),
    "GET /.well-known/jwks.json": Case(r("GET", "/.well-known/jwks.json"), ("anon", 200), ("buyer_b", 200), PUBLIC),
    "GET /v1/status-lists/{n}": Case(r("GET", "/v1/status-lists/0"), ("anon", 200), ("buyer_b", 200), PUBLIC),
    "GET /v1/assets/{id}/content": Case(
        r("GET", "/v1/assets/{asset_id}/content", None, {"use": "ai-input", "license_id": "{license_id}"}),
        ("buyer_a", 200),
        ("buyer_b", 404),
        ("pub_a", 403),
    ),
    "POST /v1/usage": Case(
        r(
            "POST",
            "/v1/usage",
            lambda c: {
                "events": [
                    {
                        "event_id": c["uniq"],
                        "license_id": c["license_id"],
                        "asset_id": c["asset_id"],
                        "use": "ai-input",
                        "units": 1,
                        "occurred_at": now_iso(),
                    }
                ]
            },
        ),
        ("buyer_a", 202),
        ("buyer_b", 202),
        ("pub_a", 403),
    ),
    "GET /v1/usage": Case(r("GET", "/v1/usage"), ("buyer_a", 200), ("buyer_b", 200), None),
    "GET /v1/balance": Case(
        r("GET", "/v1/balance", None, {"account_id": "{buyer_a_id}"}), ("buyer_a", 200), ("buyer_b", 403), None
    ),
    "GET /v1/statements/{period}": Case(
        r("GET", "/v1/statements/2026-11", None, {"account_id": "{buyer_a_id}"}),
        ("buyer_a", 200),
        ("buyer_b", 403),
        None,
    ),
    "POST /v1/pools/{id}/distributions": Case(
        r("POST", "/v1/pools/{pool_id}/distributions", {"period": "2026-01"}),
        ("admin", 201),
        ("admin_b", 201),
        ("pub_a", 403),
    ),
    "POST /v1/periods/{period}/close": Case(
        r("POST", "/v1/periods/2026-02/close"), ("admin", 200), ("admin_b", 200), ("pub_a", 403)
    ),
}


def test_the_matrix_covers_every_route() -> None:
    assert set(MATRIX) == {route.route_key for route in ROUTES}


@pytest.fixture
def world(aws: dict[str, str], api: Any, admin: Any, make_account: Any) -> dict[str, Any]:
    c: dict[str, Any] = {"anon": api.as_(None), "admin": admin}
    for name, roles in (
        ("pub_a", ["publisher"]),
        ("pub_b", ["publisher"]),
        ("buyer_a", ["buyer"]),
        ("buyer_b", ["buyer"]),
        ("admin_b", ["admin"]),
        ("spare", ["buyer"]),
        ("victim", ["buyer"]),
    ):
        c[name], acct = make_account(*roles)
        c[f"{name}_id"] = acct["id"]
    pub = c["pub_a"]
    data = b"matrix"
    made = pub.post("/v1/assets", {**ASSET_BODY, "size_bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    c["asset_id"] = made.json["asset"]["id"]
    boto3.client("s3").put_object(
        Bucket=aws["CONTENT_BUCKET"], Key=f"assets/{c['pub_a_id']}/{c['asset_id']}", Body=data
    )
    assert pub.post(f"/v1/assets/{c['asset_id']}/complete").json["status"] == "available"
    c["draft_id"] = pub.post("/v1/assets", ASSET_BODY).json["asset"]["id"]
    c["spare_draft_id"] = pub.post("/v1/assets", ASSET_BODY).json["asset"]["id"]
    c["offer_id"] = pub.post(
        "/v1/offers",
        {"asset_id": c["asset_id"], "uses": ["ai-input"], "pricing": {"model": "per_access", "amount_micros": 10}},
    ).json["id"]
    c["spare_offer_id"] = pub.post("/v1/offers", {**FREE, "asset_id": c["asset_id"]}).json["id"]
    c["collection_id"] = pub.post("/v1/collections", {"title": "c"}).json["id"]
    c["pool_id"] = admin.post("/v1/pools", {"name": "p"}).json["id"]
    assert admin.post("/v1/periods/2026-01/close").status == 200  # a pool distributes closed periods only
    member = pub.post(
        "/v1/assets", {**ASSET_BODY, "size_bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    ).json["asset"]
    boto3.client("s3").put_object(Bucket=aws["CONTENT_BUCKET"], Key=f"assets/{c['pub_a_id']}/{member['id']}", Body=data)
    pub.post(f"/v1/assets/{member['id']}/complete")
    pub.post(f"/v1/pools/{c['pool_id']}/members", {"asset_ids": [member["id"]]})
    c["member_id"] = member["id"]
    for name in ("license_id", "spare_license_id", "spare_license2_id"):
        c[name] = (
            c["buyer_a"].post("/v1/licenses", {"offer_id": c["offer_id"], "use": "ai-input"}).json["license"]["id"]
        )
    c["capped_license_id"] = (
        c["buyer_a"]
        .post("/v1/licenses", {"offer_id": c["offer_id"], "use": "ai-input", "budget_cap_micros": 10**9})
        .json["license"]["id"]
    )
    c["spare_key_id"] = c["spare"].get("/v1/me/keys").json["items"][0]["key_id"]
    c["uniq"] = "u-1"
    return c


def call(c: dict[str, Any], who: str, case: Case) -> int:
    method, path, body, params = case.request(c)
    params = {k: (v.format(**c) if isinstance(v, str) else v) for k, v in (params or {}).items()}
    c["uniq"] = c["uniq"] + "x"
    return int(c[who].call(method, path, json_body=body, params=params).status)


@pytest.mark.parametrize("route", sorted(MATRIX), ids=str)
def test_owner_other_tenant_and_wrong_role(world: dict[str, Any], route: str) -> None:
    case = MATRIX[route]
    got = {}
    if case.wrong_role:  # first, so that a refused call cannot have consumed the object
        got["wrong role"] = (call(world, case.wrong_role[0], case), case.wrong_role[1])
    if case.other:
        got["other tenant"] = (call(world, case.other[0], case), case.other[1])
    got["owner"] = (call(world, case.owner[0], case), case.owner[1])
    assert all(actual == expected for actual, expected in got.values()), got

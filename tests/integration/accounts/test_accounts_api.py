"""Accounts, keys and the authoriser through the local gateway against moto."""

from __future__ import annotations

from typing import Any

import pytest

from local.events import LambdaContext, authorizer_event


def test_admin_creates_account_and_key_is_shown_once(admin: Any, api: Any) -> None:
    # When
    r = admin.post("/v1/accounts", {"name": "Daily Planet", "email": "news@planet.example", "roles": ["publisher"]})
    # Then
    assert r.status == 201
    key = r.json["api_key"]
    assert key.startswith("imp_") and r.json["account"]["id"].startswith("acct_")
    me = api.as_(key).get("/v1/me")
    assert me.status == 200 and me.json["email"] == "news@planet.example" and me.json["status"] == "active"
    listed = api.as_(key).get("/v1/me/keys").json["items"]
    assert key not in str(listed) and listed[0]["prefix"] == key[:8]


def test_duplicate_email_is_conflict(admin: Any) -> None:
    body = {"name": "A", "email": "dup@example.com", "roles": ["buyer"]}
    assert admin.post("/v1/accounts", body).status == 201
    r = admin.post("/v1/accounts", {**body, "email": "DUP@example.com"})
    assert r.status == 409 and r.json["code"] == "email_taken"


@pytest.mark.parametrize(
    "body",
    [
        {"name": "", "email": "a@example.com", "roles": ["buyer"]},
        {"name": "A", "email": "not-an-email", "roles": ["buyer"]},
        {"name": "A", "email": "a@example.com", "roles": []},
        {"name": "A", "email": "a@example.com", "roles": ["king"]},
        {"name": "A", "email": "a@example.com", "roles": ["buyer", "buyer"]},
        {"name": "A", "email": "a@example.com", "roles": ["buyer"], "extra": 1},
        {"email": "a@example.com", "roles": ["buyer"]},
    ],
)
def test_invalid_account_is_422_problem_with_field_errors(admin: Any, body: dict[str, Any]) -> None:
    r = admin.post("/v1/accounts", body)
    assert r.status == 422
    assert r.content_type == "application/problem+json"
    assert r.json["code"] == "validation_failed" and r.json["errors"]


def test_malformed_json_is_400(admin: Any) -> None:
    r = admin.call("POST", "/v1/accounts", raw=b'{"name": ')
    assert r.status == 400 and r.json["code"] == "malformed_json"


def test_roles_are_enforced(make_account: Any) -> None:
    buyer, _ = make_account("buyer")
    r = buyer.post("/v1/accounts", {"name": "x", "email": "x@example.com", "roles": ["admin"]})
    assert r.status == 403 and r.json["code"] == "insufficient_role"


def test_no_key_bad_key_and_bad_scheme_are_401(api: Any) -> None:
    assert api.get("/v1/me").status == 401
    assert api.as_("imp_not-a-real-key-at-all-000000000").get("/v1/me").status == 401
    r = api.get("/v1/me", headers={"authorization": "Basic abc"})
    assert r.status == 401 and r.content_type == "application/problem+json"


def test_revoked_key_stops_working_other_keys_continue(make_account: Any) -> None:
    # Given an account with two keys
    client, _ = make_account("buyer")
    new = client.post("/v1/me/keys")
    assert new.status == 201
    second = client.as_(new.json["api_key"])
    first_key_id = next(k for k in client.get("/v1/me/keys").json["items"] if k["key_id"] != new.json["key_id"])
    # When the first key is revoked (using the second)
    assert second.delete(f"/v1/me/keys/{first_key_id['key_id']}").status == 204
    # Then
    assert client.get("/v1/me").status == 401
    assert second.get("/v1/me").status == 200
    statuses = {k["key_id"]: k["status"] for k in second.get("/v1/me/keys").json["items"]}
    assert statuses[first_key_id["key_id"]] == "revoked"


def test_revoking_unknown_or_other_accounts_key_is_404(make_account: Any) -> None:
    a, _ = make_account("buyer")
    b, _ = make_account("buyer")
    b_key = b.get("/v1/me/keys").json["items"][0]["key_id"]
    assert a.delete(f"/v1/me/keys/{b_key}").status == 404
    assert a.delete("/v1/me/keys/key_nonsense").status == 404
    assert b.get("/v1/me").status == 200


def test_suspension_stops_every_key(admin: Any, make_account: Any) -> None:
    client, account = make_account("publisher")
    r = admin.post(f"/v1/accounts/{account['id']}/suspend")
    assert r.status == 200 and r.json["status"] == "suspended"
    assert client.get("/v1/me").status == 401
    assert admin.post("/v1/accounts/acct_00000000000000000000000000/suspend").status == 404


def test_create_account_is_idempotent(admin: Any) -> None:
    body = {"name": "Idem", "email": "idem@example.com", "roles": ["buyer"]}
    first = admin.post("/v1/accounts", body, headers={"idempotency-key": "k-1"})
    again = admin.post("/v1/accounts", body, headers={"idempotency-key": "k-1"})
    assert first.status == again.status == 201
    assert first.json == again.json
    other = admin.post("/v1/accounts", {**body, "name": "Other"}, headers={"idempotency-key": "k-1"})
    assert other.status == 422 and other.json["code"] == "idempotency_key_reused"
    too_long = admin.post("/v1/accounts", body, headers={"idempotency-key": "x" * 256})
    assert too_long.status == 400


def test_key_list_pagination(make_account: Any) -> None:
    client, _ = make_account("buyer")
    for _ in range(4):
        assert client.post("/v1/me/keys").status == 201
    page1 = client.get("/v1/me/keys", params={"limit": 2}).json
    page2 = client.get("/v1/me/keys", params={"limit": 2, "cursor": page1["next_cursor"]}).json
    page3 = client.get("/v1/me/keys", params={"limit": 2, "cursor": page2["next_cursor"]}).json
    ids = [k["key_id"] for k in page1["items"] + page2["items"] + page3["items"]]
    assert len(ids) == len(set(ids)) == 5
    assert client.get("/v1/me/keys", params={"cursor": "garbage!"}).status == 400
    assert client.get("/v1/me/keys", params={"limit": 0}).status == 422


def test_authorizer_answers_with_caller_context(aws: dict[str, str], make_account: Any) -> None:
    from functions.accounts.handlers.authorizer import handler

    client, account = make_account("publisher", "buyer")
    ok = handler(authorizer_event("GET /v1/me", "/v1/me", {"authorization": f"Bearer {client.key}"}), LambdaContext())
    bad = handler(authorizer_event("GET /v1/me", "/v1/me", {"authorization": "Bearer imp_wrong"}), LambdaContext())
    assert ok["context"] == {"account_id": account["id"], "roles": "buyer,publisher", "key_id": ok["context"]["key_id"]}
    assert bad == {"isAuthorized": False}  # denied, so API Gateway caches the deny (issue 17)


def test_gateway_auth_cache_keeps_revoked_key_until_ttl(gw: Any, make_account: Any) -> None:
    # The cloud caches authoriser answers for AUTH_CACHE_TTL_SECONDS; the local gateway can emulate it.
    client, _ = make_account("buyer")
    gw.auth_cache_ttl = 3600
    assert client.get("/v1/me").status == 200
    key_id = client.get("/v1/me/keys").json["items"][0]["key_id"]
    assert client.delete(f"/v1/me/keys/{key_id}").status == 204
    assert client.get("/v1/me").status == 200  # still cached
    gw._auth_cache.clear()
    assert client.get("/v1/me").status == 401


def test_health_and_unknown_route(api: Any) -> None:
    assert api.get("/v1/health").json["status"] == "ok"
    r = api.get("/v1/nope")
    assert r.status == 404 and r.content_type == "application/problem+json"


def test_non_utf8_and_non_json_bodies_are_4xx(admin: Any) -> None:
    # A body that is not UTF-8 reaches Lambda base64-encoded; it is malformed JSON, not a server error
    bad = admin.call("POST", "/v1/accounts", raw=b"\xff\xfe\x00garbage")
    assert bad.status == 400 and bad.json["code"] == "malformed_json"
    form = admin.call("POST", "/v1/accounts", raw=b"a=1", headers={"content-type": "multipart/form-data"})
    assert form.status == 415 and form.json["code"] == "unsupported_media_type"

"""Admin account management (API v1.1, issue 19) through the local gateway against moto: list and search through
the index (never a scan), get, edit, suspend and reinstate, issue a key, and the publisher's own profile."""

from __future__ import annotations

from typing import Any

import boto3
import pytest


def _create(admin: Any, name: str, email: str, *roles: str) -> tuple[Any, dict[str, Any]]:
    r = admin.post("/v1/accounts", {"name": name, "email": email, "roles": list(roles) or ["publisher"]})
    assert r.status == 201, r.body
    return admin.as_(r.json["api_key"]), r.json["account"]


@pytest.fixture
def people(admin: Any) -> dict[str, dict[str, Any]]:
    out = {}
    for name, email, roles in [
        ("Harbour Gazette", "news@harbour.example", ("publisher",)),
        ("Daily Planet", "desk@planet.example", ("publisher",)),
        ("Danube Data Lab", "ops@danube.example", ("buyer",)),
        ("Example AI", "dan@example-ai.example", ("buyer",)),
    ]:
        out[name] = _create(admin, name, email, *roles)[1]
    return out


def _ids(r: Any) -> list[str]:
    assert r.status == 200, r.body
    return [a["id"] for a in r.json["items"]]


def test_list_is_newest_first_and_pages_with_an_opaque_cursor(admin: Any, people: dict[str, Any]) -> None:
    # When the admin lists two at a time
    first = admin.get("/v1/accounts", params={"limit": "2"})
    second = admin.get("/v1/accounts", params={"limit": "2", "cursor": first.json["next_cursor"]})
    rest = admin.get("/v1/accounts", params={"limit": "100", "cursor": second.json["next_cursor"]})
    # Then every account shows once, newest first (the bootstrap admin is the oldest)
    listed = _ids(first) + _ids(second) + _ids(rest)
    mine = [p["id"] for p in people.values()]
    assert listed[:4] == list(reversed(mine))
    assert len(listed) == len(set(listed)) == 5 and rest.json["next_cursor"] is None


def test_search_matches_name_word_and_email_prefixes_each_account_once(admin: Any, people: dict[str, Any]) -> None:
    # "da" starts "Daily Planet", "Danube Data Lab" (twice: two words) and "dan@example-ai..."
    found = _ids(admin.get("/v1/accounts", params={"q": "DA"}))
    assert sorted(found) == sorted(people[n]["id"] for n in ("Daily Planet", "Danube Data Lab", "Example AI"))
    assert _ids(admin.get("/v1/accounts", params={"q": "gazette"})) == [people["Harbour Gazette"]["id"]]
    assert _ids(admin.get("/v1/accounts", params={"q": "data  L"})) == [people["Danube Data Lab"]["id"]]
    assert _ids(admin.get("/v1/accounts", params={"q": "news@harb"})) == [people["Harbour Gazette"]["id"]]
    assert _ids(admin.get("/v1/accounts", params={"q": "zzz"})) == []
    # one at a time: the same three, never one twice across pages
    seen, cursor = [], None
    for _ in range(10):
        params = {"q": "da", "limit": "1", **({"cursor": cursor} if cursor else {})}
        r = admin.get("/v1/accounts", params=params)
        seen += _ids(r)
        cursor = r.json["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(found)


def test_status_and_role_filter(admin: Any, people: dict[str, Any]) -> None:
    planet = people["Daily Planet"]["id"]
    assert admin.post(f"/v1/accounts/{planet}/suspend").status == 200
    assert _ids(admin.get("/v1/accounts", params={"status": "suspended"})) == [planet]
    assert _ids(admin.get("/v1/accounts", params={"q": "d", "status": "suspended"})) == [planet]
    buyers = _ids(admin.get("/v1/accounts", params={"role": "buyer"}))
    assert sorted(buyers) == sorted(people[n]["id"] for n in ("Danube Data Lab", "Example AI"))
    assert _ids(admin.get("/v1/accounts", params={"q": "da", "role": "publisher"})) == [planet]


def test_search_and_list_query_the_index_never_scan(admin: Any, people: dict[str, Any]) -> None:
    # Given a hook on every DynamoDB call the accounts handler makes
    from functions.shared import aws

    calls: list[tuple[str, dict[str, Any]]] = []
    client = aws.client("dynamodb")

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, params))

    client.meta.events.register("provide-client-params.dynamodb.*", record)
    try:
        # When
        assert _ids(admin.get("/v1/accounts", params={"q": "harb"}))
        assert _ids(admin.get("/v1/accounts", params={"status": "active", "role": "buyer"}))
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.*", record)
    # Then nothing scanned, and the listing went through the index
    names = [n for n, _ in calls]
    assert "Scan" not in names
    queries = [p for n, p in calls if n == "Query" and p.get("TableName", "").endswith("accounts")]
    assert queries and all(q.get("IndexName") == "gsi2" for q in queries)
    assert any(q["ExpressionAttributeValues"][":p"]["S"] == "ACCTQ#h" for q in queries)


@pytest.mark.parametrize(
    "params, status, code",
    [
        ({"cursor": "not-a-cursor"}, 400, "invalid_cursor"),
        ({"limit": "0"}, 422, "validation_failed"),
        ({"limit": "101"}, 422, "validation_failed"),
        ({"status": "sleeping"}, 422, "validation_failed"),
        ({"role": "king"}, 422, "validation_failed"),
        ({"q": "x" * 101}, 422, "validation_failed"),
        ({"q": "   "}, 422, "invalid_query"),
    ],
)
def test_bad_list_input_is_4xx(admin: Any, params: dict[str, str], status: int, code: str) -> None:
    r = admin.get("/v1/accounts", params=params)
    assert r.status == status and r.json["code"] == code, r.body


def test_a_cursor_of_another_query_is_400(admin: Any, people: dict[str, Any]) -> None:
    cursor = admin.get("/v1/accounts", params={"limit": "1"}).json["next_cursor"]
    r = admin.get("/v1/accounts", params={"q": "d", "cursor": cursor})
    assert r.status == 400 and r.json["code"] == "invalid_cursor"


def test_only_admins_manage_accounts(make_account: Any, people: dict[str, Any]) -> None:
    pub, _ = make_account("publisher")
    some = people["Example AI"]["id"]
    assert pub.get("/v1/accounts").status == 403
    assert pub.get(f"/v1/accounts/{some}").status == 403
    assert pub.patch(f"/v1/accounts/{some}", {"name": "x"}).status == 403
    assert pub.post(f"/v1/accounts/{some}/reinstate").status == 403
    assert pub.post(f"/v1/accounts/{some}/keys").status == 403
    assert pub.as_(None).get("/v1/accounts").status == 401


def test_get_and_unknown_ids(admin: Any, people: dict[str, Any]) -> None:
    acct = people["Harbour Gazette"]
    r = admin.get(f"/v1/accounts/{acct['id']}")
    assert r.status == 200 and r.json["email"] == "news@harbour.example" and r.json["roles"] == ["publisher"]
    assert admin.get("/v1/accounts/acct_00000000000000000000000000").status == 404
    assert admin.get("/v1/accounts/nonsense").status == 404


def test_edit_records_who_and_moves_the_email_and_search(admin: Any, admin_key: str, people: dict[str, Any]) -> None:
    acct = people["Harbour Gazette"]
    admin_id = admin.get("/v1/me").json["id"]
    # When the operator renames the account, changes its address and makes it a buyer too
    r = admin.patch(
        f"/v1/accounts/{acct['id']}",
        {"name": "Harbour Herald", "email": "Desk@Herald.example", "roles": ["buyer", "publisher"]},
    )
    # Then
    assert r.status == 200, r.body
    assert r.json["name"] == "Harbour Herald" and r.json["roles"] == ["buyer", "publisher"]
    assert r.json["updated_by"] == admin_id and r.json["updated_at"]
    assert admin.get(f"/v1/accounts/{acct['id']}").json["email"] == "Desk@Herald.example"
    assert _ids(admin.get("/v1/accounts", params={"q": "herald"})) == [acct["id"]]
    assert _ids(admin.get("/v1/accounts", params={"q": "desk@herald"})) == [acct["id"]]
    assert _ids(admin.get("/v1/accounts", params={"q": "gazette"})) == []
    assert _ids(admin.get("/v1/accounts", params={"q": "news@"})) == []
    # the old address is free again, the new one is taken
    assert admin.post("/v1/accounts", {"name": "N", "email": "news@harbour.example", "roles": ["buyer"]}).status == 201
    taken = admin.post("/v1/accounts", {"name": "N", "email": "desk@herald.example", "roles": ["buyer"]})
    assert taken.status == 409 and taken.json["code"] == "email_taken"


def test_edit_conflicts_and_bad_input(admin: Any, people: dict[str, Any]) -> None:
    acct = people["Harbour Gazette"]["id"]
    other_email = people["Daily Planet"]["email"]
    r = admin.patch(f"/v1/accounts/{acct}", {"email": other_email.upper()})
    assert r.status == 409 and r.json["code"] == "email_taken"
    assert admin.get(f"/v1/accounts/{acct}").json["email"] == "news@harbour.example"  # nothing half-written
    for body, code in [
        ({}, "nothing_to_change"),
        ({"roles": []}, "validation_failed"),
        ({"roles": ["king"]}, "validation_failed"),
        ({"email": "nope"}, "validation_failed"),
        ({"name": None}, "validation_failed"),
        ({"status": "active"}, "validation_failed"),
        ({"profile": {"logo_url": "http://insecure.example/logo.png"}}, "validation_failed"),
    ]:
        got = admin.patch(f"/v1/accounts/{acct}", body)
        assert got.status == 422 and got.json["code"] == code, (body, got.body)
    admin_id = admin.get("/v1/me").json["id"]
    me = admin.patch(f"/v1/accounts/{admin_id}", {"roles": ["buyer"]})
    assert me.status == 409 and me.json["code"] == "cannot_demote_self"
    assert admin.patch("/v1/accounts/acct_00000000000000000000000000", {"name": "x"}).status == 404


def test_an_edit_on_a_stale_read_cannot_undo_a_suspension(aws: dict[str, str], people: dict[str, Any]) -> None:
    from functions.accounts.dal.admin import AccountAdminStore
    from functions.accounts.dal.store import AccountStore
    from functions.shared.faults import StateConflict as Conflict

    table = aws["ACCOUNTS_TABLE"]
    store, admin_store = AccountStore(table), AccountAdminStore(table)
    acct = people["Daily Planet"]["id"]
    # Given an edit prepared from a read made before a suspension
    before = store.get_account(acct, consistent=True)
    assert before is not None
    store.set_status(acct, "suspended", by="acct_x", at="2026-11-29T00:00:00Z")
    after = before.model_copy(update={"name": "Renamed", "version": before.version + 1})
    # When it is written, Then it is refused and the suspension stays
    with pytest.raises(Conflict) as exc:
        admin_store.update_account(before, after)
    assert exc.value.code == "concurrent_update"
    now = store.get_account(acct, consistent=True)
    assert now is not None and now.status == "suspended" and now.name == "Daily Planet"


def test_suspend_then_reinstate_restores_the_keys(admin: Any, api: Any) -> None:
    client, acct = _create(admin, "Tide Times", "tide@times.example", "publisher")
    admin_id = admin.get("/v1/me").json["id"]
    assert client.get("/v1/me").status == 200
    # When suspended
    r = admin.post(f"/v1/accounts/{acct['id']}/suspend")
    assert r.status == 200 and r.json["status"] == "suspended"
    # Then its key stops working
    assert client.get("/v1/me").status == 401
    again = admin.post(f"/v1/accounts/{acct['id']}/reinstate")
    # When reinstated, Then it works again and the operator is recorded
    assert again.status == 200 and again.json["status"] == "active" and again.json["updated_by"] == admin_id
    assert client.get("/v1/me").status == 200
    twice = admin.post(f"/v1/accounts/{acct['id']}/reinstate")
    assert twice.status == 409 and twice.json["code"] == "not_suspended"
    assert admin.post("/v1/accounts/acct_00000000000000000000000000/reinstate").status == 404
    me = admin.post(f"/v1/accounts/{admin_id}/suspend")
    assert me.status == 409 and me.json["code"] == "cannot_suspend_self"


def test_reinstate_is_idempotent_by_key(admin: Any) -> None:
    _, acct = _create(admin, "Idem", "idem@example.com", "buyer")
    assert admin.post(f"/v1/accounts/{acct['id']}/suspend").status == 200
    h = {"idempotency-key": "reinstate-1"}
    first = admin.post(f"/v1/accounts/{acct['id']}/reinstate", headers=h)
    second = admin.post(f"/v1/accounts/{acct['id']}/reinstate", headers=h)
    assert first.status == second.status == 200 and first.json == second.json


def test_issue_a_key_to_an_account_that_lost_its_own(admin: Any) -> None:
    client, acct = _create(admin, "Lost Key", "lost@example.com", "publisher")
    # Given the account revoked its only key
    only = client.get("/v1/me/keys").json["items"][0]["key_id"]
    assert client.delete(f"/v1/me/keys/{only}").status == 204
    assert client.get("/v1/me").status == 401
    # When the operator issues one
    r = admin.post(f"/v1/accounts/{acct['id']}/keys", headers={"idempotency-key": "k1"})
    # Then it is shown once, works, and is listed without its secret
    assert r.status == 201 and r.json["api_key"].startswith("imp_") and r.json["key_id"].startswith("key_")
    fresh = client.as_(r.json["api_key"])
    assert fresh.get("/v1/me").json["id"] == acct["id"]
    assert r.json["api_key"] not in str(fresh.get("/v1/me/keys").json)
    replay = admin.post(f"/v1/accounts/{acct['id']}/keys", headers={"idempotency-key": "k1"})
    assert replay.json == r.json
    assert len([k for k in fresh.get("/v1/me/keys").json["items"] if k["status"] == "active"]) == 1
    assert admin.post("/v1/accounts/acct_00000000000000000000000000/keys").status == 404


def test_publisher_edits_its_profile_and_it_is_validated(admin: Any, make_account: Any) -> None:
    pub, acct = make_account("publisher", name="Harbour Gazette")
    profile = {
        "display_name": "The Harbour Gazette",
        "website": "https://harbour.example",
        "description": "Local news from the harbour since 1901.",
        "logo_url": "https://harbour.example/logo.png",
    }
    r = pub.patch("/v1/me", {"profile": profile})
    assert r.status == 200 and r.json["profile"] == profile
    assert pub.get("/v1/me").json["profile"] == profile
    # a field left out is kept, a null clears it
    r = pub.patch("/v1/me", {"profile": {"description": None}})
    assert r.json["profile"] == {**profile, "description": None}
    # the display name is searchable by the operator
    assert _ids(admin.get("/v1/accounts", params={"q": "the harbour"})) == [acct["id"]]
    for bad in [
        {"website": "http://harbour.example"},
        {"website": "javascript:alert(1)"},
        {"logo_url": "https://"},
        {"display_name": ""},
        {"display_name": "x" * 121},
        {"description": "x" * 2001},
        {"website": "https://h.example/" + "x" * 500},
        {"colour": "red"},
    ]:
        got = pub.patch("/v1/me", {"profile": bad})
        assert got.status == 422 and got.json["code"] == "validation_failed", bad
    buyer, _ = make_account("buyer")
    assert buyer.patch("/v1/me", {"profile": {"display_name": "x"}}).status == 403
    # the operator edits it too
    r = admin.patch(f"/v1/accounts/{acct['id']}", {"profile": {"display_name": "Gazette"}})
    assert r.status == 200 and r.json["profile"]["display_name"] == "Gazette"


def test_accounts_table_has_the_search_index(aws: dict[str, str]) -> None:
    desc = boto3.client("dynamodb").describe_table(TableName=aws["ACCOUNTS_TABLE"])["Table"]
    assert "gsi2" in {g["IndexName"] for g in desc["GlobalSecondaryIndexes"]}

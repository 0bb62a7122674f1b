"""Issue 19, the admin's account commands and the publisher's profile command, against a fake marketplace."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from imprimatur_client import Client, cli
from typer.testing import CliRunner

ACCT = {
    "id": "acct_01jabcdefghjkmnpqrstvwxyz0",
    "name": "Harbour Gazette",
    "email": "news@harbour.example",
    "roles": ["publisher"],
    "status": "suspended",
    "created_at": "2026-11-29T10:00:00Z",
    "updated_at": "2026-11-29T11:00:00Z",
    "updated_by": "acct_01jadmin0000000000000000000",
    "profile": {"display_name": "The [Harbour] Gazette", "website": "https://harbour.example"},
}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Request]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        path, method = request.url.path, request.method
        if (method, path) == ("GET", "/v1/accounts"):
            return httpx.Response(200, json={"items": [ACCT], "next_cursor": None})
        if path.endswith("/keys") and method == "POST":
            return httpx.Response(201, json={"key_id": "key_x", "api_key": "imp_secret", "created_at": "now"})
        if path.endswith("/reinstate"):
            return httpx.Response(
                409,
                json={"status": 409, "code": "not_suspended", "title": "Conflict", "detail": "The account is active."},
                headers={"content-type": "application/problem+json"},
            )
        if method == "PATCH":
            body = json.loads(request.content)
            return httpx.Response(200, json={**ACCT, **{k: v for k, v in body.items() if k != "profile"}})
        return httpx.Response(200, json=ACCT)

    monkeypatch.setattr(
        cli, "client", lambda: Client("http://api.test", "imp_k", transport=httpx.MockTransport(handler), max_retries=0)
    )
    return seen


def run(*args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(cli.app, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def test_list_sends_the_search_and_filters_and_prints_whole_ids(fake: list[httpx.Request]) -> None:
    out = run("accounts", "list", "harb", "--status", "suspended", "--role", "publisher").stdout
    assert ACCT["id"] in out.splitlines()
    params = dict(fake[0].url.params)
    assert params["q"] == "harb" and params["status"] == "suspended" and params["role"] == "publisher"


def test_get_shows_who_changed_it_and_markup_is_not_eaten(fake: list[httpx.Request]) -> None:
    out = run("accounts", "get", ACCT["id"]).stdout
    assert "last changed 2026-11-29T11:00:00Z by acct_01jadmin" in out
    assert "display name: The [Harbour] Gazette" in out


def test_edit_sends_only_what_was_given(fake: list[httpx.Request]) -> None:
    run("accounts", "edit", ACCT["id"], "--role", "buyer", "--role", "publisher", "--display-name", "HG")
    assert json.loads(fake[0].content) == {"roles": ["buyer", "publisher"], "profile": {"display_name": "HG"}}
    assert fake[0].method == "PATCH"
    assert "Nothing to change" in run("accounts", "edit", ACCT["id"], code=2).output


def test_issue_key_prints_the_key_alone_on_stdout(fake: list[httpx.Request]) -> None:
    result = run("accounts", "issue-key", ACCT["id"])
    assert result.stdout.strip() == "imp_secret"
    assert fake[0].url.path == f"/v1/accounts/{ACCT['id']}/keys" and fake[0].headers.get("idempotency-key")


def test_a_refusal_names_its_code_and_exits_1(fake: list[httpx.Request]) -> None:
    assert "not_suspended" in run("accounts", "reinstate", ACCT["id"], code=1).output


def test_profile_sends_the_profile(fake: list[httpx.Request]) -> None:
    run("profile", "--display-name", "The Gazette", "--logo-url", "https://h.example/l.png")
    assert fake[0].method == "PATCH" and fake[0].url.path == "/v1/me"
    assert json.loads(fake[0].content) == {
        "profile": {"display_name": "The Gazette", "logo_url": "https://h.example/l.png"}
    }

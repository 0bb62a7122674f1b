"""Issue 18, CLI output without a server: marketplace text is never read as Rich markup, certificates are printed
unwrapped at any width, price options share one syntax and their errors name the flag, errors name the request id."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from imprimatur_client import Client, cli
from typer.testing import CliRunner

TOKEN = "eyJhbGciOiJFUzI1NiJ9." + "a" * 300 + "." + "b" * 86


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Point the CLI at a fake marketplace; returns (answers by path, the requests seen)."""
    answers: dict[str, httpx.Response] = {}
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[request.url.path]

    monkeypatch.setattr(
        cli, "client", lambda: Client("http://api.test", "imp_k", transport=httpx.MockTransport(handler))
    )
    return answers, seen


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli.app, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return str(result.output)


def test_error_text_with_brackets_is_printed_as_is(fake: Any) -> None:
    answers, _ = fake
    answers["/v1/offers"] = httpx.Response(
        422,
        json={
            "detail": "Invalid [request]",
            "code": "validation_failed",
            "errors": [{"field": "tags.0", "message": "String should match pattern '^[a-z0-9 -]*$'"}],
        },
        headers={"x-request-id": "rid-1"},
    )
    out = run("offer", "create", "--asset", "ast_1", "--price", "0.01", code=1)
    assert "'^[a-z0-9 -]*$'" in out and "Invalid [request]" in out and "request rid-1" in out


def test_a_certificate_is_one_unwrapped_line(fake: Any) -> None:
    answers, _ = fake
    answers["/v1/licenses/lic_1/certificate"] = httpx.Response(200, json={"certificate": TOKEN})
    assert run("license", "certificate", "lic_1") == TOKEN + "\n"  # 400 characters, wider than any terminal
    answers["/v1/licenses"] = httpx.Response(
        201, json={"license": {"id": "lic_1", "status": "active", "use": "ai-input"}, "certificate": TOKEN}
    )
    assert run("buy", "off_1", "--use", "ai-input").splitlines()[-1] == TOKEN


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["search", "--max-price", "five"], "--max-price"),
        (["fetch", "ast_1", "--use", "ai-input", "--max-price", "0.1234567"], "--max-price"),
        (["buy", "off_1", "--use", "ai-input", "--budget", "$5"], "--budget"),
        (["offer", "create", "--asset", "ast_1", "--price", "1,5"], "--price"),
    ],
)
def test_bad_prices_are_usage_errors_naming_the_flag(fake: Any, args: list[str], flag: str) -> None:
    _, seen = fake
    out = " ".join(run(*args, code=2).replace("│", " ").split())  # Typer's error box wraps lines
    assert flag in out and "0.05 or USD 0.05" in out and seen == []  # refused before any request


def test_the_same_price_syntax_everywhere(fake: Any) -> None:
    answers, seen = fake
    grant = {
        "url": "http://s3.test/x",
        "expires_at": "z",
        "license_id": "lic_1",
        "sha256": "0" * 64,
        "size_bytes": 1,
        "media_type": "text/plain",
    }
    answers["/v1/assets/ast_1/content"] = httpx.Response(
        402, json={"detail": "pay", "code": "payment_required", "offers": []}
    )
    run("fetch", "ast_1", "--use", "ai-input", "--max-price", "0.05", code=1)
    run("fetch", "ast_1", "--use", "ai-input", "--max-price", "USD 0.05", code=1)
    assert [r.headers["crawler-max-price"] for r in seen] == ["USD 0.050000", "USD 0.050000"]
    answers["/v1/catalog/assets"] = httpx.Response(200, json={"items": [], "next_cursor": None})
    run("search", "--max-price", "USD 0.05", "--json")
    assert seen[-1].url.params["max_price_micros"] == "50000"
    answers["/v1/offers"] = httpx.Response(
        201,
        json={
            "id": "off_1",
            "uses": ["ai-train"],
            "pricing": {"model": "flat", "amount_micros": 25_000_000, "currency": "EUR"},
        },
    )
    assert "EUR 25.00" in run("offer", "create", "--asset", "ast_1", "--model", "flat", "--price", "EUR 25")
    assert json.loads(seen[-1].content)["pricing"] == {"model": "flat", "amount_micros": 25_000_000, "currency": "EUR"}
    assert grant  # the grant shape above is what a 200 would carry


def test_search_lists_only_offers_matching_its_filters(fake: Any) -> None:
    answers, _ = fake
    offers = [
        {
            "id": "off_cheap",
            "uses": ["ai-input"],
            "pricing": {"model": "per_access", "amount_micros": 10_000, "currency": "USD"},
        },
        {
            "id": "off_dear",
            "uses": ["ai-input"],
            "pricing": {"model": "per_access", "amount_micros": 90_000, "currency": "USD"},
        },
        {"id": "off_train", "uses": ["ai-train"], "pricing": {"model": "flat", "amount_micros": 1, "currency": "USD"}},
        {"id": "off_all", "uses": ["ai-all"], "pricing": {"model": "free"}},
    ]
    answers["/v1/catalog/assets"] = httpx.Response(
        200, json={"items": [{"id": "ast_1", "title": "t", "kind": "article", "offers": offers}], "next_cursor": None}
    )
    got = json.loads(run("search", "--use", "ai-input", "--max-price", "0.05", "--json"))
    assert [o["id"] for o in got[0]["offers"]] == ["off_cheap", "off_all"]


def test_search_prints_every_id_whole_on_its_own_line_at_80_columns(fake: Any) -> None:
    answers, _ = fake
    offer_ids = ["off_01m8m7va0dgcqwertyuiopasdf", "off_01m8m7va0dgcqwertyuiopasdg"]
    offers = [
        {
            "id": offer_ids[0],
            "uses": ["ai-input", "search"],
            "pricing": {"model": "per_access", "amount_micros": 10_000},
        },
        {
            "id": offer_ids[1],
            "uses": ["ai-all"],
            "pricing": {"model": "subscription", "amount_micros": 5_000_000_000, "period_days": 30},
        },
    ]
    asset = {"id": "ast_01m8m7va0dgcqwertyuiopasdf", "kind": "article", "offers": offers}
    asset["title"] = "Harbour town council approves new sea wall after a long and heated debate"
    answers["/v1/catalog/assets"] = httpx.Response(200, json={"items": [asset], "next_cursor": None})
    result = CliRunner().invoke(cli.app, ["search", "sea wall"], terminal_width=80, catch_exceptions=False)
    words = result.output.split()
    assert all(i in words for i in [asset["id"], *offer_ids])  # whole, so they can be copied into `buy`
    assert "USD 5,000.00" in result.output and "debate" in result.output  # the rest wraps, never cut

"""Issue 13, the command line without a server: licences show what they spent and have left (whole at 80 columns),
lapsed licences say so, `license cap` sets a cap in the licence's currency, and every new licence or budget code gets
a message that says what to do."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from imprimatur_client import Client, cli
from typer.testing import CliRunner

LIC_ID = "lic_01jd8k3m4n5p6q7r8s9t0v1w2x"
POOL_ID = "pool_01jd8k3m4n5p6q7r8s9t0v1w2"


def licence(**over: Any) -> dict[str, Any]:
    return {
        "id": LIC_ID,
        "buyer_id": "acct_b",
        "publisher_id": "acct_p",
        "offer_id": "off_1",
        "scope": {"type": "pool", "id": POOL_ID},
        "use": "ai-input",
        "terms": {"pricing": {"model": "per_access", "amount_micros": 10_000, "currency": "USD"}},
        "status": "active",
        "budget_cap_micros": 13_234_550_000,
        "spent_micros": 1_234_500_000,
        "remaining_micros": 12_000_050_000,
        "starts_at": "2026-11-01T00:00:00Z",
        "expires_at": None,
        **over,
    }


def problem(status: int, code: str, headers: dict[str, str] | None = None, **extra: Any) -> httpx.Response:
    body = {"title": "Refused", "status": status, "detail": f"{code} detail", "code": code, **extra}
    return httpx.Response(status, json=body, headers={"x-request-id": "rid-13", **(headers or {})})


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The CLI against a fake marketplace: answers by 'METHOD path' (or path), and the requests seen."""
    answers: dict[str, Any] = {}
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers.get(f"{request.method} {request.url.path}", answers.get(request.url.path))
        return answer(request) if callable(answer) else answer

    monkeypatch.setattr(
        cli,
        "client",
        lambda: Client("http://api.test", "imp_k", transport=httpx.MockTransport(handler), sleep=lambda _: None),
    )
    return answers, seen


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli.app, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return str(result.output)


def flat(text: str) -> str:
    return " ".join(text.split())


def test_the_listing_shows_spent_left_and_cap_whole_at_80_columns(fake: Any) -> None:
    answers, _ = fake
    lapsed = licence(
        id="lic_01jd8k3m4n5p6q7r8s9t0v1w3z",
        status="lapsed",
        lapsed_at="2026-11-30T00:00:00Z",
        terms={
            "pricing": {"model": "subscription", "amount_micros": 5_000_000_000, "currency": "USD", "period_days": 30}
        },
        budget_cap_micros=10_000_000_000,
        spent_micros=10_000_000_000,
        remaining_micros=0,
    )
    uncapped = licence(id="lic_01jd8k3m4n5p6q7r8s9t0v1w4a", budget_cap_micros=None, remaining_micros=None)
    answers["/v1/licenses"] = httpx.Response(200, json={"items": [licence(), lapsed, uncapped], "next_cursor": None})
    out = run("licenses")
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    for whole in (LIC_ID, POOL_ID, "spent 1,234.50", "left 12,000.05", "cap 13,234.55", "USD 0.01", "per access"):
        assert any(whole in line for line in lines), whole
    assert any("lapsed" in line for line in lines) and "left 0.00" in out and "cap 10,000.00" in out
    assert "no cap" in out and "spent 1,234.50" in out
    # --json passes the server's fields through
    got = json.loads(run("licenses", "--json"))
    assert [x["remaining_micros"] for x in got] == [12_000_050_000, 0, None]


def test_the_listing_of_an_older_server_shows_the_cap_alone(fake: Any) -> None:
    answers, _ = fake
    old = {k: v for k, v in licence().items() if k not in ("spent_micros", "remaining_micros")}
    answers["/v1/licenses"] = httpx.Response(200, json={"items": [old], "next_cursor": None})
    out = run("licenses")
    assert "cap 13,234.55" in out and "spent" not in out and "left" not in out


def test_show_names_spent_left_and_how_to_revive_a_lapsed_licence(fake: Any) -> None:
    answers, _ = fake
    answers[f"/v1/licenses/{LIC_ID}"] = httpx.Response(
        200,
        json=licence(
            status="lapsed", lapsed_at="2026-11-30T00:00:00Z", spent_micros=13_234_550_000, remaining_micros=0
        ),
    )
    out = flat(run("license", "show", LIC_ID))
    assert "status: lapsed since 2026-11-30T00:00:00Z" in out
    assert "budget cap: USD 13,234.55" in out and "spent: USD 13,234.55" in out and "left: USD 0.00" in out
    assert f"imprimatur license cap {LIC_ID} AMOUNT" in out


def test_cap_sets_micros_in_the_licences_currency_and_says_a_lapsed_licence_is_active_again(fake: Any) -> None:
    answers, seen = fake
    eur = {"pricing": {"model": "per_access", "amount_micros": 10_000, "currency": "EUR"}}
    before = licence(
        terms=eur, status="lapsed", budget_cap_micros=5_000_000, spent_micros=5_000_000, remaining_micros=0
    )
    answers[f"GET /v1/licenses/{LIC_ID}"] = httpx.Response(200, json=before)
    answers[f"PATCH /v1/licenses/{LIC_ID}"] = lambda r: httpx.Response(
        200,
        json={
            **before,
            "status": "active",
            "budget_cap_micros": json.loads(r.content)["budget_cap_micros"],
            "remaining_micros": json.loads(r.content)["budget_cap_micros"] - 5_000_000,
        },
    )
    out = flat(run("license", "cap", LIC_ID, "7.5"))
    patch = seen[-1]
    assert patch.method == "PATCH" and json.loads(patch.content) == {"budget_cap_micros": 7_500_000}
    assert "idempotency-key" not in patch.headers
    assert "budget cap EUR 7.50 (was EUR 5.00); active again" in out and "spent EUR 5.00, EUR 2.50 left" in out
    # Another currency than the licence's is a usage error naming the argument, before the PATCH
    seen.clear()
    bad = flat(run("license", "cap", LIC_ID, "USD 9", code=2).replace("│", " "))
    assert "AMOUNT" in bad and "expected EUR" in bad and [r.method for r in seen] == ["GET"]
    # A malformed amount is refused before any request
    seen.clear()
    assert "AMOUNT" in run("license", "cap", LIC_ID, "9,5", code=2) and seen == []


@pytest.mark.parametrize(
    ("args", "path", "answer", "says"),
    [
        (
            ["fetch", "ast_1", "--use", "ai-input", "--license", LIC_ID],
            "/v1/assets/ast_1/content",
            problem(403, "budget_exhausted"),
            f"imprimatur license cap {LIC_ID} AMOUNT",
        ),
        (
            ["fetch", "ast_1", "--use", "ai-input"],
            "/v1/assets/ast_1/content",
            problem(403, "license_lapsed", license_id="lic_named"),
            "imprimatur license cap lic_named AMOUNT",
        ),
        (
            ["fetch", "ast_1", "--use", "ai-input"],
            "/v1/assets/ast_1/content",
            problem(403, "license_revoked"),
            "paying per crawl does not replace it",
        ),
        (
            ["fetch", "ast_1", "--use", "ai-input"],
            "/v1/assets/ast_1/content",
            problem(403, "license_cancelled"),
            "imprimatur buy OFFER_ID",
        ),
        (
            ["fetch", "ast_1", "--use", "ai-input"],
            "/v1/assets/ast_1/content",
            problem(403, "license_expired"),
            "term is over",
        ),
        (
            ["license", "certificate", LIC_ID],
            f"/v1/licenses/{LIC_ID}/certificate",
            problem(409, "license_not_active"),
            f"imprimatur license show {LIC_ID}",
        ),
        (
            ["buy", "off_1", "--use", "ai-train", "--budget", "1"],
            "/v1/licenses",
            problem(422, "budget_below_price"),
            "budget of at least its price",
        ),
        (
            ["license", "cap", LIC_ID, "0.5"],
            f"PATCH /v1/licenses/{LIC_ID}",
            problem(422, "cap_below_spent"),
            "cannot be lower than what the licence has already spent",
        ),
        (
            ["license", "cap", LIC_ID, "0.5"],
            f"PATCH /v1/licenses/{LIC_ID}",
            problem(409, "budget_reserved", {"retry-after": "90"}),
            "Try again in 90 s",
        ),
    ],
)
def test_each_licence_and_budget_code_says_what_to_do(
    fake: Any, args: list[str], path: str, answer: httpx.Response, says: str
) -> None:
    answers, _ = fake
    answers[f"GET /v1/licenses/{LIC_ID}"] = httpx.Response(200, json=licence())
    answers[path] = answer
    out = flat(run(*args, code=1))
    assert says in out, out
    assert "request rid-13" in out and "Traceback" not in out


def test_usage_report_explains_the_new_rejections(fake: Any, tmp_path: Any) -> None:
    answers, _ = fake
    answers["/v1/usage"] = httpx.Response(
        202,
        json={
            "accepted": 1,
            "duplicates": 0,
            "rejected": [{"event_id": "e2", "code": "not_unit_priced"}, {"event_id": "e3", "code": "budget_exhausted"}],
        },
    )
    events = tmp_path / "u.jsonl"
    events.write_text("\n".join(json.dumps({"event_id": f"e{i}"}) for i in (1, 2, 3)) + "\n")
    out = flat(run("usage", "report", str(events)))
    assert "rejected e2: not_unit_priced (the licence is not priced per unit" in out
    assert "rejected e3: budget_exhausted (the units would take the licence past its budget cap" in out

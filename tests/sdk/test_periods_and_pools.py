"""Issue 14 on the client side, without a server: closing a period, per-currency statement totals, closed statements
(closed_at, sha256), distributions per currency with carried pool revenue, and licences naming both parties. The
answers are built from the server's response models (functions/metering/models/output.py, licensing's LicenseOut),
so a field renamed there fails here."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from imprimatur_client import Client, Conflict, PeriodOpen, ValidationFailed, cli
from typer.testing import CliRunner

from functions.licensing.models.output import LicenseOut
from functions.metering.models.output import Distribution, PeriodClose, Statement

SHA = "9f" * 32
CLOSED_STATEMENT = Statement.model_validate(
    {
        "account_id": "acct_pub",
        "period": "2026-10",
        "status": "closed",
        "closed_at": "2026-11-01T00:05:00Z",
        "sha256": SHA,
        "fee_rate_bps": 1000,
        "lines": [
            {
                "license_id": "lic_01jd8k3m4n5p6q7r8s9t0v1w2x",
                "asset_id": "ast_01jd8k3m4n5p6q7r8s9t0v1w2y",
                "use": "ai-input",
                "units": 3,
                "gross_micros": 30_000,
                "fee_micros": 3_000,
                "net_micros": 27_000,
                "fee_rate_bps": 1000,
                "currency": "USD",
            },
            {
                "license_id": "lic_01jd8k3m4n5p6q7r8s9t0v1w3z",
                "asset_id": "ast_01jd8k3m4n5p6q7r8s9t0v1w2y",
                "use": "ai-train",
                "units": 1,
                "gross_micros": 25_000_000,
                "fee_micros": 2_500_000,
                "net_micros": 22_500_000,
                "fee_rate_bps": 1000,
                "currency": "EUR",
            },
        ],
        "distributions": [
            {
                "pool_id": "pool_01jd8k3m4n5p6q7r8s9t0v1w4a",
                "distributed_period": "2026-09",
                "currency": "USD",
                "share_micros": 1_234_567,
                "accesses": 7,
                "charged_micros": 70_000,
                "pool_net_micros": 9_000_000,
            },
            {
                "pool_id": "pool_01jd8k3m4n5p6q7r8s9t0v1w4a",
                "distributed_period": "2026-09",
                "currency": "USD",
                "share_micros": -8_000_000,
                "pool_net_micros": 9_000_000,
                "carried_in_micros": 500_000,
                "carried_forward_micros": 1_500_000,
            },
        ],
        "totals": [
            {
                "currency": "USD",
                "gross_micros": 30_000,
                "fee_micros": 3_000,
                "net_micros": 27_000,
                "distributions_micros": 1_234_567,
            },
            {
                "currency": "EUR",
                "gross_micros": 25_000_000,
                "fee_micros": 2_500_000,
                "net_micros": 22_500_000,
                "distributions_micros": 0,
            },
        ],
    }
).model_dump()
DISTRIBUTION = Distribution.model_validate(
    {
        "pool_id": "pool_01jd8k3m4n5p6q7r8s9t0v1w4a",
        "period": "2026-10",
        "booked_period": "2026-11",
        "created_at": "2026-11-29T18:00:00Z",
        "remainder_rule": "largest remainder, ties by asset id",
        "currencies": [
            {
                "currency": "USD",
                "net_revenue_micros": 9_000_000,
                "carried_in_micros": 500_000,
                "shares_micros": 8_000_000,
                "carried_forward_micros": 1_500_000,
                "members": [
                    {
                        "asset_id": "ast_01jd8k3m4n5p6q7r8s9t0v1w2y",
                        "publisher_id": "acct_01jd8k3m4n5p6q7r8s9t0v1w5b",
                        "accesses": 7,
                        "charged_micros": 70_000,
                        "attributed_micros": 7_500_001,
                        "carried_share_micros": 499_999,
                        "share_micros": 8_000_000,
                    }
                ],
                "carried": [
                    {
                        "license_id": "lic_01jd8k3m4n5p6q7r8s9t0v1w6c",
                        "amount_micros": 1_500_000,
                        "since_period": "2026-10",
                        "reason": "unattributed",
                    }
                ],
            },
            {
                "currency": "EUR",
                "net_revenue_micros": 100,
                "carried_in_micros": 0,
                "shares_micros": 0,
                "carried_forward_micros": 100,
                "members": [],
                "carried": [
                    {
                        "license_id": "lic_01jd8k3m4n5p6q7r8s9t0v1w8e",
                        "amount_micros": 100,
                        "since_period": "2026-10",
                        "reason": "unattributed",
                    }
                ],
            },
        ],
    }
).model_dump()
CLOSED = PeriodClose(period="2026-10", status="closed", closed_at="2026-11-29T18:00:00Z", statements=12).model_dump()


def problem(status: int, code: str) -> httpx.Response:
    return httpx.Response(status, json={"title": "t", "status": status, "detail": f"{code} detail", "code": code})


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Any:
    answers: dict[str, httpx.Response] = {}
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[request.url.path]

    def make() -> Client:
        return Client("http://api.test", "imp_k", transport=httpx.MockTransport(handler), sleep=lambda _: None)

    monkeypatch.setattr(cli, "client", make)
    return answers, seen, make


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli.app, list(args), catch_exceptions=False, terminal_width=80)
    assert result.exit_code == code, result.output
    return str(result.output)


def flat(text: str) -> str:
    return " ".join(text.split())


# ----------------------------------------------------------------------------------------------------- SDK
def test_close_period_posts_once_with_an_idempotency_key(fake: Any) -> None:
    answers, seen, make = fake
    answers["/v1/periods/2026-10/close"] = httpx.Response(200, json=CLOSED)
    assert make().close_period("2026-10") == CLOSED
    assert [(r.method, r.url.path) for r in seen] == [("POST", "/v1/periods/2026-10/close")]
    assert seen[0].headers["idempotency-key"]


def test_period_open_and_a_current_month_are_typed_errors(fake: Any) -> None:
    answers, _, make = fake
    answers["/v1/pools/pool_1/distributions"] = problem(409, "period_open")
    with pytest.raises(PeriodOpen) as info:
        make().distribute_pool("pool_1", "2026-11")
    assert isinstance(info.value, Conflict) and info.value.code == "period_open"
    answers["/v1/periods/2026-11/close"] = problem(422, "validation_failed")
    with pytest.raises(ValidationFailed):
        make().close_period("2026-11")


def test_the_new_methods_are_documented() -> None:
    for method in (Client.close_period, Client.distribute_pool, Client.statement):
        assert method.__doc__ and len(method.__doc__) > 200
    assert "carried_forward_micros" in (Client.distribute_pool.__doc__ or "")
    assert "sha256" in (Client.statement.__doc__ or "") and "per currency" in (Client.statement.__doc__ or "")


# ----------------------------------------------------------------------------------------------------- CLI
def test_period_close_says_when_and_how_many(fake: Any) -> None:
    answers, _, _ = fake
    answers["/v1/periods/2026-10/close"] = httpx.Response(200, json=CLOSED)
    assert "period 2026-10 closed at 2026-11-29T18:00:00Z: 12 statement(s) frozen" in flat(
        run("period", "close", "2026-10")
    )
    assert json.loads(run("period", "close", "2026-10", "--json")) == CLOSED


def test_period_close_of_this_month_is_refused_with_the_reason(fake: Any) -> None:
    answers, _, _ = fake
    answers["/v1/periods/2026-11/close"] = problem(422, "period_not_past")
    assert "period_not_past" in run("period", "close", "2026-11", code=1)


def test_a_closed_statement_shows_one_total_per_currency_its_sha256_and_carried_pool_revenue(fake: Any) -> None:
    answers, _, _ = fake
    answers["/v1/statements/2026-10"] = httpx.Response(200, json=CLOSED_STATEMENT)
    out = run("statement", "2026-10")
    rows = {line.split()[1]: line.split() for line in out.splitlines() if line.strip().startswith("TOTAL")}
    assert rows["USD"][-3:] == ["0.03", "0.003", "0.027"] and rows["EUR"][-3:] == ["25.00", "2.50", "22.50"]
    text = flat(out)
    assert "closed" in out.splitlines()[0] or "closed" in text.split("item")[0]
    assert f"closed at 2026-11-01T00:05:00Z; sha256 {SHA}" in text  # whole, even at 80 columns
    assert "pool distributions booked in 2026-10: USD 1.234567" in text
    assert "share of 2026-09 USD 1.234567 for 7 accesses charged USD 0.07 (pool net USD 9.00)" in text
    assert (
        "distribution of 2026-09 paid out USD 8.00 (pool net USD 9.00, carried in USD 0.50, carried forward USD 1.50)"
        in text
    )
    for line in CLOSED_STATEMENT["lines"]:
        assert line["license_id"] in out  # ids whole at 80 columns


def test_an_open_statement_says_it_can_still_change(fake: Any) -> None:
    answers, _, _ = fake
    answers["/v1/statements/2026-11"] = httpx.Response(
        200, json={**CLOSED_STATEMENT, "status": "open", "closed_at": None, "sha256": None, "distributions": []}
    )
    text = flat(run("statement", "2026-11"))
    assert "open: amounts can still change until the period is closed" in text and "sha256" not in text


def test_pool_distribute_shows_each_currency_its_members_and_what_is_carried_forward(fake: Any) -> None:
    answers, _, _ = fake
    answers["/v1/pools/pool_1/distributions"] = httpx.Response(200, json=DISTRIBUTION)
    out = run("pool", "distribute", "pool_1", "2026-10")
    text = flat(out)
    assert "2026-10 distributed, booked in 2026-11 (largest remainder, ties by asset id)" in text
    assert "USD: net revenue 9.00 + carried in 0.50 = shares 8.00 + carried forward 1.50" in text
    assert "EUR: net revenue 0.0001 + carried in 0.00 = shares 0.00 + carried forward 0.0001" in text
    assert "no member asset was used under the pool's licences" in text
    lines = out.splitlines()
    at = next(n for n, line in enumerate(lines) if "ast_01jd8k3m4n5p6q7r8s9t0v1w2y" in line)
    assert lines[at].split()[1:] == ["7", "0.07", "8.00"]  # whole amounts at 80 columns
    assert lines[at + 1].split()[-2:] == ["attributed", "7.500001"] and lines[at + 2].split()[-2:] == [
        "carried",
        "0.499999",
    ]
    assert "acct_01jd8k3m4n5p6q7r8s9t0v1w5b" in out
    assert "carried forward: USD 1.50 of licence lic_01jd8k3m4n5p6q7r8s9t0v1w6c earned in 2026-10 (unattributed" in text
    assert json.loads(run("pool", "distribute", "pool_1", "2026-10", "--json")) == DISTRIBUTION


def test_pool_distribute_of_an_open_period_says_to_close_it(fake: Any) -> None:
    answers, _, _ = fake
    answers["/v1/pools/pool_1/distributions"] = problem(409, "period_open")
    out = flat(run("pool", "distribute", "pool_1", "2026-11", code=1))
    assert "period_open" in out and "imprimatur period close 2026-11" in out


def _licence(**extra: Any) -> dict[str, Any]:
    return LicenseOut.model_validate(
        {
            "id": "lic_01jd8k3m4n5p6q7r8s9t0v1w2x",
            "buyer_id": "acct_01jd8k3m4n5p6q7r8s9t0v1w7d",
            "publisher_id": "acct_01jd8k3m4n5p6q7r8s9t0v1w5b",
            "offer_id": "off_1",
            "scope": {"type": "asset", "id": "ast_01jd8k3m4n5p6q7r8s9t0v1w2y"},
            "use": "ai-input",
            "terms": {"pricing": {"model": "per_access", "amount_micros": 10_000, "currency": "USD"}},
            "terms_sha256": "0" * 64,
            "status": "active",
            "starts_at": "2026-11-01T00:00:00Z",
            "created_at": "2026-11-01T00:00:00Z",
            **extra,
        }
    ).model_dump()


def test_licences_show_the_other_party_by_name(fake: Any) -> None:
    answers, _, _ = fake
    named = _licence(buyer_name="Example AI Lab", publisher_name="Harbour Gazette")
    answers["/v1/licenses"] = httpx.Response(200, json={"items": [named], "next_cursor": None})
    assert "Harbour Gazette" in run("licenses") and "Example AI Lab" not in run("licenses")
    as_publisher = run("licenses", "--as", "publisher")
    assert "Example AI Lab" in as_publisher and "buyer" in as_publisher.splitlines()[0]
    answers[f"/v1/licenses/{named['id']}"] = httpx.Response(200, json=named)
    shown = run("license", "show", named["id"])
    assert "buyer: Example AI Lab (acct_01jd8k3m4n5p6q7r8s9t0v1w7d)" in shown
    assert "publisher: Harbour Gazette (acct_01jd8k3m4n5p6q7r8s9t0v1w5b)" in shown
    # a server without names: the ids, as before
    answers[f"/v1/licenses/{named['id']}"] = httpx.Response(200, json=_licence())
    assert "buyer: acct_01jd8k3m4n5p6q7r8s9t0v1w7d" in run("license", "show", named["id"])

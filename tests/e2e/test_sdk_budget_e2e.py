"""Issue 13, client side against the local stack: the SDK raises the typed error of each API 1.1 code, reads
``spent_micros``/``remaining_micros``, sets a cap with ``set_budget_cap``, and ``fetch_many`` stays within what the
marketplace says is left; the command line shows the same and says what to do."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from imprimatur_client import (
    BudgetBelowPrice,
    BudgetExhausted,
    CapBelowSpent,
    Client,
    LicenseCancelled,
    LicenseNotActive,
    LicenseRevoked,
    cli,
)
from typer.testing import CliRunner

from tests.e2e.helpers import eventually, publish


@pytest.fixture
def market(local_stack: dict[str, Any], new_account: Any) -> dict[str, Any]:
    """A publisher's asset with a per-access offer (USD 0.02), a flat one (USD 2.00) and a per-unit one; a buyer."""
    pub, _ = new_account("publisher")
    buyer, _ = new_account("buyer")
    title = f"Budget story {uuid.uuid4().hex[:8]}"
    asset = publish(pub, f"{title}: the harbour lights.", title=title)

    def offer(uses: list[str], **pricing: Any) -> str:
        got = pub.post("/v1/offers", json={"asset_id": asset["id"], "uses": uses, "pricing": pricing})
        assert got.status_code == 201, got.text
        return str(got.json()["id"])

    return {
        "pub": pub,
        "buyer": buyer,
        "asset": asset["id"],
        "per_access": offer(["ai-input"], model="per_access", amount_micros=20_000, currency="USD"),
        "flat": offer(["ai-train"], model="flat", amount_micros=2_000_000, currency="USD"),
        "url": local_stack["api_url"],
    }


def settled(c: Client, lic_id: str, spent: int) -> dict[str, Any]:
    lic = eventually(lambda: (got := c.get_license(lic_id))["spent_micros"] == spent and got)
    assert lic, c.get_license(lic_id)
    return dict(lic)


def test_the_sdk_counts_with_what_is_left_and_raises_typed_errors(market: dict[str, Any]) -> None:
    with Client(market["url"], market["buyer"].key) as c:
        # A licence capped at USD 0.05 on a USD 0.02 per-access offer: spent and remaining from the start
        lic = c.buy(market["per_access"], "ai-input", budget_cap_micros=50_000)["license"]
        assert (lic["spent_micros"], lic["remaining_micros"]) == (0, 50_000)
        # fetch_many asks the marketplace what is left and requests only what fits: two of five
        got = c.fetch_many([market["asset"]] * 5, "ai-input", license_id=lic["id"], concurrency=3)
        assert [r.ok for r in got] == [True, True, False, False, False] and all(r.skipped for r in got[2:])
        lic = settled(c, lic["id"], 40_000)
        assert lic["remaining_micros"] == 10_000 and lic["status"] == "active"
        # A third access would pass the cap: BudgetExhausted, nothing charged
        with pytest.raises(BudgetExhausted) as info:
            c.content(market["asset"], "ai-input", license_id=lic["id"])
        assert info.value.status == 403 and info.value.request_id
        # A cap below what was spent is refused; a higher one leaves the difference and deliveries resume
        with pytest.raises(CapBelowSpent):
            c.set_budget_cap(lic["id"], 30_000)
        raised = c.set_budget_cap(lic["id"], 100_000)
        assert (raised["budget_cap_micros"], raised["spent_micros"], raised["remaining_micros"]) == (
            100_000,
            40_000,
            60_000,
        )
        again = c.fetch_many([market["asset"]] * 4, "ai-input", license_id=lic["id"])
        assert sum(r.ok for r in again) == 3 and again[3].skipped  # 0.06 left: three at 0.02
        settled(c, lic["id"], 100_000)
        # A flat offer priced above the cap asked for is refused before anything is charged
        before = len(list(c.licenses()))
        with pytest.raises(BudgetBelowPrice):
            c.buy(market["flat"], "ai-train", budget_cap_micros=1_000_000)
        assert len(list(c.licenses())) == before
        # Usage reports on a licence not priced per unit are rejected with their code
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        event = {"event_id": f"e-{uuid.uuid4().hex}", "license_id": lic["id"], "asset_id": market["asset"]}
        report = c.report_usage([{**event, "use": "ai-input", "units": 5, "occurred_at": now}])
        assert report["accepted"] == 0 and report["rejected"] == [
            {"event_id": event["event_id"], "code": "not_unit_priced"}
        ]
        # A cancelled licence: no certificate, and delivery says why (named or not)
        c.cancel_license(lic["id"])
        with pytest.raises(LicenseNotActive):
            c.certificate(lic["id"])
        with pytest.raises(LicenseCancelled):
            c.content(market["asset"], "ai-input", license_id=lic["id"])
        with pytest.raises(LicenseCancelled):
            c.content(market["asset"], "ai-input")
        # A revoked one: LicenseRevoked, and paying per crawl does not replace it
        flat = c.buy(market["flat"], "ai-train")["license"]
        market["pub"].post(f"/v1/licenses/{flat['id']}/revoke", json={"reason": "test"})
        with pytest.raises(LicenseRevoked):
            c.content(market["asset"], "ai-train")


def test_the_cli_shows_spent_and_left_sets_a_cap_and_says_what_to_do(
    market: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMPRIMATUR_CONFIG", str(tmp_path / "config.toml"))
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli.app, ["--profile", "b", *args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return " ".join(str(result.output).split())

    runner.invoke(cli.app, ["configure", "--url", market["url"], "--key", market["buyer"].key, "--profile", "b"])
    lic = json.loads(run("buy", market["per_access"], "--use", "ai-input", "--budget", "0.03", "--json"))["license"]
    dest = tmp_path / "a.txt"
    assert "sha256 verified" in run(
        "fetch", market["asset"], "--use", "ai-input", "--license", lic["id"], "-o", str(dest)
    )
    refused = run("fetch", market["asset"], "--use", "ai-input", "--license", lic["id"], "-o", str(dest), code=1)
    assert "budget_exhausted" in refused and f"imprimatur license cap {lic['id']} AMOUNT" in refused
    with Client(market["url"], market["buyer"].key) as c:
        settled(c, lic["id"], 20_000)
    listing = run("licenses")
    assert lic["id"] in listing and "spent 0.02" in listing and "left 0.01" in listing and "cap 0.03" in listing
    shown = run("license", "show", lic["id"])
    assert "spent: USD 0.02" in shown and "left: USD 0.01" in shown and "budget cap: USD 0.03" in shown
    assert "cannot be lower than what the licence has already spent" in run("license", "cap", lic["id"], "0.01", code=1)
    capped = run("license", "cap", lic["id"], "USD 0.10")
    assert "budget cap USD 0.10 (was USD 0.03); active" in capped and "spent USD 0.02, USD 0.08 left" in capped
    assert "sha256 verified" in run(
        "fetch", market["asset"], "--use", "ai-input", "--license", lic["id"], "-o", str(dest)
    )
    low = run("buy", market["flat"], "--use", "ai-train", "--budget", "1", code=1)
    assert "budget_below_price" in low and "budget of at least its price" in low

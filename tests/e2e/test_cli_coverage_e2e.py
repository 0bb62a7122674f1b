"""Issue 18: the CLI covers the API. One scenario runs every command against the local stack and records the API
operations the SDK actually called; the test fails on any OpenAPI operation that no command called and that
``cli.EXCLUDED`` does not list with a reason. Along the way: one price syntax, no markup eating ``[...]``, whole ids
and totals at 80 columns, unwrapped certificates, and ``search`` showing only matching offers."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from imprimatur_client import cli
from imprimatur_client.certificates import decode_claims
from imprimatur_client.client import Client
from typer.testing import CliRunner

from tests.e2e.helpers import eventually

ROOT = Path(__file__).resolve().parents[2]


def _templates() -> list[tuple[str, str, re.Pattern[str]]]:
    doc = json.loads((ROOT / "functions" / "openapi.json").read_text())
    ops = []
    for path, methods in doc["paths"].items():
        rx = re.compile("^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(path)) + "$")
        ops += [(m.upper(), path, rx) for m in methods if m in ("get", "post", "put", "patch", "delete")]
    return ops


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Every 'METHOD /template' the SDK sent while the CLI ran (whatever the answer)."""
    ops = _templates()
    seen: set[str] = set()
    original = Client.request

    def spy(self: Client, method: str, path: str, **kw: Any) -> Any:
        for m, template, rx in ops:
            if m == method.upper() and rx.match(path):
                seen.add(f"{m} {template}")
        return original(self, method, path, **kw)

    monkeypatch.setattr(Client, "request", spy)
    return seen


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("IMPRIMATUR_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("IMPRIMATUR_STATE_DIR", str(tmp_path / "uploads"))
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli.app, list(args), catch_exceptions=False)
        assert result.exit_code == code, f"{args}: {result.output}"
        return str(result.stdout if code == 0 else result.output)

    return invoke


def _id(prefix: str, text: str) -> str:
    found = re.search(rf"\b({prefix}_[0-9a-z]+)", text)
    assert found, text
    return found.group(1)


def test_every_api_operation_is_run_by_a_command_or_excluded_with_a_reason(
    run: Any, recorded: set[str], tmp_path: Path, local_stack: dict[str, Any], new_account: Any
) -> None:
    api = local_stack["api_url"]
    run("configure", "--url", api, "--key", local_stack["admin_api_key"], "--profile", "admin")
    tag = f"cov{uuid.uuid4().hex[:8]}"

    def admin(*a: str, code: int = 0) -> str:
        return str(run("--profile", "admin", *a, code=code))

    pub_key = admin("account", "create", f"Pub {tag}", f"pub-{tag}@example.com", "--role", "publisher").split()[-1]
    buyer_key = admin("account", "create", f"Buyer {tag}", f"buy-{tag}@example.com", "--role", "buyer").split()[-1]
    victim = admin("account", "create", f"V {tag}", f"v-{tag}@example.com", "--role", "buyer")
    victim_id = _id("acct", victim)
    assert "suspended" in admin("account", "suspend", victim_id)
    # admin account management (API v1.1, issue 19): search, show, edit, reinstate, a key for a locked-out account
    assert victim_id in admin("accounts", "list", f"v {tag}") and victim_id in admin("accounts", "list", f"v-{tag}@")
    assert victim_id not in admin("accounts", "list", f"v {tag}", "--status", "active")
    assert "status suspended" in admin("accounts", "get", victim_id)
    edited = admin("accounts", "edit", victim_id, "--name", f"W {tag}", "--role", "buyer", "--role", "publisher")
    assert f"W {tag}" in edited and "roles buyer, publisher" in edited and "last changed" in edited
    assert "active" in admin("accounts", "reinstate", victim_id)
    assert "not_suspended" in admin("accounts", "reinstate", victim_id, code=1)
    assert admin("accounts", "issue-key", victim_id).strip().startswith("imp_")
    assert "not_pending" in admin("accounts", "approve", victim_id, code=1)  # approval is for sign-ups awaiting it
    run("configure", "--url", api, "--key", pub_key, "--profile", "pub")
    run("configure", "--url", api, "--key", buyer_key, "--profile", "buyer")

    def pub(*a: str, code: int = 0) -> str:
        return str(run("--profile", "pub", *a, code=code))

    def buyer(*a: str, code: int = 0) -> str:
        return str(run("--profile", "buyer", *a, code=code))

    # Publisher: keys, a collection, two assets (one titled with brackets), offers, RSL
    me = pub("whoami")
    pub_id = _id("acct", me)
    new_key = pub("keys", "create").strip().splitlines()[-1]
    assert new_key.startswith("imp_")
    keys = json.loads(pub("keys", "list", "--json"))
    other = next(k["key_id"] for k in keys if not new_key.startswith(k["prefix"]))
    assert len(keys) == 2 and "revoked" in pub("keys", "revoke", other) + "revoked"
    run("configure", "--url", api, "--key", new_key, "--profile", "pub")  # the old key is revoked
    col = _id("col", pub("collection", "create", f"Series {tag}", "--description", "a series"))
    assert f"Series {tag}" in pub("collection", "show", col)
    story = tmp_path / "story.md"
    story.write_text(f"# The sea wall\n{tag}\n")
    assets = json.loads(pub("publish", str(story), "--kind", "article", "--tag", tag, "--collection", col, "--json"))
    asset = assets[0]["id"]
    second = tmp_path / "second.txt"
    second.write_text("a second story\n")
    asset2 = json.loads(pub("publish", str(second), "--tag", tag, "--json"))[0]["id"]
    assert "available" in pub("asset", "complete", asset)
    pub("asset", "update", asset, "--title", f"[draft] Sea wall {tag}")
    listed = pub("asset", "list")
    assert "[draft]" in listed  # markup never eats [...]
    assert asset in listed  # ids are whole at 80 columns
    assert "[draft]" in pub("asset", "show", asset)
    assert "<rsl" in pub("asset", "rsl", asset)
    assert pub_id in pub("publisher", pub_id) and "<rsl" in pub("publisher", pub_id, "--rsl")
    assert f"display name: Gazette {tag}" in pub("profile", "--display-name", f"Gazette {tag}")
    assert "website: https://gazette.example" in pub("profile", "--website", "https://gazette.example")
    assert f"Gazette {tag}" in pub("publisher", pub_id)
    per_access = _id("off", pub("offer", "create", "--asset", asset, "--uses", "ai-input", "--price", "USD 0.01"))
    flat = _id("off", pub("offer", "create", "--asset", asset, "--uses", "ai-train", "--model", "flat", "--price", "2"))
    spare = _id("off", pub("offer", "create", "--asset", asset2, "--uses", "search", "--price", "0.5"))
    offers = pub("offer", "list", "--asset", asset)
    assert per_access in offers and flat in offers and "USD 0.01" in offers and "USD 2.00" in offers
    assert "USD 0.50" in pub("offer", "show", spare)
    assert "retired" in pub("offer", "retire", spare)
    bad = pub("offer", "create", "--asset", asset, "--price", "1,5", code=2)
    assert "--price" in bad and "USD 0.05" in bad

    # Pools (admin and publisher)
    pool = _id("pool", admin("pool", "create", f"Pool {tag}", "--description", "small publishers"))
    assert "joined" in pub("pool", "join", pool, "--asset", asset2)
    assert "member_count: 1" in admin("pool", "show", pool)
    assert "leaves pool" in pub("pool", "leave", pool, asset2)
    now = datetime.now(UTC)
    last = f"{now.year - (now.month == 1)}-{(now.month - 2) % 12 + 1:02d}"
    refused = " ".join(admin("pool", "distribute", pool, f"{now.year}-{now.month:02d}", code=1).split())
    assert "period_open" in refused and "imprimatur period close" in refused  # this month is open
    assert f"period {last} closed at" in admin("period", "close", last)
    assert f"period {last} closed at" in admin("period", "close", last)  # safe to repeat
    assert "422" in admin("period", "close", f"{now.year}-{now.month:02d}", code=1)  # not a past month
    shared = admin("pool", "distribute", pool, last)
    assert f"pool {pool}: {last} distributed, booked in {now.year}-{now.month:02d}" in " ".join(shared.split())

    # Buyer: search shows only matching offers; prices parse the same everywhere
    found = json.loads(buyer("search", "--tag", tag, "--use", "ai-input", "--max-price", "0.05", "--json"))
    assert [a["id"] for a in found] == [asset] and [o["id"] for o in found[0]["offers"]] == [per_access]
    assert "--max-price" in buyer("search", "--max-price", "abc", code=2)
    bought = buyer("buy", per_access, "--use", "ai-input", "--budget", "USD 1")
    lic = _id("lic", bought)
    token = bought.strip().splitlines()[-1]
    assert decode_claims(token)["license_id"] == lic  # printed whole, on its own line
    capped = " ".join(buyer("license", "cap", lic, "2").split())
    assert "budget cap USD 2.00 (was USD 1.00); active" in capped and "USD 2.00 left" in capped
    listing = buyer("licenses")
    assert lic in listing and "USD 0.01" in listing and "cap 2.00" in listing
    assert lic in buyer("license", "show", lic)
    cert = buyer("license", "certificate", lic)
    assert cert == cert.strip() + "\n" and "\n" not in cert.strip()  # unwrapped: `> licence.jwt` is a valid token
    (tmp_path / "licence.jwt").write_text(cert)
    assert "valid licence" in buyer("verify", str(tmp_path / "licence.jwt"))
    dest = tmp_path / "copy.md"
    assert "sha256 verified" in buyer("fetch", asset, "--use", "ai-input", "--max-price", "0.05", "-o", str(dest))
    assert dest.read_text() == story.read_text()
    assert "--max-price" in buyer("fetch", asset, "--use", "ai-input", "--max-price", "USD 0.0000001", code=2)
    events = tmp_path / "usage.jsonl"
    events.write_text(
        json.dumps(
            {
                "event_id": f"e-{tag}",
                "license_id": lic,
                "asset_id": asset,
                "use": "ai-input",
                "units": 1,
                "occurred_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),  # in term
            }
        )
        + "\n"
    )
    assert "not_unit_priced" in buyer("usage", "report", str(events))  # a per-access licence takes no reports
    assert eventually(lambda: json.loads(buyer("usage", "show", "--group-by", "license", "--json")))

    def statement_with_licence() -> str | None:
        text = buyer("statement")
        return text if lic in text else None

    st = eventually(statement_with_licence)
    total = next(line for line in st.splitlines() if "TOTAL USD" in line).split()
    assert total[-3:] == ["0.01", "0.001", "0.009"]  # the licence id and the exact totals whole at 80 columns
    assert "USD" in buyer("balance")
    assert "cancelled" in buyer("license", "cancel", lic)
    assert "cancelled" in buyer("license", "cancel", lic)  # repeating is safe
    lic2 = _id("lic", buyer("buy", flat, "--use", "ai-train", "--json"))
    assert "revoked" in pub("license", "revoke", lic2, "--reason", "test [breach]")
    assert "[breach]" in pub("license", "show", lic2, "--json")
    assert "withdrawn" in pub("asset", "withdraw", asset2)
    refused = buyer("license", "show", "lic_" + "0" * 26, code=1)
    assert "request req_" in refused  # the request id is in every error

    # Then every operation was run by a command, or is excluded with a reason
    all_ops = {f"{m} {t}" for m, t, _ in _templates()}
    missing = sorted(all_ops - recorded - set(cli.EXCLUDED))
    assert missing == [], f"operations no CLI command calls (add a command or an EXCLUDED reason): {missing}"
    assert set(cli.COVERAGE) | set(cli.EXCLUDED) == all_ops, "COVERAGE/EXCLUDED name an operation the API lacks"
    assert all(len(reason) > 20 for reason in cli.EXCLUDED.values())
    assert not (set(cli.EXCLUDED) & recorded)

"""Issue 7: the `imprimatur` command against the local stack — publisher flow (a directory with a 30 MiB file,
an interrupted and resumed multipart upload, an offer) and buyer flow (search, buy, fetch and verify, report usage,
read the statement)."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from imprimatur_client import cli
from imprimatur_client.client import Client
from typer.testing import CliRunner

from tests.e2e.helpers import eventually

MIB = 1024 * 1024


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("IMPRIMATUR_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("IMPRIMATUR_STATE_DIR", str(tmp_path / "uploads"))
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> str:
        """stdout on success; stdout and stderr together when a failure is expected."""
        result = runner.invoke(cli.app, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return str(result.stdout if code == 0 else result.output)

    return invoke


def configure(run: Any, local_stack: dict[str, Any], key: str, profile: str) -> None:
    run("configure", "--url", local_stack["api_url"], "--key", key, "--profile", profile)


def test_publisher_and_buyer_flows(
    run: Any, tmp_path: Path, local_stack: dict[str, Any], new_account: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pub, _ = new_account("publisher")
    buyer, _ = new_account("buyer")
    configure(run, local_stack, pub.key, "pub")
    configure(run, local_stack, buyer.key, "buyer")
    # Publisher: a directory with two small files and one of 30 MiB
    folder = tmp_path / "archive"
    folder.mkdir()
    (folder / "a.txt").write_text("first story about the glacier\n")
    (folder / "b.md").write_text("# Second story\nabout the glacier too\n")
    big = os.urandom(30 * MIB)
    (folder / "big.bin").write_bytes(big)
    published = json.loads(
        run("--profile", "pub", "publish", str(folder), "--kind", "dataset", "--tag", "glacier-cli", "--json")
    )
    assert {a["status"] for a in published} == {"available"} and len(published) == 3
    by_title = {a["title"]: a for a in published}
    assert by_title["big"]["size_bytes"] == 30 * MIB and by_title["big"]["sha256"] == hashlib.sha256(big).hexdigest()
    offer_out = run(
        "--profile",
        "pub",
        "offer",
        "create",
        "--asset",
        by_title["a"]["id"],
        "--uses",
        "ai-input",
        "--model",
        "per_access",
        "--price",
        "0.01",
    )
    offer_id = re.search(r"offer (off_\w+)", offer_out).group(1)  # type: ignore[union-attr]
    # Buyer: search, a 402 with advice, buy, fetch + verify, verify the certificate, report usage
    found = json.loads(run("--profile", "buyer", "search", "--tag", "glacier-cli", "--json"))
    assert {a["id"] for a in found} == {a["id"] for a in published}
    refused = run("--profile", "buyer", "fetch", by_title["a"]["id"], "--use", "ai-input", code=1)
    assert "Payment required" in refused and offer_id in refused
    bought = run("--profile", "buyer", "buy", offer_id, "--use", "ai-input")
    license_id = re.search(r"licence (lic_\w+)", bought).group(1)  # type: ignore[union-attr]
    dest = tmp_path / "a-copy.txt"
    fetched = run(
        "--profile",
        "buyer",
        "fetch",
        by_title["a"]["id"],
        "--use",
        "ai-input",
        "--license",
        license_id,
        "-o",
        str(dest),
    )
    assert "sha256 verified" in fetched and dest.read_text() == "first story about the glacier\n"
    assert "valid" in run("--profile", "buyer", "verify", license_id)
    # Usage reports go to per-unit licences only (API 1.1): one accepted, the per-access licence's event rejected
    unit_offer_out = run(
        "--profile",
        "pub",
        "offer",
        "create",
        "--asset",
        by_title["a"]["id"],
        "--uses",
        "ai-input",
        "--model",
        "per_unit",
        "--price",
        "0.001",
        "--unit",
        "1k tokens",
    )
    unit_offer = re.search(r"offer (off_\w+)", unit_offer_out).group(1)  # type: ignore[union-attr]
    unit_licence = re.search(r"licence (lic_\w+)", run("--profile", "buyer", "buy", unit_offer, "--use", "ai-input"))
    assert unit_licence
    event = {"asset_id": by_title["a"]["id"], "use": "ai-input", "units": 3, "occurred_at": _now()}
    events = tmp_path / "usage.jsonl"
    events.write_text(
        json.dumps({"event_id": "cli-1", "license_id": unit_licence.group(1), **event})
        + "\n"
        + json.dumps({"event_id": "cli-2", "license_id": license_id, **event})
        + "\n"
    )
    reported = run("--profile", "buyer", "usage", "report", str(events))
    assert "accepted 1, duplicates 0, rejected 1" in reported and "rejected cli-2: not_unit_priced (" in reported
    assert "accepted 0, duplicates 1, rejected 1" in run("--profile", "buyer", "usage", "report", str(events))
    # The statement shows the metered delivery, and the balance both charges (asynchronous: poll)
    assert eventually(lambda: "10000" in run("--profile", "buyer", "statement", "--csv"))
    assert "TOTAL" in run("--profile", "buyer", "statement")
    balance = eventually(lambda: "USD -0.013  (-13000 micros)" in run("--profile", "buyer", "balance"))
    assert balance, run("--profile", "buyer", "balance")


def test_interrupted_multipart_upload_resumes(
    run: Any, tmp_path: Path, local_stack: dict[str, Any], new_account: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pub, _ = new_account("publisher")
    data = os.urandom(40 * MIB)  # three 16 MiB parts
    f = tmp_path / "resume.bin"
    f.write_bytes(data)
    state = tmp_path / "uploads"
    client = Client(local_stack["api_url"], pub.key)
    sent: list[int] = []

    def crash_on_third(part: int) -> None:
        if part == 3:
            raise KeyboardInterrupt("connection dropped")
        sent.append(part)

    # When the first attempt dies after two parts
    with pytest.raises(KeyboardInterrupt):
        client.publish_file(f, multipart=True, state_dir=state, parallel=1, part_hook=crash_on_third)
    assert sent == [1, 2] and len(list(state.glob("upload-*.json"))) == 1
    # Then the second attempt sends only the missing part and completes
    sent.clear()
    asset = client.publish_file(f, multipart=True, state_dir=state, parallel=1, part_hook=sent.append)
    assert sent == [3] and asset["status"] == "available" and asset["sha256"] == hashlib.sha256(data).hexdigest()
    assert list(state.glob("upload-*.json")) == []


def test_clear_errors_and_exit_codes(run: Any, local_stack: dict[str, Any]) -> None:
    out = run("whoami", code=2)
    assert "Not configured" in out
    run("configure", "--url", local_stack["api_url"], "--key", "imp_" + "x" * 43)
    assert "imprimatur configure" in run("whoami", code=1)
    run("configure", "--url", "http://127.0.0.1:9", "--key", "imp_x")
    assert "Cannot reach" in run("whoami", code=4)


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

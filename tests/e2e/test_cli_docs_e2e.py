"""Issue 18: every shell example of docs/cli.md runs, as written, so the page and the CLI cannot drift.

Each line of the page's ``sh`` blocks is run by ``bash`` with the real ``imprimatur`` command, in the page's order,
against a local stack of this module's own (seeded like ``make run``: the examples revoke, withdraw, suspend and close
a month, which no other test should see). The only edits are the id placeholders: ``ast_...`` (and ``col_``, ``off_``,
``lic_``, ``pool_``, ``key_``, ``acct_``) stands for the first id of that kind printed by the last command that
creates or finds things (``publish``, ``... create``, ``buy``, ``search``); before any did, for a pool and for a
licence on the demo publisher's content made by the fixture. ``SKIPPED`` names the lines that are not run, with
why. The files the examples read are made here."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import ROOT, running_stack

DOC = ROOT / "docs" / "cli.md"
BIN = Path(sys.executable).parent
PLACEHOLDER = re.compile(r"\b(ast|col|off|lic|pool|key|acct)_\.\.\.")
ID = re.compile(r"\b(ast|col|off|lic|pool|key|acct)_[0-9a-z]{26}\b")  # whole ids only: a table must not cut one
FINDERS = ("publish", "create", "buy", "search")
SKIPPED = {
    "make run": "the test starts the same server (`python -m local.server`) itself, on free ports",
    "pip install": "installing the SDK and its extras into fresh environments is tests/sdk/test_install.py",
}


def shell_lines(doc: Path) -> list[tuple[str, str]]:
    """(heading, command) of every line of every ``sh`` block, in order (comments and blank lines dropped by bash)."""
    out, heading = [], ""
    for part in re.split(r"(^#+ [^\n]*$|^```(?:sh|bash|shell)\n.*?^```)", doc.read_text(), flags=re.M | re.S):
        if part.startswith("#"):
            heading = part.strip("# ")
        elif part.startswith("```"):
            out += [(heading, line) for line in part.split("\n")[1:-1] if line.strip() and not line.startswith("#")]
    return out


LINES = shell_lines(DOC)


def skip_reason(line: str) -> str | None:
    return next((why for prefix, why in SKIPPED.items() if line.startswith(prefix)), None)


def test_the_page_has_shell_examples_for_every_flow() -> None:
    headings = {h for h, _ in LINES}
    assert {"Set up", "Publisher flow", "Buyer flow", "Admin and keys"} <= headings
    assert len(LINES) >= 40
    for prefix in SKIPPED:  # a skip that no longer matches a line is stale
        assert any(line.startswith(prefix) for _, line in LINES), prefix
    assert all(line.startswith(("imprimatur ", "make ", "pip ")) for _, line in LINES), "a new kind of line"


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with running_stack(tmp_path_factory.mktemp("cli-docs-state")) as state:
        yield state


@pytest.fixture(scope="module")
def workdir(own_stack: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory laid out as the page assumes: `.imprimatur/local.json` from `make run`, the folders `publish`
    reads, and a usage file."""
    cwd = tmp_path_factory.mktemp("cli-docs")
    (cwd / ".imprimatur").mkdir()
    shutil.copy(Path(own_stack["log_path"]).parent / "local.json", cwd / ".imprimatur" / "local.json")
    for folder, files in {
        "archive": {"tide.md": "# Tide tables\nHigh water at six.\n", "ferry.md": "# Ferry\nThe ferry runs again.\n"},
        "series": {"part-1.md": "# The harbour wall, part one\nThe council met.\n"},
    }.items():
        (cwd / folder).mkdir()
        for name, text in files.items():
            (cwd / folder / name).write_text(text)
    return cwd


@pytest.fixture(scope="module")
def seeds(own_stack: dict[str, Any]) -> dict[str, str]:
    """Ids the page uses before any command of it printed one: a pool (the publisher joins one) and a licence on the
    demo publisher's content, held by a buyer made here (the publisher revokes it)."""
    api, admin = own_stack["api_url"], {"Authorization": f"Bearer {own_stack['admin_api_key']}"}
    pool = requests.post(f"{api}/v1/pools", json={"name": "Docs pool", "description": "d"}, headers=admin, timeout=30)
    assert pool.status_code == 201, pool.text
    gazette = next(a for a in own_stack["demo"]["accounts"] if a["name"] == "Harbour Gazette")
    me = requests.get(f"{api}/v1/me", headers={"Authorization": f"Bearer {gazette['api_key']}"}, timeout=30).json()
    found = requests.get(f"{api}/v1/catalog/assets", params={"publisher_id": me["id"], "limit": 100}, timeout=30)
    offer = next(o for a in found.json()["items"] for o in a["offers"] if o["pricing"]["model"] == "per_access")
    made = requests.post(
        f"{api}/v1/accounts",
        json={"name": "Docs reader", "email": "docs.reader@example.com", "roles": ["buyer"]},
        headers=admin,
        timeout=30,
    ).json()
    buyer = {"Authorization": f"Bearer {made['api_key']}"}
    lic = requests.post(
        f"{api}/v1/licenses", json={"offer_id": offer["id"], "use": offer["uses"][0]}, headers=buyer, timeout=30
    )
    assert lic.status_code == 201, lic.text
    return {"pool": pool.json()["id"], "lic": lic.json()["license"]["id"]}


def test_every_shell_example_runs_as_written(workdir: Path, seeds: dict[str, str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMPRIMATUR_")}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(workdir / "home"),
        IMPRIMATUR_CONFIG=str(workdir / "home" / "config.toml"),
        IMPRIMATUR_STATE_DIR=str(workdir / "home" / "uploads"),
        COLUMNS="80",
    )
    seen = dict(seeds)
    failures, ran = [], 0
    for heading, line in LINES:
        if skip_reason(line):
            continue
        if "usage report" in line:  # the page's usage file: one event on the licence just bought
            (workdir / "usage.jsonl").write_text(
                f'{{"event_id": "docs-1", "license_id": "{seen["lic"]}", "asset_id": "{seen["ast"]}", '
                f'"use": "ai-input", "units": 1, "occurred_at": "2026-11-29T12:00:00Z"}}\n'
            )
        command = PLACEHOLDER.sub(lambda m: seen.get(m.group(1), m.group(0)), line)
        got = subprocess.run(["bash", "-c", command], cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
        ran += 1
        if got.returncode != 0 or "Traceback" in got.stderr:
            failures.append(f"[{heading}] {command}\n  exit {got.returncode}: {(got.stderr or got.stdout)[-600:]}")
        words = re.sub(r"--profile \S+ ", "", line.split("#")[0]).split()
        if any(w in FINDERS for w in words[1:3]):
            printed = [ln for ln in (got.stdout + got.stderr).splitlines() if not re.fullmatch(r"\S{100,}", ln.strip())]
            for kind in ("ast", "col", "off", "lic", "pool", "key", "acct"):
                first = next((m.group(0) for ln in printed for m in ID.finditer(ln) if m.group(1) == kind), None)
                if first:
                    seen[kind] = first
    assert failures == [], "docs/cli.md examples that fail:\n" + "\n".join(failures)
    assert ran == sum(1 for _, line in LINES if not skip_reason(line))
    # What the redirections wrote is what the page says they write
    assert (workdir / "statement.csv").read_text().startswith("account_id,period,license_id,")
    assert "<rsl" in (workdir / "terms.rsl.xml").read_text()
    assert (workdir / "licence.jwt").read_text().count(".") == 2
    assert (workdir / "new.key").read_text().startswith("imp_")
    assert (workdir / "story.txt").stat().st_size > 0

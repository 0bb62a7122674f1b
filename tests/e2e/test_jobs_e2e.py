"""The explicit command that runs a scheduled job against the running local marketplace."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def test_local_jobs_command_runs_the_scheduled_handler(local_stack: dict[str, Any]) -> None:
    state_file = Path(local_stack["log_path"]).parent / "local.json"
    period = datetime.now(UTC).strftime("%Y-%m")
    out = subprocess.run(
        [sys.executable, "-m", "local.jobs", "renew_subscriptions", "--state-file", str(state_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["job"] == "renew_subscriptions"
    out = subprocess.run(
        [sys.executable, "-m", "local.jobs", "pool_distributions", "--period", period, "--state-file", str(state_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["period"] == period


def test_local_jobs_command_runs_the_scheduled_ledger_auditor(local_stack: dict[str, Any]) -> None:
    # Given the schedule that runs the ledger auditor (its own function, not metering_jobs)
    state_file = Path(local_stack["log_path"]).parent / "local.json"
    out = subprocess.run(
        [sys.executable, "-m", "local.jobs", "ledger_audit", "--state-file", str(state_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    # Then it prints the EMF metric it publishes, then its result: what it read and found
    emf = [json.loads(line) for line in out.stdout.splitlines() if line.startswith('{"_aws"')]
    assert [doc["service"] for doc in emf] == ["ledger_audit"] and "LedgerViolations" in emf[0]
    result = json.loads(out.stdout[out.stdout.index("{\n") :])
    assert result["violations"] == 0 and result["not_checked"] == {}
    assert set(result["by_invariant"]) == {"zero_sum", "balance", "cap", "pool", "closed_statement"}

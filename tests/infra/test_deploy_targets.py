"""Issue 17: `make bootstrap` runs `cdk bootstrap`, and `make deploy` works without a terminal (the approval level is a
variable: CI passes APPROVAL=never; the default asks for security-relevant changes)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def dry_run(*args: str) -> str:
    """What make would run (``make -n``: nothing is executed)."""
    out = subprocess.run(["make", "-n", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_bootstrap_runs_cdk_bootstrap() -> None:
    assert any(line.split()[-1:] == ["bootstrap"] and "aws-cdk@" in line for line in dry_run("bootstrap").splitlines())


def test_deploy_asks_by_default_and_never_when_told() -> None:
    default = [line for line in dry_run("deploy").splitlines() if " deploy " in line]
    assert default and all("--require-approval broadening" in line for line in default)
    unattended = [line for line in dry_run("deploy", "APPROVAL=never").splitlines() if " deploy " in line]
    assert unattended and all("--require-approval never" in line for line in unattended)
    staged = [line for line in dry_run("deploy", "STAGE=dev").splitlines() if " deploy " in line]
    assert staged and staged[-1].endswith("Imprimatur-dev")

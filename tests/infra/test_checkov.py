"""Issue 17, section 7: checkov runs in `make test` from its own virtual environment, at the version infra/checkov.py
names, and every skipped check has its reason. (The run itself is `make checkov`: about 25 s plus a synth.)"""

from __future__ import annotations

import re
from pathlib import Path

from infra.checkov import BUDGET_S, CHECKOV, CHECKOV_VERSION, SKIPPED

MAKEFILE = (Path(__file__).parents[2] / "Makefile").read_text()


def test_make_test_runs_checkov_from_its_own_venv_at_the_pinned_version() -> None:
    assert re.search(r"^test: .*\bcheckov\b", MAKEFILE, re.M)
    assert re.search(rf"^CHECKOV_VERSION\s*:=\s*{re.escape(CHECKOV_VERSION)}$", MAKEFILE, re.M)
    assert "checkov==$(CHECKOV_VERSION)" in MAKEFILE and str(CHECKOV).startswith(".venv-checkov/")
    assert "checkov" not in (Path(__file__).parents[2] / "pyproject.toml").read_text()  # never in moto's venv


def test_every_skipped_check_has_a_reason_and_the_run_a_budget() -> None:
    assert SKIPPED
    for check, reason in SKIPPED.items():
        assert re.fullmatch(r"CKV_AWS_\d+", check) and len(reason) >= 60, check
    assert 0 < BUDGET_S <= 300

"""Issue 14: the metering DAL owns its keys. No handler or logic module spells a metering table key."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3] / "functions" / "metering"
KEY = re.compile(r"\b(BAL|STMT|STMTIDX|STMTCLOSE|DIST|DISTM|EVT|CHG|RPT|SPEND|USAGE|POOLREV|POOLIDX|CARRY|PERIOD)#")


def test_no_handler_or_logic_module_builds_a_metering_key() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for folder in ("handlers", "logic")
        for path in sorted((ROOT / folder).glob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if KEY.search(line.split("#", 1)[0] if line.lstrip().startswith("#") else line)
        and not line.lstrip().startswith(("#", '"""'))
    ]
    assert offenders == []

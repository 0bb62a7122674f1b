"""The curl example of docs/api.md ("Examples") runs as written against a real local stack (issue 15, item 6)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def example_script() -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("\n## Examples\n", 1)[1]
    (script,) = re.findall(r"^```sh\n(.*?)^```", section.split("\n## ", 1)[0], flags=re.M | re.S)
    return str(script)


@pytest.mark.skipif(not (shutil.which("jq") and shutil.which("curl")), reason="needs jq and curl")
def test_the_curl_example_of_docs_api_md_runs(local_stack: dict[str, Any], tmp_path: Path) -> None:
    # Given the example, pointed at this stack and its state file, with e-mails no other test uses
    state_file = Path(local_stack["log_path"]).parent / "local.json"
    script = example_script()
    assert "API=http://127.0.0.1:8080\n" in script and ".imprimatur/local.json" in script
    ns = time.time_ns()
    script = (
        script.replace("API=http://127.0.0.1:8080", f"API={local_stack['api_url']}")
        .replace(".imprimatur/local.json", str(state_file))
        .replace("@planet.example", f"-{ns}@planet.example")
        .replace("@lab.example", f"-{ns}@lab.example")
    )
    money = script.index("# seconds later: the money")
    script = "set -eu\n" + script[:money] + 'echo "PUBLISHER_KEY=$PUB"\n'

    # When it runs as written
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)

    # Then every step answered what its comment says: the upload verified, a 402 naming the price, a licence, and a
    # pay-per-crawl delivery that says what it charged
    out = done.stdout
    assert done.returncode == 0, done.stderr
    assert '"status":"available"' in out
    assert "HTTP/1.1 402" in out and "crawler-price: USD 0.010000" in out
    assert '"certificate":' in out
    assert "HTTP/1.1 200" in out and "crawler-charged: USD 0.010000" in out
    # and the publisher's balance becomes what the comment promises: two accesses of USD 0.01 less the 10 % fee
    key = out.rsplit("PUBLISHER_KEY=", 1)[1].strip()
    balance: dict[str, Any] = {}
    for _ in range(60):
        balance = httpx.get(
            f"{local_stack['api_url']}/v1/balance", headers={"Authorization": f"Bearer {key}"}, timeout=10
        ).json()
        if balance.get("balance_micros") == 18000:
            break
        time.sleep(0.5)
    assert balance["balance_micros"] == 18000, json.dumps(balance)
    assert "# +18000 micros" in example_script()

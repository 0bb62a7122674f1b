"""The local stack, started exactly as ``make run`` starts it (``python -m local.server``), on free ports,
once per test session; every e2e test talks to it over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


class Http:
    """A requests session bound to the local API, optionally with a key."""

    def __init__(self, base: str, key: str | None = None) -> None:
        self.base, self.key = base, key
        self.s = requests.Session()

    def as_(self, key: str | None) -> Http:
        return Http(self.base, key)

    def request(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = dict(kw.pop("headers", {}) or {})
        if self.key:
            headers.setdefault("Authorization", f"Bearer {self.key}")
        return self.s.request(method, self.base + path, headers=headers, timeout=60, **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> requests.Response:
        return self.request("POST", path, json={} if json is None else json, **kw)

    def patch(self, path: str, json: Any = None, **kw: Any) -> requests.Response:
        return self.request("PATCH", path, json=json, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.request("DELETE", path, **kw)


@contextmanager
def running_stack(state_dir: Path, *, seed: bool = True, args: tuple[str, ...] = ()) -> Iterator[dict[str, Any]]:
    """A local stack started as ``make run`` starts it, on free ports, with its state in ``state_dir``; yields the
    state file's contents (``api_url``, ``admin_api_key``, ``demo``) plus ``log_path`` and ``server_pid``."""
    log_path = state_dir / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONUNBUFFERED"] = "1"
    cmd = [
        sys.executable,
        "-m",
        "local.server",
        "--port",
        "0",
        "--moto-port",
        "0",
        "--state-dir",
        str(state_dir),
        "--job-interval",
        "3600",
    ]
    if not seed:
        cmd.append("--no-seed")
    cmd.extend(args)  # e.g. the sign-up options of local.server
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            state_file = state_dir / "local.json"
            deadline = time.time() + 180
            while not state_file.exists():
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"local stack did not start:\n{log_path.read_text()[-4000:]}")
                time.sleep(0.2)
            state = json.loads(state_file.read_text())
            state["log_path"] = str(log_path)
            state["server_pid"] = proc.pid
            yield state
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    seed = os.environ.get("IMPRIMATUR_E2E_SEED", "1") == "1"
    with running_stack(tmp_path_factory.mktemp("imprimatur-state"), seed=seed) as state:
        yield state


@pytest.fixture(scope="session")
def http(local_stack: dict[str, Any]) -> Http:
    return Http(local_stack["api_url"])


@pytest.fixture(scope="session")
def http_admin(local_stack: dict[str, Any]) -> Http:
    return Http(local_stack["api_url"], local_stack["admin_api_key"])


@pytest.fixture(scope="session")
def new_account(http_admin: Http) -> Any:
    """Factory: create an account with roles through the API; returns (Http with its key, account)."""
    counter = {"n": 0}

    def make(*roles: str, name: str | None = None) -> tuple[Http, dict[str, Any]]:
        counter["n"] += 1
        email = f"e2e-{os.getpid()}-{counter['n']}-{time.time_ns()}@example.com"
        r = http_admin.post(
            "/v1/accounts", json={"name": name or email, "email": email, "roles": list(roles) or ["buyer"]}
        )
        assert r.status_code == 201, r.text
        return http_admin.as_(r.json()["api_key"]), r.json()["account"]

    return make


# ----------------------------------------------------------------------------------- the session's last check
@pytest.fixture(autouse=True)
def _audit_the_ledger_at_the_end(request: pytest.FixtureRequest) -> None:
    """A test on the session's server also takes ``ledger_audit`` (set up after the server, so torn down before it)."""
    if "local_stack" in request.fixturenames:
        request.getfixturevalue("ledger_audit")


@pytest.fixture(scope="session")
def ledger_audit(local_stack: dict[str, Any]) -> Iterator[None]:
    """At the end of the session, ``make audit`` against what every e2e test left on the server (issue 14): the money
    invariants must hold; any violation fails the session with the auditor's report."""
    yield
    state_file = Path(local_stack["log_path"]).parent / "local.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    got = subprocess.run(
        [sys.executable, "-m", "functions.metering.audit_cli", "--state-file", str(state_file)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if got.returncode != 0:
        pytest.fail(
            f"make audit against the e2e server's ledger failed (exit {got.returncode}):\n"
            f"{got.stdout[-12000:]}{got.stderr[-4000:]}",
            pytrace=False,
        )

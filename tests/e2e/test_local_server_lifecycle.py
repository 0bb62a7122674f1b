"""`make run` stops cleanly on Ctrl-C (SIGINT), with exit code 0, and honours its port options."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def test_server_serves_then_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "local.server",
            "--port",
            "0",
            "--moto-port",
            "0",
            "--no-seed",
            "--state-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.time() + 120
        while not (tmp_path / "local.json").exists():
            assert proc.poll() is None and time.time() < deadline, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.2)
        state = json.loads((tmp_path / "local.json").read_text())
        assert set(state) >= {"api_url", "s3_endpoint", "admin_api_key"}
        assert requests.get(state["api_url"] + "/v1/health", timeout=10).json()["status"] == "ok"
        # When the user presses Ctrl-C
        proc.send_signal(signal.SIGINT)
        # Then it shuts down by itself, cleanly
        assert proc.wait(timeout=30) == 0
        out = proc.stdout.read() if proc.stdout else ""
        assert "stopping" in out and "Traceback" not in out
    finally:
        if proc.poll() is None:
            proc.kill()

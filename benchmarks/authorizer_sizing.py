"""Authoriser sizing (issue 17): a cold import of the authoriser module in a fresh interpreter, and warm
authorisations against the embedded DynamoDB (moto in-process). Prints the figures docs/performance.md quotes.

    .venv/bin/python -m benchmarks.authorizer_sizing
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

COLD = (
    "import time; c=time.process_time(); t=time.perf_counter()\n"
    "import functions.accounts.handlers.authorizer\n"
    "ci=time.process_time(); ti=time.perf_counter()\n"
    "from functions.shared import aws; aws.client('dynamodb')\n"
    "print((ti-t)*1000, (ci-c)*1000, (time.perf_counter()-t)*1000, (time.process_time()-c)*1000)"
)
BASE = (
    "import time; c=time.process_time(); t=time.perf_counter()\n"
    "import boto3; boto3.client('dynamodb')\n"
    "print(0, 0, (time.perf_counter()-t)*1000, (time.process_time()-c)*1000)"
)
ENV = {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}


def cold(code: str, n: int = 7) -> dict[str, float]:
    """Medians over ``n`` fresh interpreters: the module import (init phase) and import + the DynamoDB client
    (everything a first authorisation does before its two reads), wall and CPU milliseconds."""
    import os

    rows = []
    for _ in range(n):
        got = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ, **ENV}
        )
        rows.append([float(x) for x in got.stdout.split()])
    names = ("import_wall_ms", "import_cpu_ms", "with_client_wall_ms", "with_client_cpu_ms")
    return {k: round(statistics.median(r[i] for r in rows), 1) for i, k in enumerate(names)}


def warm_authorisations(n: int = 200) -> dict[str, float]:
    from tests.fixtures import embedded_aws  # the same embedded AWS as the tests

    with embedded_aws() as env:
        from functions.accounts.handlers import authorizer
        from local.events import authorizer_event
        from local.server import ensure_admin

        key = ensure_admin(env, None)  # type: ignore[arg-type]
        ev = authorizer_event("GET /v1/me", "/v1/me", {"authorization": f"Bearer {key}"})
        bad = authorizer_event("GET /v1/me", "/v1/me", {"authorization": "Bearer imp_" + "x" * 43})
        assert authorizer.handler(ev, None)["isAuthorized"] and not authorizer.handler(bad, None)["isAuthorized"]
        cpu, wall = [], []
        for _ in range(n):
            c0, w0 = time.process_time(), time.perf_counter()
            authorizer.handler(ev, None)
            cpu.append((time.process_time() - c0) * 1000)
            wall.append((time.perf_counter() - w0) * 1000)
        return {"cpu_ms_median": statistics.median(cpu), "wall_ms_median": statistics.median(wall), "n": n}


def main() -> None:
    print(json.dumps({"authoriser": cold(COLD), "bare_boto3": cold(BASE), "warm": warm_authorisations()}))


if __name__ == "__main__":
    main()

"""P2: each handler's cold import against a bare ``import boto3`` plus the same clients, side by side.

Each sample is a fresh interpreter (``python -c``). For a handler we time *import the handler module and create the
clients it uses on its first request*; the baseline times *import boto3 and create the same clients*. Interpreter
start-up (``python -c pass``) is subtracted from both. Samples alternate handler / baseline so background load hits
both alike; the median of N is reported.

    python -m benchmarks.cold_start          # prints the table
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from typing import Any

from infra.definitions import FUNCTIONS

# Clients each function creates on its first request (what the baseline must also create).
CLIENTS: dict[str, tuple[str, ...]] = {
    "authorizer": ("dynamodb",),
    "accounts": ("dynamodb",),
    "catalog": ("dynamodb", "s3"),
    "verifier": ("dynamodb", "s3"),
    "licensing": ("dynamodb", "kms", "sqs"),
    "delivery": ("dynamodb", "s3", "sqs"),
    "metering": ("dynamodb", "sqs"),
    "metering_consumer": ("dynamodb", "s3"),
    "metering_jobs": ("dynamodb",),
}
TARGET_RATIO = 1.5
ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "x",
    "AWS_SECRET_ACCESS_KEY": "x",
    "PYTHONDONTWRITEBYTECODE": "1",
}


def _time(code: str) -> float:
    import os

    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, **ENV})
    return time.perf_counter() - start


def _clients_code(clients: tuple[str, ...], via_shared: bool) -> str:
    if via_shared:
        return "from functions.shared import aws\n" + "".join(f"aws.client({c!r})\n" for c in clients)
    return "import boto3\n" + "".join(f"boto3.client({c!r})\n" for c in clients)


def measure(function: str, samples: int = 7) -> dict[str, Any]:
    module = FUNCTIONS[function].handler.rpartition(".")[0]
    clients = CLIENTS.get(function, ("dynamodb",))
    handler_code = f"import {module}\n" + _clients_code(clients, via_shared=True)
    base_code = _clients_code(clients, via_shared=False)
    h, b, e = [], [], []
    for _ in range(samples):
        e.append(_time("pass"))
        h.append(_time(handler_code))
        b.append(_time(base_code))
    empty = statistics.median(e)
    handler_ms = (statistics.median(h) - empty) * 1000
    base_ms = (statistics.median(b) - empty) * 1000
    return {
        "function": function,
        "handler_ms": round(handler_ms),
        "baseline_ms": round(base_ms),
        "ratio": round(handler_ms / base_ms, 2),
        "clients": list(clients),
    }


def run(samples: int = 7) -> list[dict[str, Any]]:
    rows = []
    for name in FUNCTIONS:
        module = FUNCTIONS[name].handler.rpartition(".")[0]
        try:
            __import__(module)
        except ModuleNotFoundError:
            continue
        m = measure(name, samples)
        rows.append(
            {
                "target": "P2",
                "metric": f"cold import {name} ({'+'.join(m['clients'])})",
                "value": m["ratio"],
                "unit": f"× baseline ({m['handler_ms']} ms vs {m['baseline_ms']} ms)",
                "limit": f"≤ {TARGET_RATIO}",
                "met": m["ratio"] <= TARGET_RATIO,
            }
        )
    return rows


if __name__ == "__main__":
    for row in run():
        print(
            f"{row['target']}  {row['metric']:<55} {row['value']:>6} {row['unit']}  {'met' if row['met'] else 'NOT met'}"
        )

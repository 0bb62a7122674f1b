"""P2: each handler's cold import against a bare ``import boto3`` plus the same clients, side by side.

Each sample is a fresh interpreter (``python -c``). For a handler we time *import the handler module and create the
clients it uses on its first request*; the baseline times *import boto3 and create the same clients*. Interpreter
start-up (``python -c pass``) is subtracted from both. Samples alternate handler / baseline so background load hits
both alike; the median of N is reported. Wall time is the target's figure; the CPU time of each child (user + system,
``os.wait4``) is printed beside it, because on a shared machine wall time also counts waiting for a core.

    python -m benchmarks.cold_start                              # prints the table (all functions, 7 samples)
    python -m benchmarks.cold_start accounts catalog --samples 9 # some functions
    python -m benchmarks.cold_start --attribution accounts       # where a handler's import time goes (in-process)
"""

from __future__ import annotations

import argparse
import os
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
    "licensing_outbox": ("dynamodb", "sqs"),
    "delivery": ("dynamodb", "s3", "kinesis"),
    "metering": ("dynamodb", "sqs"),
    "metering_consumer": ("dynamodb", "s3"),
    "metering_stream": ("dynamodb", "s3"),
    "metering_jobs": ("dynamodb",),
}
TARGET_RATIO = 1.5
ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "x",
    "AWS_SECRET_ACCESS_KEY": "x",
    "PYTHONDONTWRITEBYTECODE": "1",
}


def _time(code: str) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of a fresh interpreter running ``code``."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, **ENV})
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise subprocess.CalledProcessError(child.returncode, code)
    return wall, usage.ru_utime + usage.ru_stime


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

    def ms(runs: list[tuple[float, float]], i: int) -> float:
        return (statistics.median(r[i] for r in runs) - statistics.median(r[i] for r in e)) * 1000

    handler_ms, base_ms = ms(h, 0), ms(b, 0)
    handler_cpu, base_cpu = ms(h, 1), ms(b, 1)
    return {
        "function": function,
        "handler_ms": round(handler_ms),
        "baseline_ms": round(base_ms),
        "ratio": round(handler_ms / base_ms, 2),
        "handler_cpu_ms": round(handler_cpu),
        "baseline_cpu_ms": round(base_cpu),
        "cpu_ratio": round(handler_cpu / base_cpu, 2),
        "clients": list(clients),
    }


def run(samples: int = 7, functions: list[str] | None = None) -> list[dict[str, Any]]:
    rows = []
    for name in functions or FUNCTIONS:
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
                "unit": f"× baseline ({m['handler_ms']} ms vs {m['baseline_ms']} ms; CPU {m['cpu_ratio']}×)",
                "limit": f"≤ {TARGET_RATIO}",
                "met": m["ratio"] <= TARGET_RATIO,
            }
        )
    return rows


# What an API handler's import is made of, in the order it is paid: each step imports on top of the previous ones, so
# a step's time is what it adds (a module already imported by an earlier step costs nothing again).
STEPS: tuple[tuple[str, str], ...] = (
    ("Powertools Logger", "from aws_lambda_powertools import Logger"),
    ("pydantic BaseModel", "from pydantic import BaseModel"),
    ("Powertools batch", "import aws_lambda_powertools.utilities.batch"),
    ("Powertools event handler", "import aws_lambda_powertools.event_handler"),
    (
        "request validation",
        "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver\n"
        "APIGatewayHttpResolver(enable_validation=True)\n"
        "import aws_lambda_powertools.event_handler.openapi.params",
    ),
)


def attribution(function: str, samples: int = 7) -> list[tuple[str, float, float]]:
    """(step, min, median) CPU milliseconds of each step of a handler's cold import, in fresh interpreters: boto3
    and the clients, the frameworks the handler uses (``STEPS``), then the handler module itself (its own code and
    models). In-process ``time.process_time``, so interpreter start-up is not in it; min is the least disturbed."""
    module = FUNCTIONS[function].handler.rpartition(".")[0]
    clients = CLIENTS.get(function, ("dynamodb",))
    probe = f"import sys\nimport {module}\nprint(' '.join(sys.modules))"
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", probe], check=True, capture_output=True, text=True, env={**os.environ, **ENV}
        ).stdout.split()
    )
    used = {
        "Powertools batch": "aws_lambda_powertools.utilities.batch" in loaded,
        "Powertools event handler": "aws_lambda_powertools.event_handler.api_gateway" in loaded,
        "request validation": "aws_lambda_powertools.event_handler.middlewares.openapi_validation" in loaded,
    }
    steps = [("boto3 + " + "+".join(clients), "import boto3\n" + "".join(f"boto3.client({c!r})\n" for c in clients))]
    steps += [(name, code) for name, code in STEPS if used.get(name, True)]
    steps.append((f"{module} (own code, models)", f"import {module}"))
    lines = ["import time", "t = []"]
    for _, code in steps:
        body = "\n".join(f"    {line}" for line in code.splitlines())
        lines += ["s = time.process_time()", "if True:", body, "t.append(time.process_time() - s)"]
    lines.append("print(' '.join(str(x) for x in t))")
    script = "\n".join(lines)
    runs = []
    for _ in range(samples):
        out = subprocess.run(
            [sys.executable, "-c", script], check=True, capture_output=True, text=True, env={**os.environ, **ENV}
        ).stdout
        runs.append([float(x) * 1000 for x in out.split()])
    return [(name, min(r[i] for r in runs), statistics.median(r[i] for r in runs)) for i, (name, _) in enumerate(steps)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("functions", nargs="*", help=f"default: every function ({', '.join(FUNCTIONS)})")
    parser.add_argument("--samples", type=int, default=7)
    parser.add_argument("--attribution", action="store_true", help="CPU per import step instead of the P2 table")
    args = parser.parse_args(argv)
    unknown = [f for f in args.functions if f not in FUNCTIONS]
    if unknown:
        parser.error(f"unknown functions {unknown}")
    if args.attribution:
        for name in args.functions or FUNCTIONS:
            steps = attribution(name, args.samples)
            base = steps[0][1]
            print(f"{name}: CPU ms, min / median of {args.samples}; baseline (first line) = 1.00×")
            for step, low, mid in steps:
                print(f"  {step:<55} {low:6.0f} / {mid:6.0f}   +{low / base:.2f}×")
            total = sum(low for _, low, _ in steps)
            print(f"  {'total (min)':<55} {total:6.0f}            {total / base:.2f}×")
        return
    for row in run(args.samples, args.functions or None):
        print(
            f"{row['target']}  {row['metric']:<55} {row['value']:>6} {row['unit']}  {'met' if row['met'] else 'NOT met'}",
            flush=True,
        )


if __name__ == "__main__":
    main()

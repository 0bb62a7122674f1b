"""Run a scheduled job now, against the marketplace started by ``make run``:

    .venv/bin/python -m local.jobs renew_subscriptions
    .venv/bin/python -m local.jobs monthly_close --period 2026-11
    .venv/bin/python -m local.jobs pool_distributions --period 2026-11
    .venv/bin/python -m local.jobs ledger_audit     # the scheduled auditor (``make audit`` prints its findings)
    .venv/bin/python -m local.jobs delivery_copies  # the delivery copies' repair (on the verifier)

It runs the same handler EventBridge Scheduler invokes in the cloud (the schedule's function: ``metering_jobs``, or
``ledger_audit``), against the embedded AWS named in ``.imprimatur/local.json``; queued charges are then metered by the
running server's dispatcher.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from infra.definitions import FUNCTIONS, SCHEDULES


def main(argv: list[str] | None = None) -> int:
    jobs = sorted(p["job"] for _, _, p in SCHEDULES.values())
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("job", choices=jobs)
    p.add_argument("--period", help="YYYY-MM (default: the previous month)")
    p.add_argument("--state-file", default=".imprimatur/local.json")
    args = p.parse_args(argv)
    state = json.loads(Path(args.state_file).read_text())
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": state.get("region", "us-east-1"),
            "AWS_ENDPOINT_URL": state["s3_endpoint"],
            **state["resources"],
        }
    )
    from functions.shared import clock

    clock.set_offset(float(state.get("clock_offset_s") or 0))  # the server's clock (POST /local/clock)
    import importlib

    from local.events import LambdaContext

    (function,) = {f for f, _, payload in SCHEDULES.values() if payload["job"] == args.job}
    module, _, attr = FUNCTIONS[function].handler.rpartition(".")
    handler = getattr(importlib.import_module(module), attr)
    event = {"job": args.job, **({"period": args.period} if args.period else {})}
    print(json.dumps(handler(event, LambdaContext(function_name=function)), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

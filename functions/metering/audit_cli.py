"""``make audit``: check the money invariants of the ledger (API v1.1) and exit non-zero on any violation.

    make audit                         # against `make run` (reads .imprimatur/local.json)
    make audit STACK=Imprimatur-dev    # against a deployed stack, with your AWS credentials
    python -m functions.metering.audit_cli --state-file path/to/local.json
    python -m functions.metering.audit_cli --stack Imprimatur --segments 8

The invariants (functions.metering.logic.audit): every transaction sums to zero; every balance equals the sum of its
postings; spent <= cap for every capped licence; every pool distribution conserves its net per currency; every closed
statement still hashes to its sha256. Each violation is printed with the record that breaks it, then a one-line
summary. The tables are scanned (read only); a pass that finds violations is repeated and only what both passes
found is reported, so writes landing during the scan of a running marketplace are not mistaken for corruption.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TextIO

METERING_OUTPUT = "MeteringTableName"  # infra.constants.Outputs.table_name("metering")
LICENSING_OUTPUT = "LicensingTableName"


def _local_tables(state_file: Path) -> tuple[str, str]:
    state = json.loads(state_file.read_text())
    resources = state["resources"]
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": state.get("region", "us-east-1"),
            "AWS_ENDPOINT_URL": state["s3_endpoint"],
        }
    )
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    return resources["METERING_TABLE"], resources["LICENSING_TABLE"]


def _stack_tables(stack: str) -> tuple[str, str]:
    from functions.shared import aws

    got = aws.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in got.get("Outputs", [])}
    missing = [k for k in (METERING_OUTPUT, LICENSING_OUTPUT) if k not in outputs]
    if missing:
        raise SystemExit(f"stack {stack} has no {', '.join(missing)} output")
    return outputs[METERING_OUTPUT], outputs[LICENSING_OUTPUT]


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = p.add_mutually_exclusive_group()
    where.add_argument("--state-file", default=".imprimatur/local.json", help="the local stack's state (make run)")
    where.add_argument("--stack", help="a deployed CloudFormation stack (table names from its outputs)")
    p.add_argument("--metering-table", help="metering table name (instead of the state file or stack outputs)")
    p.add_argument("--licensing-table", help="licensing table name (with --metering-table)")
    p.add_argument("--segments", type=int, default=4, help="parallel scan segments per table")
    p.add_argument("--no-confirm", action="store_true", help="report the first pass (no second pass to confirm)")
    p.add_argument("--max-shown", type=int, default=50, help="print at most this many violations in full")
    args = p.parse_args(argv)

    if args.metering_table and args.licensing_table:
        metering, licensing = args.metering_table, args.licensing_table
    elif args.stack:
        metering, licensing = _stack_tables(args.stack)
    else:
        state_file = Path(args.state_file)
        if not state_file.is_file():
            print(f"{state_file} not found: start the marketplace with `make run`, or pass STACK=...", file=out)
            return 2
        metering, licensing = _local_tables(state_file)

    from functions.metering.dal.audit import fetch, ledger_records
    from functions.metering.logic.audit import run

    report = run(lambda: ledger_records(metering, licensing, segments=args.segments), confirm=not args.no_confirm)
    for n, v in enumerate(report.violations):
        print(f"VIOLATION {v.line()}", file=out)
        if n < args.max_shown:
            record = fetch(metering, licensing, v.pk, v.sk) if v.pk else None
            print(f"  record {json.dumps(record, sort_keys=True, default=str)}", file=out)
    print(report.summary(), file=out)
    return 1 if report.violations else 0


if __name__ == "__main__":
    raise SystemExit(main())

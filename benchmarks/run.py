"""``make bench``: every P target of ARCHITECTURE.md side by side in one run, written as a table to
``benchmarks/results/latest.md`` and ``latest.json``.

    make bench                           # BENCH_DELIVERIES=10000 by default
    BENCH_DELIVERIES=2000 make bench     # quicker
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import cold_start, cost, embedded, hotpath, x402_side_by_side
from benchmarks.harness import Harness, moto_server
from local.motoserver import running

RESULTS = Path(__file__).resolve().parent / "results"


def row(target: str, metric: str, value: Any, unit: str, limit: str, met: bool | None) -> dict[str, Any]:
    return {"target": target, "metric": metric, "value": value, "unit": unit, "limit": limit, "met": met}


P4_LIMIT_USD = 2.00
"""Issue 16's target per million named-licence deliveries (v1's was 3.00), gating: the on-demand total and the
provisioned one fail the run above it. Met since the content GET is an S3 Express One Zone GET of the delivery copy
(docs/performance.md, "The cost of a delivery"). Crawl-shaped traffic (each delivery a different asset) is reported
against it, not gated: per-asset aggregates are written in the metering transaction (the roll-up plan in
docs/performance.md)."""
GATED_TARGETS = ("P1", "P3", "13", "P4")
"""Rows of these targets with a limit fail the run when unmet, with the embedded-mode scale rows (P5) and P2 as
``P2_EXCEPTIONS`` says."""
P2_LIMIT = 1.5
P2_EXCEPTIONS: dict[str, tuple[float, str]] = {
    # function: (the ratio above which the run fails, why it may exceed 1.5x). The measured cost of each framework
    # step is in docs/performance.md ("Why P2 is not met ..."): the house style's Powertools resolver, validation,
    # BatchProcessor and pydantic add 0.45-0.75x before any line of ours, and this machine's noise is up to 0.4x.
    "accounts": (2.4, "API handler: Powertools resolver + validation + pydantic + Logger, 0.55-0.75x"),
    "catalog": (2.4, "API handler: Powertools resolver + validation + pydantic + Logger, 0.55-0.75x"),
    "licensing": (2.4, "API handler: Powertools resolver + validation + pydantic + Logger, 0.55-0.75x"),
    "metering": (2.4, "API handler: Powertools resolver + validation + pydantic + Logger, 0.55-0.75x"),
    "licensing_consumer": (2.3, "SQS consumer: BatchProcessor + pydantic + Logger, 0.45-0.65x"),
    "metering_consumer": (2.3, "SQS consumer: BatchProcessor + pydantic + Logger, 0.45-0.65x (1.35-2.13x measured)"),
    "verifier": (2.3, "SQS consumer: BatchProcessor + pydantic + Logger, 0.45-0.65x (1.41-1.87x measured)"),
    "metering_jobs": (2.3, "scheduled jobs: pydantic models and Logger, 0.3-0.45x (1.24-1.85x measured)"),
    "ledger_audit": (2.2, "auditor: pydantic models and Logger, 0.3-0.4x (1.36-1.65x measured)"),
    "authorizer": (2.0, "pydantic through the accounts store's domain models, about 0.2x (1.07-1.72x measured)"),
    "metering_stream": (2.0, "pydantic through its environment and the metering store's models (1.23-1.45x measured)"),
    "licensing_outbox": (2.0, "Powertools Logger and pydantic through the licensing store (1.22-1.37x measured)"),
}
"""P2 rows keep their limit (1.5x) and say whether they met it; the run fails when a function without an exception is
above 1.5x, or one with an exception is above its ceiling (a regression well outside the frameworks' measured share
and the noise). Gated strictly: the delivery, which loads neither Powertools nor pydantic (0.94-1.27x measured)."""


def p2_gate_failures(rows: list[dict[str, Any]]) -> list[str]:
    """The P2 rows that fail the run: above 1.5x without an exception, or above their exception's ceiling."""
    out = []
    for r in rows:
        if r["target"] != "P2" or not isinstance(r["value"], int | float):
            continue
        name = r["metric"].removeprefix("cold import ").split(" ")[0]
        ceiling = P2_EXCEPTIONS.get(name, (P2_LIMIT, ""))[0]
        if r["value"] > ceiling:
            out.append(f"{r['metric']} {r['value']}x > {ceiling}x")
    return out


def main() -> int:
    started = time.time()
    rows: list[dict[str, Any]] = []
    n = hotpath.n_deliveries()
    print(f"measuring with {n} deliveries (moto server in a separate process)...", flush=True)
    with moto_server() as endpoint:
        h = Harness(endpoint)
        s = h.scenario()
        routes = hotpath.calls_per_route(h, s)
        profile = hotpath.delivery_profile(h, s, 300)
        consumer = hotpath.deliveries_and_consumer(h, s, min(n, 1000))
        capped = hotpath.capped_deliveries(h, s)
        crawl = hotpath.crawl_consumer(h, s)  # the consumer's writes when each delivery is a different asset
        print("x402 side by side (report rows; about 25 s)...", flush=True)
        x402_rows, x402_raw = x402_side_by_side.guarded(h, s)  # never fails the bench
    long_n = embedded.long_run_events()
    print(f"embedded DynamoDB at scale: transaction cost, then {long_n} events through the API (fresh server)...")
    with running(patched=True) as (ref_endpoint, _), running(patched=True) as (endpoint, server_pid):
        h12 = Harness(endpoint, instrument=False)  # the consumer's time without our call counting
        tx_cost = embedded.transaction_cost(endpoint)
        reference = embedded.Reference(ref_endpoint)  # the machine's speed, on a server whose data never grows
        long = embedded.long_run(h12, h12.scenario(), server_pid, reference, long_n)
    plan = hotpath.simulated_write_plan(n)
    named, unnamed = profile["named"], profile["unnamed"]
    rows.append(
        row(
            "P1",
            "AWS calls per delivery, licence named",
            named["calls_per_delivery"],
            "calls",
            "≤ 2",
            named["calls_per_delivery"] <= 2,
        )
    )
    rows.append(
        row(
            "P1",
            "AWS calls per delivery, licence looked up",
            unnamed["calls_per_delivery"],
            "calls",
            "≤ 3",
            unnamed["calls_per_delivery"] <= 3,
        )
    )
    rows.append(
        row(
            "P1",
            "KMS calls on the delivery path",
            named["kms_calls"] + unnamed["kms_calls"],
            "calls",
            "0",
            named["kms_calls"] + unnamed["kms_calls"] == 0,
        )
    )
    rows.append(
        row(
            "P1",
            "rate limiter leases per delivery (one UpdateItem per chunk, amortised; not in the rows above)",
            round(named["limiter_calls_per_delivery"], 4),
            "calls",
            "report",
            None,
        )
    )
    rows += [
        row(
            "P1",
            f"AWS calls: {r['route']} (HTTP {r['status']})",
            r["calls"],
            f"calls; warm CPU {r.get('cpu_ms', '?')} ms",
            "report",
            None,
        )
        for r in routes
    ]
    print("cold starts (fresh interpreters)...", flush=True)
    rows += [_p2_limit(r) for r in cold_start.run(samples=5)]
    rows.append(
        row(
            "P3",
            f"DynamoDB writes on {consumer['deliveries']} deliveries (delivery path)",
            consumer["delivery_ddb_writes"],
            "writes",
            "0",
            consumer["delivery_ddb_writes"] == 0,
        )
    )
    rows.append(
        row(
            "13",
            f"DynamoDB items written per 1,000 capped deliveries (remainder ≥ 100 accesses; {capped['leases']} leases)",
            round(capped["write_items_per_1000"], 1),
            "items",
            "≤ 20",
            capped["write_items_per_1000"] <= 20,
        )
    )
    rows.append(
        row(
            "13",
            "most DynamoDB write calls in one capped delivery",
            capped["max_write_calls_one_delivery"],
            "calls",
            "≤ 1",
            capped["max_write_calls_one_delivery"] <= 1,
        )
    )
    per_s_at_1k = plan["max_writes_one_key"] / n * 1000
    rows.append(
        row(
            "P3",
            f"most writes to one key while metering {n} deliveries of one asset on one licence ({plan['hottest_key']})",
            plan["max_writes_one_key"],
            f"writes (≈ {per_s_at_1k:.0f}/s at 1,000 deliveries/s)",
            "< 1,000/s per key",
            per_s_at_1k < 1000,
        )
    )
    rows.append(
        row(
            "P5",
            f"metering consumer throughput ({consumer['events']} events, fresh tables, moto server)",
            round(consumer["events_per_s"]),
            "events/s",
            "report",
            None,
        )
    )
    rows.append(
        row(
            "P5",
            "DynamoDB items written per 1,000 events",
            round(consumer["write_items_per_1000"]),
            "items",
            "report",
            None,
        )
    )
    rows.append(
        row(
            "P5",
            "DynamoDB write units per 1,000 events",
            round(consumer["write_units_per_1000"]),
            "WRU",
            "report",
            None,
        )
    )
    small, large = tx_cost[1_000], tx_cost[20_000]
    scale_rows = [
        row("P5", "10-item transaction, table of 1,000 items (median)", round(small * 1000, 2), "ms", "report", None),
        row(
            "P5",
            "10-item transaction, table of 20,000 items (median)",
            round(large * 1000, 2),
            "ms",
            f"≤ 2 × {small * 1000:.2f}",
            large <= 2 * small,
        ),
        row(
            "P5",
            f"consumer, queue to ledger, {long['events']:,} events via the API (20 % deliveries): overall",
            round(long["overall_rate"]),
            "events/s",
            "≥ 500",
            long["overall_rate"] >= 500,
        ),
        *(
            row("P5", f"same, {end} {long['third_events']:,} events", round(rate), "events/s", "≥ 500", rate >= 500)
            for end, rate in (("first", long["first_third_rate"]), ("last", long["last_third_rate"]))
        ),
        row(
            "P5",
            f"reference workload ({embedded.REFERENCE_REPEATS} × a 10-item transaction and a GetItem, on a second "
            "server whose table stays at 10 items), timed around every drain: first third → last third",
            f"{long['first_third_ref_s']:.2f} → {long['last_third_ref_s']:.2f}",
            "s",
            "report (the machine's drift)",
            None,
        ),
        row(
            "P5",
            f"no slowdown: the last {long['third_events']:,} events' rate as a share of the first's, each per second "
            "of the reference workload",
            round(100 * long["relative_last_third"], 1),
            "%",
            "≥ 90",
            long["relative_last_third"] >= 0.9,
        ),
        row("P5", "same, first round of 10,000 events", round(long["first_rate"]), "events/s", "report", None),
        row("P5", "same, last round of 10,000 events", round(long["last_rate"]), "events/s", "report", None),
        row(
            "P5",
            "embedded server resident memory, before the run",
            round(long["rss_start"] / 2**20),
            "MiB",
            "report",
            None,
        ),
        row(
            "P5",
            f"embedded server resident memory, after {long['events']:,} events",
            round(long["rss_end"] / 2**20),
            "MiB",
            "< 4,096",
            long["rss_end"] < 4 * 2**30,
        ),
        row(
            "—",
            "benchmark client (gateway + handlers) resident memory, before → after",
            f"{long['client_rss_start'] / 2**20:.0f} → {long['client_rss_end'] / 2**20:.0f}",
            "MiB",
            "report",
            None,
        ),
        row("—", "long run wall time (feeding + draining)", round(long["wall_s"]), "s", "report", None),
    ]
    rows += scale_rows
    rows.append(
        row(
            "—", "warm CPU per delivery (handler + SDK, median)", round(named["cpu_ms_median"], 2), "ms", "report", None
        )
    )
    rows.append(
        row("—", "application log bytes per delivery", round(named["log_bytes_per_delivery"]), "bytes", "report", None)
    )
    rows += x402_rows
    model = cost.model(named, consumer)
    rows += [
        row("P4", f"cost: {k}", round(v, 4), f"USD / 1M deliveries (prices: {model['sources'][k]})", "", None)
        for k, v in model["parts"].items()
    ]
    rows.append(
        row(
            "P4",
            "platform cost per million deliveries (on-demand)",
            round(model["total"], 3),
            "USD",
            f"≤ {P4_LIMIT_USD:.2f}",
            model["total"] <= P4_LIMIT_USD,
        )
    )
    rows.append(
        row(
            "P4",
            "same, DynamoDB provisioned at a steady 1,000 deliveries/s",
            round(model["total_with_provisioned_ddb"], 3),
            "USD",
            f"≤ {P4_LIMIT_USD:.2f}",
            model["total_with_provisioned_ddb"] <= P4_LIMIT_USD,
        )
    )
    crawl_model = cost.model(named, {**consumer, **crawl})
    rows.append(
        row(
            "P4",
            "metering write units per 1,000 events of one asset (bench traffic)",
            round(consumer["write_units_per_1000"]),
            "WRU",
            "report",
            None,
        )
    )
    rows.append(
        row(
            "P4",
            f"metering write units per 1,000 crawl-shaped events ({crawl['events']:,} deliveries, each a different asset)",
            round(crawl["write_units_per_1000"]),
            "WRU",
            "report",
            None,
        )
    )
    rows.append(
        row(
            "P4",
            "platform cost per million crawl-shaped deliveries (on-demand; the same model with those writes; "
            "not gating: per-asset aggregates, docs/performance.md)",
            round(crawl_model["total"], 3),
            "USD",
            f"report (≤ {P4_LIMIT_USD:.2f} not yet; not gated)",
            None,
        )
    )
    write(
        rows,
        {
            "deliveries": n,
            "write_plan": plan,
            "profile": profile,
            "consumer": consumer,
            "crawl_consumer": crawl,
            "embedded": {"transaction_s": tx_cost, "long_run": long},
            "routes": routes,
            "cost": model,
            "seconds": round(time.time() - started),
            "python": sys.version.split()[0],
            "machine": platform.machine(),
            "cores": __import__("os").cpu_count(),
            "x402_side_by_side": x402_raw,
        },
    )
    gated = scale_rows + [r for r in rows if r["target"] in GATED_TARGETS]
    unmet = [r["metric"] for r in gated if r["met"] is False] + p2_gate_failures(rows)
    if unmet:
        print("UNMET:", "; ".join(unmet), file=sys.stderr)
        return 1
    return 0


def _p2_limit(r: dict[str, Any]) -> dict[str, Any]:
    name = r["metric"].removeprefix("cold import ").split(" ")[0]
    if name not in P2_EXCEPTIONS:
        return r
    ceiling, why = P2_EXCEPTIONS[name]
    return {**r, "limit": f"{r['limit']} (exception, fails above {ceiling}: {why})"}


def write(rows: list[dict[str, Any]], raw: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    when = datetime.now(UTC).isoformat(timespec="seconds")
    lines = [
        f"# Benchmark results ({when}, commit {rev})",
        "",
        f"Reproduce: `make bench` (BENCH_DELIVERIES={raw['deliveries']}); {raw['cores']} cores, "
        f"Python {raw['python']}, {raw['seconds']} s. Prices dated {cost.PRICES_DATE} (benchmarks/cost.py).",
        "",
        "| target | metric | value | unit | limit | met |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        met = "—" if r["met"] is None else ("yes" if r["met"] else "**no**")
        lines.append(f"| {r['target']} | {r['metric']} | {r['value']} | {r['unit']} | {r['limit']} | {met} |")
    text = "\n".join(lines) + "\n"
    (RESULTS / "latest.md").write_text(text)
    (RESULTS / "latest.json").write_text(json.dumps({"rows": rows, "raw": raw}, indent=2, default=str))
    print(text)


if __name__ == "__main__":
    raise SystemExit(main())

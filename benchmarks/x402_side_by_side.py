"""Issue 16, item 4: the delivery handler deciding its ``402`` beside the ``x402`` package's own Python middleware
deciding its ``402`` for the same request (a GET of one asset's content, without payment), on this machine, in one
run: requests per second and CPU per request of each.

    python -m benchmarks.x402_side_by_side            # its own moto server and scenario; X402_REQUESTS=300 each
    make bench                                        # the same rows, on the bench's scenario (benchmarks/run.py)

- Ours: ``GET /v1/assets/{id}/content?use=ai-input`` by a buyer who holds no licence, through the local gateway
  in-process (API key authoriser with its result cached, as API Gateway caches it; the delivery Lambda handler;
  DynamoDB reads against moto), answered ``402 payment_required`` with the applicable offers and ``crawler-price``.
- x402: the same path and query on a Flask app wrapped in ``x402.http.middleware.flask.PaymentMiddleware`` over the
  package's ``x402ResourceServerSync`` with its ``exact`` EVM server scheme on Base Sepolia (``eip155:84532``, a
  test network), priced at the same USD 0.01, called through Flask's WSGI test client (no socket on the hot path),
  answered ``402`` with the ``PAYMENT-REQUIRED`` header (x402 v2). The middleware asks its facilitator for
  ``/supported`` when it starts: that facilitator is a stand-in on 127.0.0.1 (an ``http.server`` thread) serving
  the ``/supported`` answer of the package's own ``x402FacilitatorSync`` with its ``exact`` EVM facilitator scheme
  registered for that network (its signer only names an address: nothing here signs, verifies or settles).

Both sides run in the same process, alternating in blocks so that whatever else the machine does falls on both.
"""

from __future__ import annotations

import base64
import json
import os
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

NETWORK = "eip155:84532"  # Base Sepolia: a test network (no real money even in principle)
PAY_TO = "0x" + "22" * 20
FACILITATOR_ADDRESS = "0x" + "11" * 20
PRICE_MICROS = 10_000  # USD 0.01, the price of the bench scenario's per_access offer (benchmarks/harness.py)
TARGET = "x402 side-by-side"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


Call = Callable[[], Answer]


def n_requests() -> int:
    return int(os.environ.get("X402_REQUESTS", "300"))


class _AddressOnlySigner:
    """What ``ExactEvmFacilitatorScheme`` asks of its signer for ``/supported``: the facilitator's addresses. The
    stand-in never verifies or settles, so nothing else is implemented."""

    def get_addresses(self) -> list[str]:
        return [FACILITATOR_ADDRESS]


def supported_answer() -> dict[str, Any]:
    """The ``/supported`` body of the package's own facilitator with the ``exact`` EVM scheme on ``NETWORK``."""
    from x402 import x402FacilitatorSync
    from x402.mechanisms.evm.exact import ExactEvmFacilitatorScheme

    facilitator = x402FacilitatorSync().register([NETWORK], ExactEvmFacilitatorScheme(_AddressOnlySigner()))  # type: ignore[arg-type]
    return facilitator.get_supported().model_dump(by_alias=True, exclude_none=True)


@contextmanager
def standin_facilitator() -> Iterator[tuple[str, list[str]]]:
    """An x402 facilitator stand-in on 127.0.0.1 (ephemeral port): ``GET /supported`` answers ``supported_answer()``;
    anything else is 404 (``/verify`` and ``/settle`` are never reached without a payment). Yields its URL and the
    paths it was asked for."""
    body = json.dumps(supported_answer()).encode()
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            found = self.path == "/supported"
            payload = body if found else b'{"error":"not served by the stand-in"}'
            self.send_response(200 if found else 404)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self) -> None:
            self.do_GET()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="x402-facilitator-standin", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def x402_app(facilitator_url: str) -> Any:
    """A Flask app whose asset content route is paid through the x402 package's own middleware (which calls the
    facilitator's ``/supported`` here, at construction). Its view is never reached without a payment."""
    from flask import Flask
    from x402 import x402ResourceServerSync
    from x402.http import FacilitatorConfig, HTTPFacilitatorClientSync
    from x402.http.middleware.flask import PaymentMiddleware
    from x402.http.types import PaymentOption, RouteConfig
    from x402.mechanisms.evm.exact import ExactEvmServerScheme

    app = Flask("x402_side_by_side")

    @app.get("/v1/assets/<asset_id>/content")
    def content(asset_id: str) -> dict[str, str]:
        return {"asset_id": asset_id}

    server = x402ResourceServerSync(HTTPFacilitatorClientSync(FacilitatorConfig(url=facilitator_url)))
    server.register(NETWORK, ExactEvmServerScheme())  # type: ignore[arg-type]  # the package's own types disagree
    routes = {
        "GET /v1/assets/*/content": RouteConfig(
            accepts=PaymentOption(scheme="exact", pay_to=PAY_TO, price=f"${PRICE_MICROS / 1e6:.2f}", network=NETWORK),
            description="one asset's content",
            mime_type="application/json",
        )
    }
    PaymentMiddleware(app, routes, server)
    return app


def x402_call(app: Any, path: str, query: str) -> Call:
    client = app.test_client()
    url = f"{path}?{query}"

    def call() -> Answer:
        r = client.get(url, headers={"accept": "application/json"})
        return Answer(r.status_code, dict(r.headers), r.get_data())

    return call


def gateway_call(gw: Any, key: str, path: str, query: str) -> Call:
    """Our side through the local gateway in-process (``local.gateway.LocalGateway``), as ``benchmarks.hotpath``."""
    headers = {"authorization": f"Bearer {key}", "accept": "application/json"}

    def call() -> Answer:
        r = gw.handle("GET", path, query, headers, None)
        return Answer(r.status, dict(r.headers), r.body)

    return call


def check_ours(a: Answer, asset_id: str) -> None:
    """A 402 of the contract (docs/api.md, content delivery): problem ``payment_required`` with the applicable
    offers, ``asset_id`` and ``use``, and ``crawler-price`` naming the per_access offer's price."""
    assert a.status == 402, (a.status, a.body[:300])
    problem = json.loads(a.body)
    assert problem["code"] == "payment_required", problem
    assert problem["asset_id"] == asset_id and problem["use"] == "ai-input", problem
    assert problem["offers"], problem
    price = {k.lower(): v for k, v in a.headers.items()}.get("crawler-price")
    assert price == f"USD {PRICE_MICROS / 1e6:.6f}", a.headers


def check_x402(a: Answer) -> dict[str, Any]:
    """A 402 of x402 v2: ``PAYMENT-REQUIRED`` is base64 JSON with ``x402Version`` 2 and one ``exact`` requirement
    on ``NETWORK`` for the price in the asset's smallest unit (USDC: 6 decimals)."""
    assert a.status == 402, (a.status, a.body[:300])
    header = {k.lower(): v for k, v in a.headers.items()}.get("payment-required")
    assert header, a.headers
    required: dict[str, Any] = json.loads(base64.b64decode(header))
    assert required["x402Version"] == 2, required
    (accept,) = required["accepts"]
    assert (accept["scheme"], accept["network"], accept["payTo"]) == ("exact", NETWORK, PAY_TO), accept
    assert accept["amount"] == str(PRICE_MICROS), accept
    return required


def _figures(wall: list[float], cpu: list[float]) -> dict[str, float]:
    return {
        "requests": len(wall),
        "rps": len(wall) / sum(wall),
        "cpu_ms_median": statistics.median(cpu) * 1000,
        "cpu_ms_mean": sum(cpu) / len(cpu) * 1000,
        "wall_ms_median": statistics.median(wall) * 1000,
    }


def side_by_side(
    ours: Call, theirs: Call, asset_id: str, n: int, block: int = 50, budget_s: float | None = None
) -> dict[str, Any]:
    """``n`` requests each, alternating in blocks of ``block`` (ours, then x402's), after a warm-up of each; every
    answer must be a 402 and the first and last of each side are checked in full (outside the timed part). With
    ``budget_s``, no new block starts once that many seconds have passed (both sides keep equal counts)."""
    check_ours(ours(), asset_id)
    check_x402(theirs())
    for _ in range(min(20, n)):  # warm: first-call imports, caches, the authoriser's result cache
        ours()
        theirs()
    timed: dict[str, tuple[list[float], list[float]]] = {"ours": ([], []), "x402": ([], [])}
    last: dict[str, Answer] = {}
    done = 0
    started = time.perf_counter()
    while done < n and (budget_s is None or time.perf_counter() - started < budget_s):
        size = min(block, n - done)
        for name, call in (("ours", ours), ("x402", theirs)):
            wall, cpu = timed[name]
            for _ in range(size):
                c0, w0 = time.process_time(), time.perf_counter()
                answer = call()
                cpu.append(time.process_time() - c0)
                wall.append(time.perf_counter() - w0)
                if answer.status != 402:
                    raise AssertionError(f"{name}: {answer.status} {answer.body[:300]!r}")
            last[name] = answer
        done += size
    check_ours(last["ours"], asset_id)
    required = check_x402(last["x402"])
    return {
        "ours": _figures(*timed["ours"]),
        "x402": _figures(*timed["x402"]),
        "x402_payment_required": required,
        "block": block,
    }


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Report rows (no limit: they never fail the bench) in the results' shape."""
    ours, theirs = result["ours"], result["x402"]
    ours_label = "delivery handler 402-or-200 decision (unlicensed buyer: 402 with offers; local gateway, moto)"
    from importlib.metadata import version

    theirs_label = f"x402 {version('x402')} Flask PaymentMiddleware 402 (exact EVM, facilitator stand-in on 127.0.0.1)"
    out = []
    for label, f in ((ours_label, ours), (theirs_label, theirs)):
        out.append(_row(f"{label}, {f['requests']} requests", round(f["rps"]), "req/s"))
        out.append(_row(f"{label}, CPU per request (median)", round(f["cpu_ms_median"], 3), "ms"))
    return out


def _row(metric: str, value: Any, unit: str) -> dict[str, Any]:
    return {"target": TARGET, "metric": metric, "value": value, "unit": unit, "limit": "report", "met": None}


def run(
    h: Any, s: dict[str, Any], n: int | None = None, budget_s: float | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The side-by-side rows on a harness (``benchmarks.harness.Harness``) and its scenario ``s``."""
    n = n or n_requests()
    st, body, _ = h.call(
        "POST",
        "/v1/accounts",
        s["admin"],
        {"name": "x402 bench", "email": f"x402-{time.time_ns()}@bench.example", "roles": ["buyer"]},
    )
    assert st == 201, body
    key = body["api_key"]
    path, query = f"/v1/assets/{s['asset_id']}/content", "use=ai-input"
    with standin_facilitator() as (url, asked):
        app = x402_app(url)
        assert asked == ["/supported"], asked
        result = side_by_side(
            gateway_call(h.gw, key, path, query), x402_call(app, path, query), s["asset_id"], n, budget_s=budget_s
        )
        h.log.reset()
        gateway_call(h.gw, key, path, query)()
        result["ours_aws_calls_per_402"] = dict(h.log.calls)
        result["facilitator_requests"] = list(asked)
    return rows(result), result


def guarded(h: Any, s: dict[str, Any], budget_s: float = 25.0) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """For ``make bench``: ``run`` within about ``budget_s`` seconds of timed requests, and never a failure of the
    bench (these rows are reports): whatever goes wrong becomes one row saying so."""
    try:
        return run(h, s, budget_s=budget_s)
    except Exception as e:  # a report row must not stop the bench
        return [_row(f"not measured: {type(e).__name__}: {str(e)[:200]}", "—", "")], {"error": repr(e)}


def main() -> int:
    from benchmarks.harness import Harness, moto_server

    n = n_requests()
    print(f"x402 side by side: {n} requests each (moto server in a separate process)...", flush=True)
    with moto_server() as endpoint:
        h = Harness(endpoint)
        table, raw = run(h, h.scenario(), n)
    print("| target | metric | value | unit | limit | met |\n|---|---|---|---|---|---|")
    for r in table:
        print(f"| {r['target']} | {r['metric']} | {r['value']} | {r['unit']} | {r['limit']} | — |")
    print(json.dumps({k: v for k, v in raw.items() if k != "x402_payment_required"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

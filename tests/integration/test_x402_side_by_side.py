"""Issue 16, item 4 (benchmarks/x402_side_by_side.py), briefly: both sides decide a 402 for the same unpaid request,
ours per the contract (problem ``payment_required`` with offers and ``crawler-price``) and the x402 package's Flask
middleware per x402 v2 (``PAYMENT-REQUIRED``), its facilitator being the stand-in on 127.0.0.1 (a socket: hence this
tier, not tests/unit); the figures are positive numbers and the rows keep the results' shape."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from benchmarks import x402_side_by_side as x
from local.gateway import LocalGateway

N = 150  # requests each: 300 in all


def _path(market: dict[str, Any]) -> str:
    return f"/v1/assets/{market['asset']['id']}/content"


def test_standin_answers_supported_from_the_packages_facilitator() -> None:
    import urllib.request

    with x.standin_facilitator() as (url, asked):
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{url}/supported", timeout=5) as r:
            supported = json.loads(r.read())
    assert asked == ["/supported"]
    assert supported["kinds"] == [{"x402Version": 2, "scheme": "exact", "network": x.NETWORK}]
    assert supported["signers"] == {"eip155:*": [x.FACILITATOR_ADDRESS]}


def test_both_sides_decide_402_and_the_figures_are_positive(market: dict[str, Any]) -> None:
    gw = LocalGateway(auth_cache_ttl=3600)  # as the bench (benchmarks/harness.py): the authoriser's result cached
    key = market["other"].key  # a buyer with no licence
    asset_id, path, query = market["asset"]["id"], _path(market), "use=ai-input"
    with x.standin_facilitator() as (url, asked):
        app = x.x402_app(url)
        assert asked == ["/supported"]  # asked once, at start
        result = x.side_by_side(x.gateway_call(gw, key, path, query), x.x402_call(app, path, query), asset_id, N)
        assert asked == ["/supported"]  # and never again: no payment, so no /verify or /settle

    for side in ("ours", "x402"):
        f = result[side]
        assert f["requests"] == N
        for k in ("rps", "cpu_ms_median", "cpu_ms_mean", "wall_ms_median"):
            assert isinstance(f[k], float) and f[k] > 0, (side, k, f[k])
    required = result["x402_payment_required"]
    assert required["resource"]["url"].endswith(f"{path}?{query}")
    assert required["accepts"][0]["maxTimeoutSeconds"] > 0

    rows = x.rows(result)
    assert len(rows) == 4
    for r in rows:
        assert set(r) == {"target", "metric", "value", "unit", "limit", "met"}
        assert r["target"] == x.TARGET and r["limit"] == "report" and r["met"] is None
        assert isinstance(r["value"], int | float) and r["value"] > 0
    assert [r["unit"] for r in rows] == ["req/s", "ms", "req/s", "ms"]


def test_the_checks_refuse_what_is_not_a_402(market: dict[str, Any]) -> None:
    """The side by side measures 402s only: a licensed buyer's 200 and a 402 without x402's header are refused."""
    gw = LocalGateway(auth_cache_ttl=3600)
    buyer = market["buyer"]
    got = buyer.post("/v1/licenses", {"offer_id": market["per_access"]["id"], "use": "ai-input"})
    assert got.status == 201, got.body
    licensed = x.gateway_call(gw, buyer.key, _path(market), "use=ai-input")
    answer = licensed()
    assert answer.status == 200, answer.body
    with pytest.raises(AssertionError):
        x.check_ours(answer, market["asset"]["id"])
    with pytest.raises(AssertionError):
        x.side_by_side(licensed, licensed, market["asset"]["id"], 1)

    bare = x.Answer(402, {"content-type": "application/json"}, b"{}")
    with pytest.raises(AssertionError):
        x.check_x402(bare)
    wrong_price = {
        "x402Version": 2,
        "accepts": [{"scheme": "exact", "network": x.NETWORK, "payTo": x.PAY_TO, "amount": "20000"}],
    }
    header = base64.b64encode(json.dumps(wrong_price).encode()).decode()
    with pytest.raises(AssertionError):
        x.check_x402(x.Answer(402, {"PAYMENT-REQUIRED": header}, b"{}"))


def test_guarded_turns_a_failure_into_one_report_row() -> None:
    """``make bench`` calls ``guarded``: a failure of the side by side is a row saying so, never the bench's."""
    rows, raw = x.guarded(object(), {})  # no harness: its first use fails
    assert len(rows) == 1 and rows[0]["metric"].startswith("not measured: AttributeError")
    assert rows[0]["met"] is None and rows[0]["limit"] == "report"
    assert "AttributeError" in raw["error"]

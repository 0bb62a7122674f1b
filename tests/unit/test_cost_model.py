"""The P4 cost model (benchmarks/cost.py) with the rate limiter's line: priced at one write per chunk, computed in
the whole P4 total, and never below one write per chunk even when a short run measured none."""

from __future__ import annotations

import pytest

from benchmarks import cost
from infra.definitions import RATE_LIMITS

DELIVERY = {"cpu_ms_median": 2.0, "calls_per_delivery": 2.0, "log_bytes_per_delivery": 300.0}
CONSUMER = {
    "consumer_cpu_ms_per_event": 0.5,
    "consumer_calls_per_event": 0.05,
    "consumer_invocations": 10,
    "events": 1000,
    "write_units_per_1000": 1500.0,
    "s3_puts": 10,
}
LINE = f"DynamoDB writes (rate limiter, chunk {RATE_LIMITS.chunk})"


def test_the_limiter_line_is_one_write_unit_per_chunk_and_part_of_the_total() -> None:
    got = cost.model(dict(DELIVERY), CONSUMER)
    expected = cost.PRICES["ddb_ondemand_wru_per_million"] / RATE_LIMITS.chunk  # USD per million requests
    assert got["parts"][LINE] == pytest.approx(expected)
    assert got["parts"][LINE] == pytest.approx(0.0125)  # 20,000 writes x $0.625 / M at chunk 50
    assert got["total"] == pytest.approx(sum(got["parts"].values()))
    assert "2026" in cost.LIMITER_PRICE_SOURCE and "dynamodb/pricing" in cost.LIMITER_PRICE_SOURCE


def test_measured_leases_above_one_per_chunk_are_priced_as_measured() -> None:
    low = cost.model({**DELIVERY, "limiter_calls_per_delivery": 0.0}, CONSUMER)
    high = cost.model({**DELIVERY, "limiter_calls_per_delivery": 0.1}, CONSUMER)
    assert high["parts"][LINE] == pytest.approx(0.1 * cost.PRICES["ddb_ondemand_wru_per_million"])
    assert high["total"] > low["total"]
    assert cost.limiter_writes_per_million(chunk=50) == 20_000
    assert cost.limiter_writes_per_million(chunk=1) == 1_000_000

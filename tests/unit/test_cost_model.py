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


def test_cpu_is_priced_at_the_functions_share_of_a_vcpu() -> None:
    # Given 10 ms more CPU per delivery, measured on one full core
    low = cost.model({**DELIVERY, "cpu_ms_median": 2.0}, CONSUMER)["parts"]["Lambda delivery duration"]
    high = cost.model({**DELIVERY, "cpu_ms_median": 12.0}, CONSUMER)["parts"]["Lambda delivery duration"]
    # Then a million deliveries pay it at the delivery function's memory, stretched to its CPU share (1,769 MB = 1 vCPU)
    memory_gb = cost.FUNCTIONS["delivery"].memory_mb / 1024
    stretched_s = 0.010 * cost.FULL_VCPU_MB / cost.FUNCTIONS["delivery"].memory_mb
    assert cost.FUNCTIONS["delivery"].memory_mb < cost.FULL_VCPU_MB
    assert high - low == pytest.approx(1_000_000 * stretched_s * memory_gb * cost.PRICES["lambda_arm_gb_second"])


def test_the_stream_replaces_the_queue_in_the_cost_lines() -> None:
    # Given the bench's measurements, When the model prices a million deliveries
    parts = cost.model(dict(DELIVERY), CONSUMER)["parts"]
    # Then one Kinesis PUT unit per delivery and the shards' hours at the steady rate are charged, and no SQS message
    assert (
        parts["Kinesis PUT payload units (one record per delivery)"]
        == cost.PRICES["kinesis_put_payload_units_per_million"]
    )
    hours = cost.STREAM_SHARDS * 1_000_000 / cost.STEADY_DELIVERIES_PER_S / 3600
    assert [v for k, v in parts.items() if k.startswith("Kinesis shard hours")] == [
        pytest.approx(hours * cost.PRICES["kinesis_shard_hour"])
    ]
    assert not [k for k in parts if "SQS" in k]


def test_the_response_leaves_through_api_gateway_at_the_data_transfer_rate() -> None:
    # Given a 200 of 700 bytes as the function sends it, When a million are priced
    parts = cost.model({**DELIVERY, "response_bytes": 700}, CONSUMER)["parts"]
    line = next(k for k in parts if k.startswith("API Gateway data transfer out"))
    # Then its bytes, what API Gateway adds and the session token a presigned URL carries in Lambda leave at USD 0.09/GB
    sent = 700 + cost.APIGW_HEADER_BYTES + cost.SESSION_TOKEN_BYTES  # no delivery copy: no zonal host
    assert parts[line] == pytest.approx(1_000_000 * sent / 2**30 * 0.09)
    assert f"{sent} bytes" in line


def test_every_cost_line_names_its_prices_and_where_and_when_they_were_read() -> None:
    got = cost.model(dict(DELIVERY), CONSUMER)
    assert set(got["sources"]) == set(got["parts"])
    for part, source in got["sources"].items():
        assert "https://aws.amazon.com/" in source and "2026-" in source, part
    assert "apigw_http_per_million = 1.0" in got["sources"]["API Gateway (HTTP API)"]
    assert set(cost.PRICE_SOURCES) == set(cost.PRICES)  # no price without a source


def test_a_delivery_copy_is_priced_as_an_s3_express_get_with_its_retrieval_and_sessions() -> None:
    # Given every delivery presigned on its 100 KiB copy in S3 Express One Zone
    standard = cost.model({**DELIVERY, "copy_share": 0.0, "size_bytes": 100 * 1024}, CONSUMER)
    express = cost.model({**DELIVERY, "copy_share": 1.0, "size_bytes": 100 * 1024}, CONSUMER)
    parts = express["parts"]
    got = next(v for k, v in parts.items() if k.startswith("S3 Express GET of the delivery copy"))
    # Then a million GETs cost USD 0.03 plus USD 0.0006 per GB retrieved, and no S3 Standard GET is charged
    assert got == pytest.approx(0.03 + 1_000_000 * 100 * 1024 / 2**30 * 0.0006)
    assert parts["S3 GET of the content (presigned, S3 Standard)"] == 0
    assert standard["parts"]["S3 GET of the content (presigned, S3 Standard)"] == pytest.approx(0.40)
    # And the sessions: one per warm instance every 255 s, priced as PUTs (an upper bound)
    sessions = next(v for k, v in parts.items() if k.startswith("S3 Express CreateSession"))
    assert 0 < sessions < 0.001
    assert express["total"] == pytest.approx(sum(parts.values()))
    assert standard["total"] - express["total"] > 0.3


def test_the_copy_limit_is_below_the_size_where_s3_express_stops_being_cheaper() -> None:
    from functions.catalog.models.domain import DELIVERY_COPY_MAX_BYTES

    p = cost.PRICES
    express = p["s3express_get_per_thousand"] / 1000 + DELIVERY_COPY_MAX_BYTES / 2**30 * p["s3express_retrieval_per_gb"]
    assert express < p["s3_get_per_thousand"] / 1000


def test_p2_fails_the_run_above_the_limit_or_an_exceptions_ceiling() -> None:
    from benchmarks import run

    def r(name: str, value: float) -> dict[str, object]:
        return run.row("P2", f"cold import {name} (dynamodb)", value, "x", "≤ 1.5", value <= 1.5)

    assert run.p2_gate_failures([r("delivery", 1.49), r("accounts", 1.9)]) == []
    assert run.p2_gate_failures([r("delivery", 1.51)]) == ["cold import delivery (dynamodb) 1.51x > 1.5x"]
    ceiling = run.P2_EXCEPTIONS["accounts"][0]
    assert run.p2_gate_failures([r("accounts", ceiling + 0.01)])
    assert "delivery" not in run.P2_EXCEPTIONS

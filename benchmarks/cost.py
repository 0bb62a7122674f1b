"""P4: platform cost per million content deliveries, fed by the measured call counts, write units, durations and
log bytes. Prices are AWS list prices for us-east-1 (on-demand), as one table with its date; change them here."""

from __future__ import annotations

from typing import Any

from infra.definitions import FUNCTIONS, RATE_LIMITS, STREAMS

PRICES_DATE = "2026-11-28"
PRICES = {  # USD
    "apigw_http_per_million": 1.00,  # HTTP API, first 300 M requests / month
    "lambda_request_per_million": 0.20,
    "lambda_arm_gb_second": 0.0000133334,
    "ddb_ondemand_rru_per_million": 0.125,
    "ddb_ondemand_wru_per_million": 0.625,
    "kinesis_put_payload_units_per_million": 0.014,  # provisioned mode: one unit per record of up to 25 KB
    "kinesis_shard_hour": 0.015,  # provisioned mode
    "s3_get_per_thousand": 0.0004,
    "s3_put_per_thousand": 0.005,
    "s3express_get_per_thousand": 0.00003,  # S3 Express One Zone: the delivery copies (issue 16)
    "s3express_put_per_thousand": 0.00113,
    "s3express_retrieval_per_gb": 0.0006,
    "logs_ingest_per_gb": 0.50,
    "xray_traces_per_million": 5.00,
    "data_transfer_out_per_gb": 0.09,  # to the internet, first 10 TB a month (API Gateway bills at this rate)
}
_LISTED = f"list price as recorded on {PRICES_DATE}"
PRICE_SOURCES = {
    "apigw_http_per_million": "https://aws.amazon.com/api-gateway/pricing/ (HTTP APIs, us-east-1, first 300 M "
    f"requests a month; {_LISTED}; the same USD 1.00 on apigatewaycost.com and amnic.com, checked 2026-11-30)",
    "lambda_request_per_million": f"https://aws.amazon.com/lambda/pricing/ (us-east-1; {_LISTED})",
    "lambda_arm_gb_second": "https://aws.amazon.com/lambda/pricing/ (us-east-1, Arm, first 7.5 billion GB-s a month; "
    f"{_LISTED}; the same figure on cloudchipr.com, checked 2026-11-30)",
    "ddb_ondemand_rru_per_million": "https://aws.amazon.com/dynamodb/pricing/on-demand/ (us-east-1), read 2026-11-29",
    "ddb_ondemand_wru_per_million": "https://aws.amazon.com/dynamodb/pricing/on-demand/ (us-east-1), read 2026-11-29",
    "kinesis_put_payload_units_per_million": "https://aws.amazon.com/kinesis/data-streams/pricing/ (us-east-1, "
    "provisioned mode), read 2026-11-30: re-check (KINESIS_PRICE_SOURCE)",
    "kinesis_shard_hour": "https://aws.amazon.com/kinesis/data-streams/pricing/ (us-east-1, provisioned mode), read "
    "2026-11-30: re-check (KINESIS_PRICE_SOURCE)",
    "s3_get_per_thousand": f"https://aws.amazon.com/s3/pricing/ (S3 Standard GET, us-east-1; {_LISTED})",
    "s3_put_per_thousand": f"https://aws.amazon.com/s3/pricing/ (S3 Standard PUT, us-east-1; {_LISTED})",
    "s3express_get_per_thousand": "https://aws.amazon.com/s3/pricing/ and https://aws.amazon.com/s3/faqs/ (S3 "
    "Express One Zone, us-east-1: the FAQ's worked example prices 9,000,000 GETs at USD 0.00003 per 1,000), read "
    "2026-11-30",
    "s3express_put_per_thousand": "https://aws.amazon.com/s3/faqs/ (S3 Express One Zone, us-east-1: USD 0.00113 per "
    "1,000 PUTs in the FAQ's worked example), read 2026-11-30; CreateSession is priced here as a PUT, an upper bound",
    "s3express_retrieval_per_gb": "https://aws.amazon.com/s3/faqs/ (S3 Express One Zone, us-east-1: data retrieval "
    "USD 0.0006 per GB in the FAQ's worked example, charged on every byte read), read 2026-11-30",
    "logs_ingest_per_gb": f"https://aws.amazon.com/cloudwatch/pricing/ (Logs, standard ingestion, us-east-1; {_LISTED})",
    "xray_traces_per_million": f"https://aws.amazon.com/xray/pricing/ (traces recorded; {_LISTED})",
    "data_transfer_out_per_gb": "https://aws.amazon.com/ec2/pricing/on-demand/ (data transfer out to the internet, "
    "us-east-1, first 10 TB a month; API Gateway's pricing page bills HTTP APIs' data out at this rate), added "
    "2026-11-30; the same USD 0.09 on apigatewaycost.com and amnic.com, checked 2026-11-30",
}
"""Where each price comes from and when it was read: every cost line of the results names its prices (issue 16)."""
APIGW_HEADER_BYTES = 120
"""What API Gateway adds to each response beyond the function's status, headers and body (``Date``,
``Content-Length``, ``Connection``, ``Apigw-Requestid``): about 120 bytes, an estimate, not measured here."""
SESSION_TOKEN_BYTES = 1100
"""In Lambda the presigned URL also carries the execution role's session token (``X-Amz-Security-Token``): about
1,000-1,100 characters URL-encoded, an estimate (the role's temporary credentials; here the keys are static, so the
measured response lacks it)."""
EXPRESS_HOST_EXTRA_BYTES = 60
"""A delivery copy's URL in the stack names the zonal endpoint (``<name>--use1-az4--x-s3.s3express-use1-az4.us-east-1
.amazonaws.com``, about 100 characters) where the local stand-in's names ``s3.amazonaws.com/imprimatur-local-delivery``
(42): about 60 bytes more, an estimate. Its ``X-Amz-S3session-Token`` (the S3 Express session's, not the role's) is
counted in ``SESSION_TOKEN_BYTES`` at the role token's size, an upper bound we could not measure here."""
KINESIS_PRICE_SOURCE = (
    "https://aws.amazon.com/kinesis/data-streams/pricing/ (us-east-1, provisioned mode: USD 0.015 per shard hour, "
    "USD 0.014 per million PUT payload units of 25 KB), as read for docs/performance.md on 2026-11-30; the stored copy "
    "here shows the billing dimensions, not the figures: check them before relying on this line"
)
STREAM_SHARDS = STREAMS["deliveries"].shards
STEADY_DELIVERIES_PER_S = 1000
"""P3's load. Shard hours are a fixed cost per hour whatever the traffic: per million deliveries they are what the
shards cost while a million deliveries pass at this rate (1,000 s). At 10 deliveries/s the same line is 100 times
larger (docs/performance.md)."""
FULL_VCPU_MB = 1769
"""Lambda allocates CPU in proportion to memory: "At 1,769 MB, a function has the equivalent of one vCPU"
(https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html, read 2026-11-30). CPU time measured here on one
core therefore takes FULL_VCPU_MB / memory times as long in a smaller function (the model before 2026-11-30 charged it
as if the function had a whole core: USD 0.14 per million too little for the 512 MB delivery function)."""
DELIVERY_MEMORY_GB = FUNCTIONS["delivery"].memory_mb / 1024
CONSUMER_MEMORY_GB = FUNCTIONS["metering_stream"].memory_mb / 1024  # the deliveries stream's consumer
PLATFORM_LOG_BYTES = 0
"""Lambda's own START/END/REPORT lines per delivery: none. Every function logs JSON with system log level WARN
(tests/infra/test_services.py), and those lines are INFO: "By default, Lambda sets the system log level to INFO. With
this setting, Lambda automatically sends "start" and "report" log messages to CloudWatch"
(https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html, read 2026-11-30). At INFO
they were about 320 bytes per invocation (USD 0.16 per million)."""
XRAY_SAMPLED = 0.0
"""Traces per delivery: none. The delivery function's tracing is PassThrough: "Lambda will only trace the request from
an upstream service if it contains a tracing header with sampled=1" (https://docs.aws.amazon.com/cdk/api/v2/docs/
aws-cdk-lib.aws_lambda.Tracing.html, read 2026-11-30), and HTTP APIs send none. Active tracing sampled 5 % (Lambda's
fixed rule, 1 request per second plus 5 %): USD 0.25 per million at USD 5.00 per million traces."""
EXPRESS_SESSION_RENEWED_S = 255
"""An S3 Express session lasts 300 s and botocore renews it when fewer than 45 s are left (``IdentityCache``'s
advisory timeout): one ``CreateSession`` per warm delivery instance every 255 s at most."""
CALL_LATENCY_S = 0.006  # typical in-region DynamoDB/Kinesis/S3 call latency (moto's timings are not AWS's)
AUTH_MISS_RATE = 0.001  # authoriser cache misses per delivery (60 s cache per key; a crawler reuses its key)
LIMITER_PRICE_SOURCE = (
    "https://aws.amazon.com/dynamodb/pricing/on-demand/ (us-east-1, $0.625 per million write request units), "
    "read 2026-11-29"
)
"""The rate limiter's leases (functions.shared.ratelimit): one ``UpdateItem`` of an item under 1 KB (1 write unit)
per ``RATE_LIMITS.chunk`` requests of a key, plus at most one refused lease per instance and window."""


def limiter_writes_per_million(chunk: int = RATE_LIMITS.chunk, measured_per_request: float = 0.0) -> float:
    """Write units per million requests: one per chunk, or what was measured if more (a window rolled over)."""
    return 1_000_000 * max(1 / chunk, measured_per_request)


def _slowdown(memory_gb: float) -> float:
    """How much longer CPU-bound work takes in a function of this memory than on one full vCPU."""
    return max(1.0, FULL_VCPU_MB / (memory_gb * 1024))


def model(delivery: dict[str, Any], consumer: dict[str, Any]) -> dict[str, Any]:
    """Cost of one million deliveries, by component (USD)."""
    m = 1_000_000
    p = PRICES
    # Lambda time = measured CPU of our code (moto runs in another process) + each AWS call's typical latency
    limiter_per_request = (
        limiter_writes_per_million(measured_per_request=delivery.get("limiter_calls_per_delivery", 0.0)) / m
    )
    calls = delivery["calls_per_delivery"] + limiter_per_request
    wall_s = max(delivery["cpu_ms_median"] / 1000 * _slowdown(DELIVERY_MEMORY_GB) + calls * CALL_LATENCY_S, 0.001)
    per_event_busy_s = consumer["consumer_cpu_ms_per_event"] / 1000 * _slowdown(CONSUMER_MEMORY_GB) + consumer[
        "consumer_calls_per_event"
    ] * (CALL_LATENCY_S * 3)  # transactions of ~100 items take longer than single calls
    # the delivery's reads as measured (named licence: licence + asset), eventually consistent (0.5 unit), < 4 KB
    reads_rru = 0.5 * delivery.get("read_items_per_delivery", 3.0)
    # the consumer's reads: one per read call measured (the batch's licences; a cursor re-read after a refusal),
    # counted as 1 unit each (strongly consistent, < 4 KB); no per-event de-duplication read on the stream
    consumer_rru = consumer.get("consumer_read_calls_per_event", 0.0)
    shard_hours = STREAM_SHARDS * m / STEADY_DELIVERIES_PER_S / 3600
    log_bytes = delivery["log_bytes_per_delivery"] + PLATFORM_LOG_BYTES
    out_bytes = (
        delivery.get("response_bytes", 0)
        + APIGW_HEADER_BYTES
        + SESSION_TOKEN_BYTES
        + delivery.get("copy_share", 0.0) * EXPRESS_HOST_EXTRA_BYTES
    )
    consumer_invocations = consumer["consumer_invocations"] / max(consumer["events"], 1)
    # The content GET: the share presigned on a delivery copy is an S3 Express One Zone GET plus its retrieval
    # charge on the object's bytes; the rest an S3 Standard GET. One CreateSession per warm instance per session.
    copy_share = delivery.get("copy_share", 0.0)
    express_get = (
        p["s3express_get_per_thousand"] / 1000 + delivery.get("size_bytes", 0) / 2**30 * p["s3express_retrieval_per_gb"]
    )
    instances = STEADY_DELIVERIES_PER_S * wall_s  # concurrent executions at the steady rate (Little's law)
    sessions_per_million = (instances * m / STEADY_DELIVERIES_PER_S / EXPRESS_SESSION_RENEWED_S) if copy_share else 0
    parts = {
        "API Gateway (HTTP API)": p["apigw_http_per_million"],
        "Lambda delivery requests": p["lambda_request_per_million"],
        "Lambda delivery duration": m * wall_s * DELIVERY_MEMORY_GB * p["lambda_arm_gb_second"],
        "Authoriser (cache misses)": AUTH_MISS_RATE
        * (p["lambda_request_per_million"] + 1.0 * p["ddb_ondemand_rru_per_million"]),
        "DynamoDB reads (delivery)": reads_rru * p["ddb_ondemand_rru_per_million"],
        f"DynamoDB writes (rate limiter, chunk {RATE_LIMITS.chunk})": limiter_per_request
        * p["ddb_ondemand_wru_per_million"],
        "Kinesis PUT payload units (one record per delivery)": p["kinesis_put_payload_units_per_million"],
        f"Kinesis shard hours ({STREAM_SHARDS} shards at {STEADY_DELIVERIES_PER_S}/s)": shard_hours
        * p["kinesis_shard_hour"],
        "S3 GET of the content (presigned, S3 Standard)": (1 - copy_share) * m / 1000 * p["s3_get_per_thousand"],
        f"S3 Express GET of the delivery copy ({copy_share:.0%} of deliveries, {delivery.get('size_bytes', 0)} bytes"
        " retrieved)": copy_share * m * express_get,
        f"S3 Express CreateSession ({sessions_per_million:.0f} per million: {instances:.0f} instances at "
        f"{STEADY_DELIVERIES_PER_S}/s, one per {EXPRESS_SESSION_RENEWED_S} s)": sessions_per_million
        / 1000
        * p["s3express_put_per_thousand"],
        "Metering consumer requests": consumer_invocations * p["lambda_request_per_million"],
        "Metering consumer duration": m * per_event_busy_s * CONSUMER_MEMORY_GB * p["lambda_arm_gb_second"],
        "DynamoDB writes (metering)": consumer["write_units_per_1000"] / 1000 * p["ddb_ondemand_wru_per_million"],
        "DynamoDB reads (metering)": consumer_rru * p["ddb_ondemand_rru_per_million"],
        "S3 archive PUTs": consumer["s3_puts"] / max(consumer["events"], 1) * m / 1000 * p["s3_put_per_thousand"],
        "CloudWatch Logs (delivery)": m * log_bytes / 1e9 * p["logs_ingest_per_gb"],
        "X-Ray traces (sampled)": XRAY_SAMPLED * p["xray_traces_per_million"],
        f"API Gateway data transfer out (the 200, {out_bytes:.0f} bytes)": m
        * out_bytes
        / 2**30
        * p["data_transfer_out_per_gb"],
    }
    total = sum(parts.values())
    prices_of = {
        "API Gateway": ["apigw_http_per_million"],
        "Lambda": ["lambda_request_per_million", "lambda_arm_gb_second"],
        "Metering consumer": ["lambda_request_per_million", "lambda_arm_gb_second"],
        "Authoriser": ["lambda_request_per_million", "ddb_ondemand_rru_per_million"],
        "DynamoDB reads": ["ddb_ondemand_rru_per_million"],
        "DynamoDB writes": ["ddb_ondemand_wru_per_million"],
        "Kinesis PUT": ["kinesis_put_payload_units_per_million"],
        "Kinesis shard": ["kinesis_shard_hour"],
        "S3 GET": ["s3_get_per_thousand"],
        "S3 Express GET": ["s3express_get_per_thousand", "s3express_retrieval_per_gb"],
        "S3 Express CreateSession": ["s3express_put_per_thousand"],
        "S3 archive": ["s3_put_per_thousand"],
        "CloudWatch": ["logs_ingest_per_gb"],
        "X-Ray": ["xray_traces_per_million"],
        "API Gateway data transfer": ["data_transfer_out_per_gb"],
    }
    sources = {}
    for part in parts:
        keys = next(v for k, v in sorted(prices_of.items(), key=lambda kv: -len(kv[0])) if part.startswith(k))
        sources[part] = "; ".join(f"{k} = {p[k]}: {PRICE_SOURCES[k]}" for k in keys)
    # The same load on provisioned DynamoDB capacity: a steady 1,000 deliveries/s for a month costs per million
    wcu_hour, rcu_hour = 0.00065, 0.00013
    per_s = 1000
    wcu = consumer["write_units_per_1000"] / 1000 * per_s
    rcu = (reads_rru + consumer_rru) / 2 * per_s  # provisioned RCU reads 4 KB strongly or 2 eventually
    seconds_per_million = m / per_s
    provisioned = (wcu * wcu_hour + rcu * rcu_hour) * seconds_per_million / 3600
    ondemand_ddb = (
        parts["DynamoDB writes (metering)"] + parts["DynamoDB reads (metering)"] + parts["DynamoDB reads (delivery)"]
    )
    return {
        "parts": parts,
        "sources": sources,
        "total": total,
        "total_with_provisioned_ddb": total - ondemand_ddb + provisioned,
        "prices": p,
        "prices_date": PRICES_DATE,
    }

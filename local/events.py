"""Builders for the events API Gateway (HTTP API, payload 2.0), SQS and S3 hand to Lambda.

Used by the local gateway and dispatchers and by the tests, so both speak exactly the same shapes.
"""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl


@dataclass
class LambdaContext:
    function_name: str = "local"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:000000000000:function:local"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"
    deadline_ms: int = field(default_factory=lambda: int(time.time() * 1000) + 30_000)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(time.time() * 1000))


def http_event(
    method: str,
    path: str,
    *,
    route_key: str | None = None,
    path_params: dict[str, str] | None = None,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes | str | None = None,
    authorizer: dict[str, Any] | None = None,
    domain: str = "127.0.0.1:8080",
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    hdrs = {k.lower(): v for k, v in (headers or {}).items()}
    qsp: dict[str, str] = {}
    for k, v in parse_qsl(query, keep_blank_values=True):
        qsp[k] = f"{qsp[k]},{v}" if k in qsp else v
    is_b64 = False
    text: str | None = None
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, is_b64 = base64.b64encode(body).decode(), True
    else:
        text = body
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key or f"{method} {path}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": hdrs,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": hdrs.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": route_key or f"{method} {path}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": is_b64,
    }
    if qsp:
        event["queryStringParameters"] = qsp
    if path_params:
        event["pathParameters"] = path_params
    if text is not None and text != "":
        event["body"] = text
    if authorizer is not None:
        event["requestContext"]["authorizer"] = {"lambda": authorizer}
    if "cookie" in hdrs:
        event["cookies"] = [c.strip() for c in hdrs["cookie"].split(";")]
    return event


def authorizer_event(
    route_key: str, path: str, headers: dict[str, str], *, source_ip: str = "127.0.0.1"
) -> dict[str, Any]:
    ev = http_event(route_key.split(" ")[0], path, route_key=route_key, headers=headers, source_ip=source_ip)
    ev["type"] = "REQUEST"
    ev["identitySource"] = [headers.get("authorization", "")]
    return ev


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """``messages`` are SQS ReceiveMessage results (MessageId, ReceiptHandle, Body, Attributes...)."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def kinesis_event(records: list[dict[str, Any]], stream_arn: str, shard_id: str) -> dict[str, Any]:
    """``records`` are Kinesis GetRecords results (SequenceNumber, Data bytes, PartitionKey...) of one shard."""
    return {
        "Records": [
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": r["PartitionKey"],
                    "sequenceNumber": r["SequenceNumber"],
                    "data": base64.b64encode(r["Data"]).decode(),
                    "approximateArrivalTimestamp": r["ApproximateArrivalTimestamp"].timestamp()
                    if hasattr(r.get("ApproximateArrivalTimestamp"), "timestamp")
                    else time.time(),
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"{shard_id}:{r['SequenceNumber']}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::000000000000:role/local",
                "awsRegion": "us-east-1",
                "eventSourceARN": stream_arn,
            }
            for r in records
        ]
    }

"""Lazily created, cached boto3 clients. Nothing is created at import time (cold start, and moto).

Locally, ``AWS_ENDPOINT_URL`` (honoured natively by boto3) points every client at the embedded moto server.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any, cast  # Any: the untyped client(service) (see client)

if TYPE_CHECKING:  # the stubs are a dev dependency (boto3-stubs in pyproject's dev extras)
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sqs import SQSClient

_clients: dict[str, object] = {}
_lock = threading.Lock()


def client(service: str, *, retries: int = 3) -> Any:  # Any: the untyped accessor; new code uses the typed ones below
    """The cached client of ``service``; ``retries=1``: a client that never sends a request twice by itself."""
    name = service if retries == 3 else f"{service}/{retries}"
    c = _clients.get(name)
    if c is None:
        with _lock:
            c = _clients.get(name)
            if c is None:
                import boto3  # deferred: only paid by the first call that needs AWS
                from botocore.config import Config

                cfg = Config(
                    retries={"max_attempts": 3, "mode": "standard"}
                    if retries == 3
                    else {"total_max_attempts": retries},
                    connect_timeout=2,
                    read_timeout=int(os.environ.get("AWS_READ_TIMEOUT_S", "10")),  # benchmarks on moto raise it
                    signature_version="s3v4" if service == "s3" else None,
                    s3={"addressing_style": "path"} if service == "s3" else None,
                    # DynamoDB requests are built by our DAL code, never from raw input, and the service validates
                    # them anyway: botocore's client-side walk of every attribute was a fifth of the metering
                    # consumer's CPU (100-item transactions). docs/decision_log.md, 2026-11-29. The same for the
                    # delivery's one Kinesis record (functions.licensing.dal.deliveries builds it).
                    parameter_validation=service not in ("dynamodb", "kinesis"),
                )
                c = boto3.client(service, config=cfg)  # type: ignore[call-overload]
                _clients[name] = c
    return c


def reset_clients() -> None:
    """Forget cached clients (tests switch between moto contexts)."""
    with _lock:
        _clients.clear()


def dynamodb() -> DynamoDBClient:
    return cast("DynamoDBClient", client("dynamodb"))


def s3() -> S3Client:
    return cast("S3Client", client("s3"))


def sqs() -> SQSClient:
    return cast("SQSClient", client("sqs"))


def kinesis_once() -> KinesisClient:
    """Kinesis with no automatic retry (functions.licensing.dal.deliveries says why)."""
    return cast("KinesisClient", client("kinesis", retries=1))


def kms() -> KMSClient:
    return cast("KMSClient", client("kms"))


def sesv2() -> SESV2Client:
    return cast("SESV2Client", client("sesv2"))


def cloudformation() -> CloudFormationClient:
    return cast("CloudFormationClient", client("cloudformation"))

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


def is_directory_bucket(bucket: str) -> bool:
    """An S3 Express One Zone directory bucket's name ends in ``--x-s3`` (``<base>--<zone id>--x-s3``)."""
    return bucket.endswith("--x-s3")


def s3_express(*, read_only: bool = False) -> S3Client:
    """S3 for a directory bucket (S3 Express One Zone). botocore signs its requests and presigned URLs with an S3
    Express session (``CreateSession``, one per bucket, cached until it expires after 5 minutes); the
    ``signature_version`` that ``client("s3")`` forces would turn that off. ``read_only``: ask for ReadOnly sessions,
    the only kind the delivery function's role may create (``s3express:SessionMode``); botocore asks for none,
    which S3 takes as ReadWrite."""
    name = "s3express/ro" if read_only else "s3express"
    c = _clients.get(name)
    if c is None:
        with _lock:
            c = _clients.get(name)
            if c is None:
                import boto3
                from botocore.config import Config

                c = boto3.client(
                    "s3",
                    config=Config(
                        retries={"max_attempts": 3, "mode": "standard"},
                        connect_timeout=2,
                        read_timeout=int(os.environ.get("AWS_READ_TIMEOUT_S", "10")),
                    ),
                )
                if read_only:
                    c.meta.events.register("before-parameter-build.s3.CreateSession", _read_only_session)
                c.meta.events.register("before-sign.s3", _remember_sessions)  # after botocore's own resolver
                _clients[name] = c
    return cast("S3Client", c)


def s3_for(bucket: str, *, read_only: bool = False) -> S3Client:
    """The S3 client for ``bucket``: ``s3_express`` for a directory bucket, else the shared one."""
    return s3_express(read_only=read_only) if is_directory_bucket(bucket) else s3()


def _read_only_session(params: dict[str, object], **_: object) -> None:
    params.setdefault("SessionMode", "ReadOnly")


_sessions: dict[str, Any] = {}  # Any: botocore's S3ExpressIdentityCache (private to botocore)


def _remember_sessions(request: Any, **_: object) -> None:  # Any: botocore's AWSRequest
    cache = request.context.get("signing", {}).get("identity_cache")
    if cache is not None:
        _sessions["cache"] = cache


def s3_express_session_left(bucket: str) -> float | None:
    """Seconds until the S3 Express session that signed the last URL for ``bucket`` expires, or None if unknown. A
    session lasts 5 minutes and botocore renews it only when fewer than 45 seconds are left, so a URL presigned with
    it works for as long as the session does, which may be less than the URL's own ``X-Amz-Expires``."""
    import datetime

    cache = _sessions.get("cache")
    if cache is None:
        return None
    expiry = getattr(cache.get_credentials(bucket), "_expiry_time", None)  # lru-cached: no new session here
    if not isinstance(expiry, datetime.datetime):
        return None
    return (expiry - datetime.datetime.now(datetime.UTC)).total_seconds()


def reset_clients() -> None:
    """Forget cached clients (tests switch between moto contexts)."""
    with _lock:
        _clients.clear()
        _sessions.clear()


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

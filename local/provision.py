"""Create the marketplace's tables, buckets, queues, streams and signing key in the embedded AWS (moto) from the
same definitions the CDK stack is built from (``infra.definitions``), and return the environment the
handlers need. Used by ``make run`` (moto server) and by the integration tests (``mock_aws``)."""

from __future__ import annotations

import json
import os
from typing import Any

from infra.definitions import (
    BUCKETS,
    CONTENT_CORS,
    DELIVERY_COPIES,
    LOCAL_PREFIX,
    PLATFORM_FEE_BPS,
    QUEUES,
    RATE_LIMITS,
    STREAMS,
    TABLES,
    local_name,
)


def table_spec(logical: str) -> dict[str, Any]:
    t = TABLES[logical]
    attrs = {"pk", "sk"} | {g.pk for g in t.gsis} | {g.sk for g in t.gsis}
    spec: dict[str, Any] = {
        "TableName": local_name("table", logical),
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attrs)],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if t.gsis:
        spec["GlobalSecondaryIndexes"] = [
            {
                "IndexName": g.name,
                "KeySchema": [{"AttributeName": g.pk, "KeyType": "HASH"}, {"AttributeName": g.sk, "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }
            for g in t.gsis
        ]
    return spec


LOCAL_MAIL_DOMAIN = "imprimatur.local"
LOCAL_PUBLIC_BASE_URL = "http://127.0.0.1:8080"
"""``PUBLIC_BASE_URL`` of the in-process gateway (tests); ``make run`` replaces it with its own listening URL."""


def provision(session: Any | None = None, *, public_base_url: str = LOCAL_PUBLIC_BASE_URL) -> dict[str, str]:
    """Create every resource (idempotently) and return the handlers' environment variables."""
    import boto3

    s = session or boto3.session.Session()
    ddb: Any = s.client("dynamodb")
    s3: Any = s.client("s3")
    sqs: Any = s.client("sqs")
    kms: Any = s.client("kms")
    env: dict[str, str] = {
        "STAGE": "local",
        "PLATFORM_FEE_BPS": str(PLATFORM_FEE_BPS),
        "PUBLIC_BASE_URL": public_base_url,  # links, certificates' issuer: never from a request's Host header
        # the stack's rate limits; RATE_LIMIT_* in the environment of `make run` (or of a test) override them
        **{k: os.environ.get(k, v) for k, v in RATE_LIMITS.env().items()},
    }

    existing = set(ddb.list_tables().get("TableNames", []))
    for logical, t in TABLES.items():
        spec = table_spec(logical)
        if spec["TableName"] not in existing:
            ddb.create_table(**spec)
            ddb.update_time_to_live(
                TableName=spec["TableName"],
                TimeToLiveSpecification={"Enabled": True, "AttributeName": t.ttl_attribute},
            )
            ddb.update_continuous_backups(
                TableName=spec["TableName"],
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
        env[t.env_var] = spec["TableName"]

    for logical, q in QUEUES.items():
        dlq_url = sqs.create_queue(QueueName=local_name("queue", q.dlq_name))["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        url = sqs.create_queue(
            QueueName=local_name("queue", logical),
            Attributes={
                "VisibilityTimeout": str(q.visibility_timeout_s),
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": q.max_receive_count}),
            },
        )["QueueUrl"]
        env[q.env_var] = url
        env[f"{logical.upper()}_DLQ_URL"] = dlq_url

    kinesis: Any = s.client("kinesis")
    for logical, st in STREAMS.items():  # the deliveries stream (issue 16): same shards as the stack
        name = local_name("stream", logical)
        try:
            kinesis.create_stream(StreamName=name, ShardCount=st.shards)
        except kinesis.exceptions.ResourceInUseException:
            pass
        env[st.env_var] = name
        env[f"{logical.upper()}_DLQ_URL"] = sqs.create_queue(QueueName=local_name("queue", st.dlq_name))["QueueUrl"]

    for logical, b in BUCKETS.items():
        name = local_name("bucket", logical)
        try:
            s3.create_bucket(Bucket=name)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        if b.versioned:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        env[b.env_var] = name

    # Delivery copies (issue 16): the stack's is an S3 Express One Zone directory bucket, which moto does not have; a
    # general-purpose bucket stands in, with the same code copying into it and presigning on it.
    name = local_name("bucket", DELIVERY_COPIES.name)
    try:
        s3.create_bucket(Bucket=name)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    env[DELIVERY_COPIES.env_var] = name

    # Browser uploads read each part's ETag: the same CORS rule as the stack.
    s3.put_bucket_cors(Bucket=env[BUCKETS["content"].env_var], CORSConfiguration={"CORSRules": [CONTENT_CORS]})
    # Content bucket -> uploads queue, as in the stack (S3 ObjectCreated notifications).
    uploads_arn = sqs.get_queue_attributes(QueueUrl=env[QUEUES["uploads"].env_var], AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=env[BUCKETS["content"].env_var],
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": uploads_arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )

    alias = f"alias/{LOCAL_PREFIX}-license-signing"
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases().get("Aliases", [])}
    if aliases.get(alias):
        key_id = aliases[alias]
    else:
        key_id = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY", Description="licence certificates")[
            "KeyMetadata"
        ]["KeyId"]
        kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    env["SIGNING_KEY_ID"] = key_id

    # Sign-up mail (issue 19): SES with a verified sender domain, as the stack has; `make run` switches the accounts
    # function to its local SMTP server instead (local/mail.py), the integration tests read what moto's SES sent.
    sesv2: Any = s.client("sesv2")
    try:
        sesv2.create_email_identity(EmailIdentity=LOCAL_MAIL_DOMAIN)
    except sesv2.exceptions.AlreadyExistsException:
        pass
    env.update({"MAIL_TRANSPORT": "ses", "MAIL_FROM": f"Imprimatur <no-reply@{LOCAL_MAIL_DOMAIN}>"})
    return env

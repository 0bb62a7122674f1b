"""The local side of the drift check: the resources `make run` creates in moto (local/provision.py) have the same
shape as the synthesized CloudFormation template — tables (keys, indexes, TTL), queues (visibility timeout,
redrive), streams (shards, retention, dead-letter queue), buckets (versioning), the content bucket's notification to
the uploads queue, and the delivery copies' stand-in bucket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.constructs.services import stream_dlq_env_var
from infra.definitions import (
    BUCKETS,
    DELIVERY_COPIES,
    DELIVERY_COPY_USERS,
    FUNCTIONS,
    QUEUES,
    STREAMS,
    TABLES,
    local_name,
)
from tests.infra.conftest import Resources, by_definition, function_id


@pytest.fixture(scope="module")
def local() -> Iterator[dict[str, Any]]:
    from tests.fixtures import _install_embedded_aws

    _install_embedded_aws()  # provision as `make run` does: on the embedded DynamoDB and SQS
    with mock_aws():
        from local.provision import provision

        env = provision()
        yield {
            "env": env,
            "ddb": boto3.client("dynamodb"),
            "sqs": boto3.client("sqs"),
            "s3": boto3.client("s3"),
            "kinesis": boto3.client("kinesis"),
        }


def _keys(schema: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(k["AttributeName"], k["KeyType"]) for k in schema]


@pytest.mark.parametrize("logical", sorted(TABLES))
def test_local_table_has_the_template_shape(local: dict[str, Any], resources: Resources, logical: str) -> None:
    _, table = by_definition(resources, "AWS::DynamoDB::Table", "table", logical)
    props = table["Properties"]
    desc = local["ddb"].describe_table(TableName=local_name("table", logical))["Table"]
    assert _keys(desc["KeySchema"]) == _keys(props["KeySchema"])
    assert {g["IndexName"]: _keys(g["KeySchema"]) for g in desc.get("GlobalSecondaryIndexes", [])} == {
        g["IndexName"]: _keys(g["KeySchema"]) for g in props.get("GlobalSecondaryIndexes", [])
    }
    ttl = local["ddb"].describe_time_to_live(TableName=desc["TableName"])["TimeToLiveDescription"]
    assert ttl["AttributeName"] == props["TimeToLiveSpecification"]["AttributeName"]
    assert desc["BillingModeSummary"]["BillingMode"] == props["BillingMode"]


@pytest.mark.parametrize("logical", sorted(QUEUES))
def test_local_queue_has_the_template_shape(local: dict[str, Any], resources: Resources, logical: str) -> None:
    _, queue = by_definition(resources, "AWS::SQS::Queue", "queue", logical)
    attrs = local["sqs"].get_queue_attributes(QueueUrl=local["env"][QUEUES[logical].env_var], AttributeNames=["All"])[
        "Attributes"
    ]
    assert int(attrs["VisibilityTimeout"]) == queue["Properties"]["VisibilityTimeout"]
    redrive = json.loads(attrs["RedrivePolicy"])
    assert int(redrive["maxReceiveCount"]) == queue["Properties"]["RedrivePolicy"]["maxReceiveCount"]
    assert redrive["deadLetterTargetArn"].endswith(local_name("queue", QUEUES[logical].dlq_name))


@pytest.mark.parametrize("logical", sorted(STREAMS))
def test_local_stream_has_the_template_shape(local: dict[str, Any], resources: Resources, logical: str) -> None:
    # Given the stream in the template and the one `make run` creates
    d = STREAMS[logical]
    _, stream = by_definition(resources, "AWS::Kinesis::Stream", "stream", logical)
    props = stream["Properties"]
    name = local["env"][d.env_var]
    summary = local["kinesis"].describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    # Then they have the same shards (one consumer per shard: the commit is per shard) and retention
    assert name == local_name("stream", logical)
    assert summary["OpenShardCount"] == props["ShardCount"]
    assert summary["RetentionPeriodHours"] == props["RetentionPeriodHours"]
    # And the consumer is told of a dead-letter queue of the same name in both
    dlq_url = local["env"][stream_dlq_env_var(d)]
    assert dlq_url.endswith("/" + local_name("queue", d.dlq_name))
    by_definition(resources, "AWS::SQS::Queue", "queue", d.dlq_name)


@pytest.mark.parametrize("logical", sorted(BUCKETS))
def test_local_bucket_versioning_matches(local: dict[str, Any], resources: Resources, logical: str) -> None:
    _, bucket = by_definition(resources, "AWS::S3::Bucket", "bucket", logical)
    expected = bucket["Properties"].get("VersioningConfiguration", {}).get("Status", "Suspended")
    got = local["s3"].get_bucket_versioning(Bucket=local_name("bucket", logical)).get("Status", "Suspended")
    assert got == expected


def test_content_bucket_notifies_the_uploads_queue_in_both(local: dict[str, Any], resources: Resources) -> None:
    _, bucket = by_definition(resources, "AWS::S3::Bucket", "bucket", "content")
    cloud = bucket["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert [c["Event"] for c in cloud] == ["s3:ObjectCreated:*"]
    conf = local["s3"].get_bucket_notification_configuration(Bucket=local_name("bucket", "content"))
    assert [(q["QueueArn"].rsplit(":", 1)[1], q["Events"]) for q in conf["QueueConfigurations"]] == [
        (local_name("queue", "uploads"), ["s3:ObjectCreated:*"])
    ]


def test_content_bucket_cors_matches(local: dict[str, Any], resources: Resources) -> None:
    _, bucket = by_definition(resources, "AWS::S3::Bucket", "bucket", "content")
    cloud = bucket["Properties"]["CorsConfiguration"]["CorsRules"]
    here = local["s3"].get_bucket_cors(Bucket=local_name("bucket", "content"))["CORSRules"]
    assert [
        (r["AllowedMethods"], r["AllowedOrigins"], r["AllowedHeaders"], r["ExposedHeaders"], r["MaxAge"]) for r in cloud
    ] == [
        (r["AllowedMethods"], r["AllowedOrigins"], r["AllowedHeaders"], r["ExposeHeaders"], r["MaxAgeSeconds"])
        for r in here
    ]


def test_local_delivery_bucket_stands_in_for_the_directory_bucket(local: dict[str, Any], resources: Resources) -> None:
    """Issue 16: the stack's delivery copies are an S3 Express One Zone directory bucket, whose name it gives exactly
    DELIVERY_COPY_USERS (empty where the region has no zone); moto has no directory buckets, so `make run` gives the
    same variable a general-purpose bucket of its own (one environment for every function locally)."""
    # Given the template's directory bucket and the functions it names it to
    by_definition(resources, "AWS::S3Express::DirectoryBucket", "bucket", DELIVERY_COPIES.name)
    users = {
        name
        for name in FUNCTIONS
        if DELIVERY_COPIES.env_var in resources[function_id(resources, name)]["Properties"]["Environment"]["Variables"]
    }
    assert users == set(DELIVERY_COPY_USERS)

    # Then the local environment names a bucket for the same variable: a bucket of its own, which exists, unversioned
    # like a directory bucket (DELIVERY_COPIES.versioned is False)
    name = local["env"][DELIVERY_COPIES.env_var]
    assert name == local_name("bucket", DELIVERY_COPIES.name)
    assert name not in {local_name("bucket", b) for b in BUCKETS}
    local["s3"].head_bucket(Bucket=name)
    assert not DELIVERY_COPIES.versioned
    assert local["s3"].get_bucket_versioning(Bucket=name).get("Status", "Suspended") == "Suspended"

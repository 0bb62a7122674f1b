"""Tables, buckets, queues, the usage archive catalogue and the signing key."""

from __future__ import annotations

import typing
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from functions.metering.dal.archive import ArchiveRow
from infra.constants import USAGE_ARCHIVE_PREFIX, Naming
from infra.constructs.data import USAGE_ARCHIVE_COLUMNS
from infra.definitions import BUCKETS, FUNCTIONS, QUEUES, TABLES
from tests.infra.conftest import Resources, by_definition, function_id, getatt_arn, of_type


@pytest.mark.parametrize("logical", sorted(TABLES))
def test_table_is_on_demand_with_pitr_ttl_keys_and_gsis(resources: Resources, logical: str) -> None:
    # Given the table built from its definition
    d = TABLES[logical]
    _, table = by_definition(resources, "AWS::DynamoDB::Table", "table", logical)
    props = table["Properties"]

    # Then it is on demand, recoverable, expiring on the TTL attribute and encrypted with the AWS managed key
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["DeletionProtectionEnabled"] is True  # issue 17: a DeleteTable call is refused
    assert props["TimeToLiveSpecification"] == {"AttributeName": d.ttl_attribute, "Enabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert table["DeletionPolicy"] == "Retain"
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    # And every GSI of the definition, with string keys and every attribute projected
    gsis = {g["IndexName"]: g for g in props.get("GlobalSecondaryIndexes", [])}
    assert set(gsis) == {g.name for g in d.gsis}
    for g in d.gsis:
        assert gsis[g.name]["KeySchema"] == [
            {"AttributeName": g.pk, "KeyType": "HASH"},
            {"AttributeName": g.sk, "KeyType": "RANGE"},
        ]
        assert gsis[g.name]["Projection"] == {"ProjectionType": "ALL"}
    types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
    assert set(types.values()) == {"S"}


def test_one_table_per_definition(template: Template) -> None:
    template.resource_count_is("AWS::DynamoDB::Table", len(TABLES))


def _bucket_policy_statements(resources: Resources, bucket_id: str) -> list[dict[str, Any]]:
    for policy in of_type(resources, "AWS::S3::BucketPolicy").values():
        if policy["Properties"]["Bucket"] == {"Ref": bucket_id}:
            return list(policy["Properties"]["PolicyDocument"]["Statement"])
    raise AssertionError(f"no bucket policy for {bucket_id}")


@pytest.mark.parametrize("logical", sorted(BUCKETS))
def test_buckets_are_private_encrypted_versioned_tls_only_and_logged(resources: Resources, logical: str) -> None:
    # Given a bucket built from its definition
    bucket_id, bucket = by_definition(resources, "AWS::S3::Bucket", "bucket", logical)
    props = bucket["Properties"]

    # Then public access is blocked, objects are encrypted and versioned, ACLs are disabled
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (sse,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert props["VersioningConfiguration"] == {"Status": "Enabled" if BUCKETS[logical].versioned else "Suspended"}
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert bucket["DeletionPolicy"] == "Retain"

    # And server access logs go to a separate bucket
    target = props["LoggingConfiguration"]["DestinationBucketName"]["Ref"]
    assert target != bucket_id and resources[target]["Type"] == "AWS::S3::Bucket"

    # And incomplete multipart uploads are aborted after a day, old versions expire
    rules = props["LifecycleConfiguration"]["Rules"]
    assert any(r.get("AbortIncompleteMultipartUpload") == {"DaysAfterInitiation": 1} for r in rules)
    assert any("NoncurrentVersionExpiration" in r for r in rules)

    # And the bucket policy denies every request not made over TLS
    assert {
        "Action": "s3:*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Resource": [getatt_arn(bucket_id), {"Fn::Join": ["", [getatt_arn(bucket_id), "/*"]]}],
    } in _bucket_policy_statements(resources, bucket_id)


def test_every_bucket_blocks_public_access_and_requires_tls(resources: Resources) -> None:
    # Including the access log bucket, which has no definition
    for bucket_id, bucket in of_type(resources, "AWS::S3::Bucket").items():
        assert all(bucket["Properties"]["PublicAccessBlockConfiguration"].values()), bucket_id
        statements = _bucket_policy_statements(resources, bucket_id)
        assert any(s["Effect"] == "Deny" and "aws:SecureTransport" in repr(s.get("Condition")) for s in statements)


def test_content_bucket_cors_allows_presigned_browser_uploads(resources: Resources) -> None:
    _, bucket = by_definition(resources, "AWS::S3::Bucket", "bucket", "content")
    (rule,) = bucket["Properties"]["CorsConfiguration"]["CorsRules"]
    assert {"PUT", "GET"} <= set(rule["AllowedMethods"])
    assert rule["AllowedOrigins"] == ["*"]
    assert "ETag" in rule["ExposedHeaders"]


def test_content_bucket_notifies_the_uploads_queue_on_object_created(resources: Resources) -> None:
    # Given the content bucket and the uploads queue
    _, bucket = by_definition(resources, "AWS::S3::Bucket", "bucket", "content")
    queue_id, _ = by_definition(resources, "AWS::SQS::Queue", "queue", "uploads")

    # Then ObjectCreated events go to the uploads queue
    config = bucket["Properties"]["NotificationConfiguration"]
    assert config == {"QueueConfigurations": [{"Event": "s3:ObjectCreated:*", "Queue": getatt_arn(queue_id)}]}

    # And the queue lets S3 send them, only from that bucket in this account, before the bucket is created
    (policy_id, policy), *rest = [
        (k, v)
        for k, v in of_type(resources, "AWS::SQS::QueuePolicy").items()
        if {"Ref": queue_id} in v["Properties"]["Queues"]
    ]
    assert not rest
    allow = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert len(allow) == 1
    assert allow[0]["Principal"] == {"Service": "s3.amazonaws.com"}
    assert allow[0]["Action"] == "sqs:SendMessage"
    # the generated name's prefix (CloudFormation names the bucket <stack>-<logical id>-<suffix>, lower-cased)
    bucket_id = next(k for k, v in resources.items() if v is bucket)
    pattern = allow[0]["Condition"]["ArnLike"]["aws:SourceArn"]
    assert pattern == {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":s3:::imprimatur-{bucket_id.lower()}-*"]]}
    assert allow[0]["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert policy_id in bucket["DependsOn"]


def test_no_bucket_has_a_fixed_name(resources: Resources) -> None:
    # A retained bucket with a fixed name makes a redeploy after a failed first deploy fail: CloudFormation names them
    buckets = of_type(resources, "AWS::S3::Bucket")
    assert len(buckets) >= 4
    for bucket_id, bucket in buckets.items():
        assert "BucketName" not in bucket["Properties"], bucket_id


def test_verifier_consumes_the_uploads_queue(resources: Resources) -> None:
    queue_id, _ = by_definition(resources, "AWS::SQS::Queue", "queue", "uploads")
    (esm,) = [
        v
        for v in of_type(resources, "AWS::Lambda::EventSourceMapping").values()
        if v["Properties"]["EventSourceArn"] == getatt_arn(queue_id)
    ]
    assert esm["Properties"]["FunctionName"] == {"Ref": function_id(resources, QUEUES["uploads"].consumer)}


@pytest.mark.parametrize("logical", sorted(QUEUES))
def test_queue_has_dlq_bounded_redrive_sse_tls_and_enough_visibility(resources: Resources, logical: str) -> None:
    # Given a work queue and its consumer
    d = QUEUES[logical]
    queue_id, queue = by_definition(resources, "AWS::SQS::Queue", "queue", logical)
    dlq_id, dlq = by_definition(resources, "AWS::SQS::Queue", "queue", d.dlq_name)
    props = queue["Properties"]
    consumer_timeout = resources[function_id(resources, d.consumer)]["Properties"]["Timeout"]

    # Then poison messages move to the DLQ after at most 5 receives (R5)
    assert props["RedrivePolicy"] == {"deadLetterTargetArn": getatt_arn(dlq_id), "maxReceiveCount": d.max_receive_count}
    assert d.max_receive_count <= 5
    # And a message stays invisible for at least 6x the consumer's timeout (R5)
    assert props["VisibilityTimeout"] == d.visibility_timeout_s
    assert props["VisibilityTimeout"] >= 6 * consumer_timeout
    # And both queues are encrypted (SQS managed) and refuse plain HTTP
    for qid, q in ((queue_id, queue), (dlq_id, dlq)):
        assert q["Properties"]["SqsManagedSseEnabled"] is True
        policies = [
            p for p in of_type(resources, "AWS::SQS::QueuePolicy").values() if {"Ref": qid} in p["Properties"]["Queues"]
        ]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for p in policies
            for s in p["Properties"]["PolicyDocument"]["Statement"]
        ), qid
    # And the DLQ keeps messages long enough to be inspected and redriven
    assert dlq["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    # And the work queue keeps them as long as SQS allows (its default of 4 days could expire money in an outage)
    assert props["MessageRetentionPeriod"] == 14 * 24 * 3600


@pytest.mark.parametrize("logical", sorted(QUEUES))
def test_consumer_event_source_reports_partial_batch_failures(resources: Resources, logical: str) -> None:
    # Given the queue's event source mapping
    d = QUEUES[logical]
    queue_id, _ = by_definition(resources, "AWS::SQS::Queue", "queue", logical)
    (esm,) = [
        v["Properties"]
        for v in of_type(resources, "AWS::Lambda::EventSourceMapping").values()
        if v["Properties"]["EventSourceArn"] == getatt_arn(queue_id)
    ]
    # Then it reports item failures, uses the defined batch size and feeds the defined consumer
    assert esm["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert esm["BatchSize"] == d.batch_size
    assert esm["FunctionName"] == {"Ref": function_id(resources, d.consumer)}
    if d.batch_size > 10:
        assert esm["MaximumBatchingWindowInSeconds"] >= 1
    # And its concurrency is capped (SQS allows 2 to 1,000; without a cap it scales to the account's limit)
    assert esm["ScalingConfig"] == {"MaximumConcurrency": d.max_concurrency}
    assert 2 <= d.max_concurrency <= 1000


# Every queue's dead-letter queue, followed through its redrive policy: tests/infra/test_queues_redrive.py


def test_signing_key_is_asymmetric_p256_for_signing_with_stage_alias(template: Template) -> None:
    template.has_resource_properties("AWS::KMS::Key", {"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"})
    template.has_resource_properties("AWS::KMS::Alias", {"AliasName": Naming(None).signing_key_alias})
    template.has_resource(
        "AWS::KMS::Key", {"DeletionPolicy": "Retain", "Properties": Match.object_like({"KeyUsage": "SIGN_VERIFY"})}
    )


def test_signing_key_alias_carries_the_stage() -> None:
    assert Naming("dev").signing_key_alias == "alias/imprimatur-dev-license-signing"
    assert Naming("dev").stack_name == "Imprimatur-dev"
    assert Naming(None).stack_name == "Imprimatur"
    with pytest.raises(ValueError):
        Naming("Not A Stage")


def test_usage_archive_is_queryable_with_athena(resources: Resources) -> None:
    # Given the Glue table over the usage bucket
    usage_id, _ = by_definition(resources, "AWS::S3::Bucket", "bucket", "usage")
    (table,) = of_type(resources, "AWS::Glue::Table").values()
    (database,) = of_type(resources, "AWS::Glue::Database").values()
    tin = table["Properties"]["TableInput"]
    sd = tin["StorageDescriptor"]

    # Then it reads JSON lines under usage/, partitioned by day (projected: no crawler needed)
    assert table["Properties"]["DatabaseName"] == database["Properties"]["DatabaseInput"]["Name"]
    assert sd["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert sd["Location"] == {"Fn::Join": ["", ["s3://", {"Ref": usage_id}, f"/{USAGE_ARCHIVE_PREFIX}"]]}
    assert tin["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    assert tin["Parameters"]["projection.enabled"] == "true"
    assert tin["Parameters"]["projection.dt.format"] == "yyyy-MM-dd"
    assert [c["Name"] for c in sd["Columns"]] == [n for n, _ in USAGE_ARCHIVE_COLUMNS]


def test_the_glue_columns_are_the_archive_rows_keys_and_types(resources: Resources) -> None:
    # Given the Glue table and the row the metering consumer writes (functions.metering.dal.archive.ArchiveRow)
    (table,) = of_type(resources, "AWS::Glue::Table").values()
    columns = table["Properties"]["TableInput"]["StorageDescriptor"]["Columns"]
    hints = typing.get_type_hints(ArchiveRow)
    # Then the columns are the row's keys, in order, and each column's type holds the key's values
    assert [c["Name"] for c in columns] == list(ArchiveRow.__annotations__)
    glue_type = {int: "bigint", str: "string", str | None: "string"}
    assert {c["Name"]: c["Type"] for c in columns} == {k: glue_type[t] for k, t in hints.items()}


def test_functions_exist_for_every_queue_consumer() -> None:
    assert {q.consumer for q in QUEUES.values()} <= set(FUNCTIONS)

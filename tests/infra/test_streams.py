"""The deliveries stream (issue 16): server-generated delivery events on a Kinesis data stream instead of the usage
queue, metered by one consumer per shard that commits a sequence number per chunk. What the template must say: the
stream's shards, retention and encryption; an event source that never skips a record (retried until it succeeds,
bisected, partial failures reported); writers that may only put records; a dead-letter queue for malformed records
that only the consumer sends to; alarms on the consumer's iterator age, that queue's depth and refused writes."""

from __future__ import annotations

from typing import Any

import pytest

from infra.constructs.services import (
    DELIVERY_STREAM_WRITERS,
    STREAM_WRITE_ACTIONS,
    STREAM_WRITERS,
    USAGE_ARCHIVE_WRITERS,
    USAGE_QUEUE_SENDERS,
    stream_dlq_env_var,
)
from infra.definitions import BUCKETS, FUNCTIONS, QUEUES, STREAMS
from tests.infra.conftest import (
    Resources,
    actions,
    by_definition,
    function_id,
    getatt_arn,
    of_type,
    role_id,
    role_statements,
    statements_on,
    tag,
)

FOURTEEN_DAYS = 14 * 24 * 3600


def _stream(resources: Resources, logical: str) -> tuple[str, dict[str, Any]]:
    return by_definition(resources, "AWS::Kinesis::Stream", "stream", logical)


def _esm(resources: Resources, stream_id: str) -> dict[str, Any]:
    (esm,) = [
        v["Properties"]
        for v in of_type(resources, "AWS::Lambda::EventSourceMapping").values()
        if v["Properties"]["EventSourceArn"] == getatt_arn(stream_id)
    ]
    return esm


def _env(resources: Resources, name: str) -> dict[str, Any]:
    env: dict[str, Any] = resources[function_id(resources, name)]["Properties"]["Environment"]["Variables"]
    return env


def _topic(resources: Resources) -> str:
    (topic_id,) = of_type(resources, "AWS::SNS::Topic")
    return topic_id


def _alarms(resources: Resources, metric: str, dimension: str, value: Any) -> list[dict[str, Any]]:
    return [
        a["Properties"]
        for a in of_type(resources, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == metric
        and {"Name": dimension, "Value": value} in a["Properties"].get("Dimensions", [])
    ]


def test_exactly_the_defined_streams(resources: Resources) -> None:
    streams = of_type(resources, "AWS::Kinesis::Stream")
    assert sorted(str(tag(s)) for s in streams.values()) == sorted(f"stream/{name}" for name in STREAMS)


def test_the_deliveries_stream_is_as_documented() -> None:
    # docs/infrastructure.md, "The deliveries stream": the numbers its reasoning rests on
    d = STREAMS["deliveries"]
    assert (d.consumer, d.shards, d.retention_h, d.batch_size, d.batching_window_s) == (
        "metering_stream",
        2,
        24,
        1000,
        2,
    )
    assert d.env_var == "DELIVERIES_STREAM" and stream_dlq_env_var(d) == "DELIVERIES_DLQ_URL"
    # the alarm fires long before an unprocessed record would expire
    assert d.iterator_age_alarm_s * 10 <= d.retention_h * 3600


@pytest.mark.parametrize("logical", sorted(STREAMS))
def test_stream_is_provisioned_encrypted_and_retained(resources: Resources, logical: str) -> None:
    # Given the stream built from its definition
    d = STREAMS[logical]
    _, stream = _stream(resources, logical)
    props = stream["Properties"]
    # Then it has the defined shards (provisioned, not on demand) and retention
    assert props["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert props["ShardCount"] == d.shards
    assert props["RetentionPeriodHours"] == d.retention_h
    # And it is encrypted at rest with the AWS managed key (no key policy, no KMS grant for writers or the consumer)
    assert props["StreamEncryption"] == {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}
    # And its name is generated and it outlives the stack like the tables: its records are deliveries not yet metered
    assert "Name" not in props
    assert stream["DeletionPolicy"] == "Retain" and stream["UpdateReplacePolicy"] == "Retain"


def test_the_deliveries_stream_has_two_shards_and_a_day_of_retention(resources: Resources) -> None:
    props = _stream(resources, "deliveries")[1]["Properties"]
    assert (props["ShardCount"], props["RetentionPeriodHours"]) == (2, 24)


@pytest.mark.parametrize("logical", sorted(STREAMS))
def test_consumer_reads_each_shard_in_order_and_never_skips_a_record(resources: Resources, logical: str) -> None:
    # Given the stream's one event source mapping
    d = STREAMS[logical]
    stream_id, _ = _stream(resources, logical)
    esm = _esm(resources, stream_id)
    # Then it feeds the defined consumer from the oldest record, in batches of the defined size and window
    assert esm["FunctionName"] == {"Ref": function_id(resources, d.consumer)}
    assert esm["StartingPosition"] == "TRIM_HORIZON"
    assert esm["BatchSize"] == d.batch_size
    assert esm["MaximumBatchingWindowInSeconds"] == d.batching_window_s
    # And one batch per shard at a time (the per-shard sequence-number commit needs batches in order)
    assert esm["ParallelizationFactor"] == 1
    # And a failing batch is split and its failed records reported, so the commit resumes at the first failure
    assert esm["BisectBatchOnFunctionError"] is True
    assert esm["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # And nothing is ever given up: no finite retry count, no maximum record age (CloudFormation's -1), no
    # on-failure destination that would receive skipped records
    assert esm.get("MaximumRetryAttempts", -1) == -1
    assert esm.get("MaximumRecordAgeInSeconds", -1) == -1
    assert "DestinationConfig" not in esm
    assert esm.get("Enabled", True) is True


def test_the_deliveries_mapping_has_the_issue_16_numbers(resources: Resources) -> None:
    esm = _esm(resources, _stream(resources, "deliveries")[0])
    assert (esm["BatchSize"], esm["MaximumBatchingWindowInSeconds"], esm["ParallelizationFactor"]) == (1000, 2, 1)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_stream_access_per_function(resources: Resources, name: str) -> None:
    # Given each function's statements on each stream and on the stream's dead-letter queue
    statements = role_statements(resources, role_id(resources, name))
    for logical, d in STREAMS.items():
        stream_id, _ = _stream(resources, logical)
        dlq_id, _ = by_definition(resources, "AWS::SQS::Queue", "queue", d.dlq_name)
        on_stream = statements_on(statements, stream_id)
        on_dlq = actions(statements_on(statements, dlq_id))
        env = _env(resources, name)
        if name in STREAM_WRITERS.get(logical, ()):
            # Then a writer may put records, on that stream's ARN exactly, and nothing else on it
            assert actions(on_stream) == set(STREAM_WRITE_ACTIONS) == {"kinesis:PutRecord", "kinesis:PutRecords"}
            assert all(s["Resource"] == getatt_arn(stream_id) for s in on_stream), on_stream
            assert env[d.env_var] == {"Ref": stream_id}
            assert on_dlq == set()
        elif name == d.consumer:
            # And the consumer may read it (the event source's poller), never write it, and send to its DLQ only
            granted = actions(on_stream)
            assert {"kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:DescribeStreamSummary"} <= granted
            assert not {a for a in granted if a.startswith("kinesis:Put")}
            assert on_dlq == {"sqs:SendMessage"}
            assert env[d.env_var] == {"Ref": stream_id}
        else:
            # And no other function may touch either, or is told their names
            assert on_stream == [] and on_dlq == set(), name
            assert d.env_var not in env and stream_dlq_env_var(d) not in env, name


def test_the_delivery_function_puts_records_and_no_longer_sends_usage_messages(resources: Resources) -> None:
    # Given the delivery function's role (the hot path)
    statements = role_statements(resources, role_id(resources, "delivery"))
    stream_id, _ = _stream(resources, "deliveries")
    usage_id, _ = by_definition(resources, "AWS::SQS::Queue", "queue", "usage")
    assert DELIVERY_STREAM_WRITERS == ("delivery",) and "delivery" not in USAGE_QUEUE_SENDERS
    # Then it may PutRecord on the deliveries stream
    puts = [s for s in statements if "kinesis:PutRecord" in actions([s])]
    assert puts and all(s["Resource"] == getatt_arn(stream_id) for s in puts)
    # And it may not send to the usage queue, nor to any queue
    assert statements_on(statements, usage_id) == []
    assert not {a for a in actions(statements) if a.startswith("sqs:")}
    # And the stream brought nothing else: its whole permission set is this list
    assert actions(statements) == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:ConditionCheckItem",
        "s3:GetObject",
        "s3:GetObjectVersion",
        "kinesis:PutRecord",
        "kinesis:PutRecords",
        "s3express:CreateSession",  # read-only sessions on the delivery copies (issue 16, test_delivery_copies.py)
    }


@pytest.mark.parametrize("logical", sorted(STREAMS))
def test_consumer_environment(resources: Resources, logical: str) -> None:
    # Given the consumer's environment
    d = STREAMS[logical]
    env = _env(resources, d.consumer)
    stream_id, _ = _stream(resources, logical)
    dlq_id, _ = by_definition(resources, "AWS::SQS::Queue", "queue", d.dlq_name)
    usage_bucket_id, _ = by_definition(resources, "AWS::S3::Bucket", "bucket", "usage")
    # Then it is told the stream's name, its dead-letter queue's URL and the usage archive bucket
    assert env["DELIVERIES_STREAM" if logical == "deliveries" else d.env_var] == {"Ref": stream_id}
    assert env[stream_dlq_env_var(d)] == {"Ref": dlq_id}
    assert env[BUCKETS["usage"].env_var] == {"Ref": usage_bucket_id}


def test_the_stream_consumer_writes_the_usage_archive_like_the_queue_consumer(resources: Resources) -> None:
    archive_id, _ = by_definition(resources, "AWS::S3::Bucket", "bucket", "usage")
    assert set(USAGE_ARCHIVE_WRITERS) == {QUEUES["usage"].consumer, STREAMS["deliveries"].consumer}
    for name in USAGE_ARCHIVE_WRITERS:
        puts = statements_on(role_statements(resources, role_id(resources, name)), archive_id)
        assert [s["Action"] for s in puts] == ["s3:PutObject"], name
        assert puts[0]["Resource"] == {"Fn::Join": ["", [getatt_arn(archive_id), "/usage/*"]]}


@pytest.mark.parametrize("logical", sorted(STREAMS))
def test_stream_dlq_is_encrypted_tls_only_kept_14_days_and_fed_only_by_the_consumer(
    resources: Resources, logical: str
) -> None:
    # Given the stream's dead-letter queue
    d = STREAMS[logical]
    dlq_id, dlq = by_definition(resources, "AWS::SQS::Queue", "queue", d.dlq_name)
    props = dlq["Properties"]
    # Then it is encrypted, keeps messages 14 days and redrives nowhere
    assert props["SqsManagedSseEnabled"] is True
    assert props["MessageRetentionPeriod"] == FOURTEEN_DAYS
    assert "RedrivePolicy" not in props
    # And refuses plain HTTP
    policies = [
        p for p in of_type(resources, "AWS::SQS::QueuePolicy").values() if {"Ref": dlq_id} in p["Properties"]["Queues"]
    ]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for p in policies
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    )
    # And no queue redrives into it and no event source reads it: the consumer alone sends to it
    for q in of_type(resources, "AWS::SQS::Queue").values():
        assert q["Properties"].get("RedrivePolicy", {}).get("deadLetterTargetArn") != getatt_arn(dlq_id)
    assert not [
        v
        for v in of_type(resources, "AWS::Lambda::EventSourceMapping").values()
        if v["Properties"]["EventSourceArn"] == getatt_arn(dlq_id)
    ]
    senders = [n for n in FUNCTIONS if statements_on(role_statements(resources, role_id(resources, n)), dlq_id)]
    assert senders == [d.consumer]


@pytest.mark.parametrize("logical", sorted(STREAMS))
def test_alarms_on_iterator_age_dlq_depth_and_refused_writes(resources: Resources, logical: str) -> None:
    d = STREAMS[logical]
    topic = [{"Ref": _topic(resources)}]
    # Given the consumer's iterator age (Lambda's metric, milliseconds, per function)
    (age,) = _alarms(resources, "IteratorAge", "FunctionName", {"Ref": function_id(resources, d.consumer)})
    # Then its maximum over 5 minutes above the defined age alarms the topic (and clears it)
    assert age["Namespace"] == "AWS/Lambda" and age["Statistic"] == "Maximum" and age["Period"] == 300
    assert age["Threshold"] == d.iterator_age_alarm_s * 1000 == 300_000
    assert age["ComparisonOperator"] == "GreaterThanThreshold" and age["EvaluationPeriods"] == 1
    assert age["AlarmActions"] == topic and age["OKActions"] == topic
    # And any message in the stream's dead-letter queue alarms the topic
    dlq_id, _ = by_definition(resources, "AWS::SQS::Queue", "queue", d.dlq_name)
    (depth,) = _alarms(
        resources, "ApproximateNumberOfMessagesVisible", "QueueName", {"Fn::GetAtt": [dlq_id, "QueueName"]}
    )
    assert depth["Threshold"] == 0 and depth["ComparisonOperator"] == "GreaterThanThreshold"
    assert depth["AlarmActions"] == topic
    # And so does any write the stream refuses for want of shards (the signal to add shards)
    stream_id, _ = _stream(resources, logical)
    (throttled,) = _alarms(resources, "WriteProvisionedThroughputExceeded", "StreamName", {"Ref": stream_id})
    assert throttled["Namespace"] == "AWS/Kinesis" and throttled["Statistic"] == "Sum"
    assert throttled["Threshold"] == 0 and throttled["AlarmActions"] == topic

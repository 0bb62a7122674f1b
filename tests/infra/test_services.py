"""Lambda functions: runtime, architecture, logging, tracing, environment, and one least-privilege role each."""

from __future__ import annotations

from typing import Any

import pytest

from infra.constants import ARCHITECTURE_NAME, LOG_RETENTION, RUNTIME_NAME
from infra.constructs.services import (
    CONTENT_BUCKET_ACCESS,
    CONTENT_BUCKET_LISTERS,
    DELIVERY_COPY_SESSIONS,
    SIGNERS,
    USAGE_QUEUE_SENDERS,
)
from infra.definitions import BUCKETS, FUNCTIONS, PLATFORM_FEE_BPS, QUEUES, RATE_LIMITED_FUNCTIONS, TABLES
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
)

RETENTION_DAYS = {"ONE_MONTH": 30}


def _fn(resources: Resources, name: str) -> dict[str, Any]:
    props: dict[str, Any] = resources[function_id(resources, name)]["Properties"]
    return props


def test_one_function_per_definition(resources: Resources) -> None:
    # plus CDK's BucketDeployment handler, which copies the web console's files at deploy time
    functions = of_type(resources, "AWS::Lambda::Function")
    ours = [k for k in functions if not k.startswith("CustomCDKBucketDeployment")]
    assert len(ours) == len(FUNCTIONS) and len(functions) == len(FUNCTIONS) + 1


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_matches_its_definition(resources: Resources, name: str) -> None:
    # Given the function built from FUNCTIONS[name]
    d = FUNCTIONS[name]
    props = _fn(resources, name)

    # Then the handler path is the repository's import path, on Python 3.12 / ARM64
    assert props["Handler"] == d.handler
    assert props["Runtime"] == RUNTIME_NAME
    assert props["Architectures"] == [ARCHITECTURE_NAME]
    assert props["Timeout"] == d.timeout_s
    assert props["MemorySize"] == d.memory_mb
    # And it is traced (the delivery hot path only when its caller asks: sampling it cost USD 0.25 per million), logs
    # JSON to its own log group with Lambda's START/REPORT lines filtered out (system level WARN), and uses the shared
    # dependency layer
    assert props["TracingConfig"] == {"Mode": "PassThrough" if name == "delivery" else "Active"}
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    assert props["LoggingConfig"]["SystemLogLevel"] == "WARN"
    assert len(props["Layers"]) == 1


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_logs_to_a_log_group_with_retention(resources: Resources, name: str) -> None:
    log_group_id = _fn(resources, name)["LoggingConfig"]["LogGroup"]["Ref"]
    log_group = resources[log_group_id]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] == RETENTION_DAYS[LOG_RETENTION.name]


def test_every_log_group_has_retention(resources: Resources) -> None:
    for lid, lg in of_type(resources, "AWS::Logs::LogGroup").items():
        assert lg["Properties"].get("RetentionInDays"), lid


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_environment(resources: Resources, name: str) -> None:
    # Given the function's environment
    d = FUNCTIONS[name]
    env = _fn(resources, name)["Environment"]["Variables"]

    # Then each table it uses is named by the table's variable, and no other table is
    used = set(d.tables_rw) | set(d.tables_r) | ({"limits"} if name in RATE_LIMITED_FUNCTIONS else set())
    for logical, t in TABLES.items():
        if logical in used:
            table_id, _ = by_definition(resources, "AWS::DynamoDB::Table", "table", logical)
            assert env[t.env_var] == {"Ref": table_id}
        else:
            assert t.env_var not in env
    # And the buckets, the usage queue, the service name, stage and fee are there
    assert env[BUCKETS["content"].env_var] == {
        "Ref": by_definition(resources, "AWS::S3::Bucket", "bucket", "content")[0]
    }
    assert env[BUCKETS["usage"].env_var] == {"Ref": by_definition(resources, "AWS::S3::Bucket", "bucket", "usage")[0]}
    assert env[QUEUES["usage"].env_var] == {"Ref": by_definition(resources, "AWS::SQS::Queue", "queue", "usage")[0]}
    assert env["POWERTOOLS_SERVICE_NAME"] == name
    assert env["STAGE"] == "default"
    assert env["PLATFORM_FEE_BPS"] == str(PLATFORM_FEE_BPS)
    # And only the signer knows the signing key
    assert ("SIGNING_KEY_ID" in env) == (name in SIGNERS)
    for key, value in d.extra_env.items():
        assert env[key] == value


def test_one_role_per_function_and_no_managed_policies(resources: Resources) -> None:
    roles = [role_id(resources, name) for name in FUNCTIONS]
    assert len(set(roles)) == len(FUNCTIONS)
    for rid in roles:
        assert not resources[rid]["Properties"].get("ManagedPolicyArns"), rid
        assert resources[rid]["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
            {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
        ]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_role_has_no_wildcard_action_and_star_only_for_xray(resources: Resources, name: str) -> None:
    statements = role_statements(resources, role_id(resources, name))
    for s in statements:
        assert s["Effect"] == "Allow"
        acts = [s["Action"]] if isinstance(s["Action"], str) else s["Action"]
        assert all("*" not in a for a in acts), s
        if s["Resource"] == "*":
            # dynamodb:ListStreams has no resource-level permission; the outbox relay's stream mapping needs it
            stream = {"dynamodb:ListStreams"} if name == "licensing_outbox" else set()
            assert set(acts) <= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"} | stream, s


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_table_access_is_exactly_what_the_definition_says(resources: Resources, name: str) -> None:
    # Given the function's role and its definition
    d = FUNCTIONS[name]
    statements = role_statements(resources, role_id(resources, name))
    for logical in TABLES:
        table_id, _ = by_definition(resources, "AWS::DynamoDB::Table", "table", logical)
        granted = actions(statements_on(statements, table_id))
        # Then owners read and write, readers only read, others get nothing
        if logical in d.tables_rw:
            assert {
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:Query",
                "dynamodb:ConditionCheckItem",
            } <= granted
        elif logical in d.tables_r:
            reads = {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}
            if d.budget_writer and logical == "licensing":  # ARCHITECTURE.md's one exception, scoped by key below
                reads |= {"dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"}
            if d.scans:  # the ledger auditor (below)
                reads |= {"dynamodb:Scan"}
            assert granted == reads
        elif logical == "limits" and name in RATE_LIMITED_FUNCTIONS:  # the rate limiter's lease, nothing else
            assert granted == {"dynamodb:UpdateItem"}
        else:
            assert granted == set()
    # And no function may change a table's definition, nor scan, except a scanner (the ledger auditor): Scan alone, on
    # exactly the base tables it reads (no index, no other table)
    assert not {a for a in actions(statements) if a.startswith("dynamodb:") and "Table" in a}
    scans = [s for s in statements if "Scan" in repr(s["Action"])]
    if d.scans:
        tables = {by_definition(resources, "AWS::DynamoDB::Table", "table", t)[0] for t in d.tables_r + d.tables_rw}
        assert [s["Action"] for s in scans] == ["dynamodb:Scan"]
        resources_ = scans[0]["Resource"] if isinstance(scans[0]["Resource"], list) else [scans[0]["Resource"]]
        assert sorted(repr(r) for r in resources_) == sorted(repr(getatt_arn(t)) for t in tables)
    else:
        assert scans == [], name


def test_only_the_signer_may_use_the_signing_key(resources: Resources) -> None:
    for name in FUNCTIONS:
        kms = {a for a in actions(role_statements(resources, role_id(resources, name))) if a.startswith("kms:")}
        if name in SIGNERS:
            assert kms == {"kms:Sign", "kms:GetPublicKey"}
        else:
            assert kms == set(), name


def test_delivery_has_no_kms_permission_at_all(resources: Resources) -> None:
    # The hot path never signs (ARCHITECTURE.md, P1)
    statements = role_statements(resources, role_id(resources, "delivery"))
    assert not [a for a in actions(statements) if a.lower().startswith("kms:")]
    (key_id,) = of_type(resources, "AWS::KMS::Key").keys() & {
        k for k, v in resources.items() if v["Properties"].get("KeyUsage") == "SIGN_VERIFY"
    }
    assert statements_on(statements, key_id) == []


def test_licensing_may_sign(resources: Resources) -> None:
    statements = role_statements(resources, role_id(resources, "licensing"))
    signing = [s for s in statements if "kms:Sign" in s["Action"]]
    assert len(signing) == 1
    key_id = signing[0]["Resource"]["Fn::GetAtt"][0]
    assert resources[key_id]["Properties"]["KeyUsage"] == "SIGN_VERIFY"


def test_content_bucket_access_per_function(resources: Resources) -> None:
    bucket_id, _ = by_definition(resources, "AWS::S3::Bucket", "bucket", "content")
    for name in FUNCTIONS:
        granted = actions(statements_on(role_statements(resources, role_id(resources, name)), bucket_id))
        listing = {"s3:ListBucket"} if name in CONTENT_BUCKET_LISTERS else set()
        assert granted == set(CONTENT_BUCKET_ACCESS.get(name, ())) | listing, name
    assert CONTENT_BUCKET_ACCESS["delivery"] == ("s3:GetObject", "s3:GetObjectVersion")
    assert CONTENT_BUCKET_ACCESS["verifier"] == ("s3:GetObject", "s3:GetObjectVersion")


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_the_verified_version_of_a_content_object_is_read_by_the_delivery_and_the_copiers(
    resources: Resources, name: str
) -> None:
    """Issue 17: deliveries presign on the S3 VersionId the verifier hashed; S3 authorises a GET naming a version with
    s3:GetObjectVersion (moto ignores IAM, so only the template shows it), on the content bucket's objects only, and
    that bucket keeps versions. Issue 16: the functions that copy that version into the delivery copies (CopyObject
    with a source VersionId) need it too; no other function has it."""
    bucket_id, bucket = by_definition(resources, "AWS::S3::Bucket", "bucket", "content")
    assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    statements = role_statements(resources, role_id(resources, name))
    versioned = [s for s in statements if "s3:GetObjectVersion" in actions([s])]
    copiers = {n for n, mode in DELIVERY_COPY_SESSIONS.items() if mode == "ReadWrite"}
    assert copiers == {"catalog", "verifier"}
    if name == "delivery" or name in copiers:
        assert versioned and all(s["Effect"] == "Allow" for s in versioned)
        assert statements_on(versioned, bucket_id) == versioned
        assert all(s["Resource"] == {"Fn::Join": ["", [getatt_arn(bucket_id), "/*"]]} for s in versioned), versioned
    else:
        assert versioned == [], name


def test_the_verifier_can_hash_the_largest_asset_within_its_timeout(resources: Resources) -> None:
    """Issue 17: 50 GiB at the stated end-to-end rate (docs/performance.md) within the verifier's timeout, one object
    per invocation, and the uploads queue hides a message for 6 timeouts."""
    from functions.catalog.models.domain import MAX_ASSET_BYTES

    fn = resources[function_id(resources, "verifier")]["Properties"]
    stated_rate = 80 * 1024 * 1024  # bytes/s: S3 read (4 ranged GETs) and SHA-256 on one vCPU, the slower of the two
    assert MAX_ASSET_BYTES / stated_rate <= 0.9 * fn["Timeout"]
    assert fn["MemorySize"] >= 1769  # one full vCPU
    assert QUEUES["uploads"].batch_size == 1
    _, queue = by_definition(resources, "AWS::SQS::Queue", "queue", "uploads")
    assert queue["Properties"]["VisibilityTimeout"] >= 6 * fn["Timeout"]


@pytest.mark.parametrize("name", ["catalog", "verifier"])
def test_catalog_and_verifier_may_list_the_content_bucket_so_a_missing_object_is_404(
    resources: Resources, name: str
) -> None:
    """Issue 17: without s3:ListBucket, S3 answers a missing object with 403 and `complete` before the upload is a 500.
    The grant is on the bucket itself (ListBucket's resource), never on its objects."""
    bucket_id, _ = by_definition(resources, "AWS::S3::Bucket", "bucket", "content")
    statements = role_statements(resources, role_id(resources, name))
    listing = [s for s in statements_on(statements, bucket_id) if "s3:ListBucket" in actions([s])]
    assert listing and all(
        (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]) == [{"Fn::GetAtt": [bucket_id, "Arn"]}]
        for s in listing
    ), listing
    assert CONTENT_BUCKET_LISTERS == ("catalog", "verifier")


def test_usage_queue_senders_and_archive_writer(resources: Resources) -> None:
    queue_id, _ = by_definition(resources, "AWS::SQS::Queue", "queue", "usage")
    archive_id, _ = by_definition(resources, "AWS::S3::Bucket", "bucket", "usage")
    for name in FUNCTIONS:
        statements = role_statements(resources, role_id(resources, name))
        on_queue = actions(statements_on(statements, queue_id))
        on_archive = actions(statements_on(statements, archive_id))
        if name in USAGE_QUEUE_SENDERS:
            assert on_queue == {"sqs:SendMessage"}
        elif name == QUEUES["usage"].consumer:
            assert "sqs:DeleteMessage" in on_queue and "sqs:SendMessage" not in on_queue
        else:
            assert on_queue == set(), name
        # both metering consumers (the usage queue's and the deliveries stream's) write the usage archive
        assert on_archive == ({"s3:PutObject"} if name in {"metering_consumer", "metering_stream"} else set()), name


def test_every_function_that_queues_messages_may_send_them() -> None:
    # licensing: the grant's charge; metering: reported usage; metering_jobs: subscription renewals;
    # licensing_outbox: grant charges whose send failed (issue 17). Not delivery: its events go to the deliveries
    # stream (issue 16, tests/infra/test_streams.py). The code paths are covered by the integration tests.
    assert set(USAGE_QUEUE_SENDERS) == {"licensing", "licensing_outbox", "metering", "metering_jobs"}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_only_budget_writers_write_licensing_and_only_budget_records(resources: Resources, name: str) -> None:
    # Given a function that is not licensing's own, and its statements on the licensing table
    d = FUNCTIONS[name]
    if "licensing" in d.tables_rw:
        return
    table_id, _ = by_definition(resources, "AWS::DynamoDB::Table", "table", "licensing")
    writes = [
        s
        for s in statements_on(role_statements(resources, role_id(resources, name)), table_id)
        if {"dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:DeleteItem"} & set(actions([s]))
    ]
    # Then budget writers may update only keys starting BUDGET# (IAM LeadingKeys), and others may not write at all
    if not d.budget_writer:
        assert writes == []
        return
    assert len(writes) == 1, writes
    assert set(actions(writes)) == {"dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"}
    assert writes[0]["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["BUDGET#*"]}}


def test_the_outbox_relay_reads_the_licensing_stream_and_may_send_usage(resources: Resources) -> None:
    """Issue 17, section 6: a grant's charge is written in the grant's transaction (an OUTBOX item); the licensing
    table's stream, filtered to INSERTs of pk = OUTBOX, invokes the relay, which may send to the usage queue; a
    schedule sweeps what the stream's retries left."""
    from infra.constructs.services import OUTBOX_RELAY

    name, table = OUTBOX_RELAY
    table_id, table_res = by_definition(resources, "AWS::DynamoDB::Table", "table", table)
    assert table_res["Properties"]["StreamSpecification"] == {"StreamViewType": "KEYS_ONLY"}
    for other in TABLES:
        if other != table:
            _, t = by_definition(resources, "AWS::DynamoDB::Table", "table", other)
            assert "StreamSpecification" not in t["Properties"], other
    (esm,) = [
        v
        for v in of_type(resources, "AWS::Lambda::EventSourceMapping").values()
        if v["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [table_id, "StreamArn"]}
    ]
    props = esm["Properties"]
    assert props["FunctionName"] == {"Ref": function_id(resources, name)}
    import json

    (pattern,) = [json.loads(f["Pattern"]) for f in props["FilterCriteria"]["Filters"]]
    assert pattern == {"eventName": ["INSERT"], "dynamodb": {"Keys": {"pk": {"S": ["OUTBOX"]}}}}
    assert props["BisectBatchOnFunctionError"] is True and props["MaximumRetryAttempts"] >= 1
    assert name in USAGE_QUEUE_SENDERS
    queue_id, _ = by_definition(resources, "AWS::SQS::Queue", "queue", "usage")
    sends = [s for s in role_statements(resources, role_id(resources, name)) if "sqs:SendMessage" in actions([s])]
    assert sends and all(
        getatt_arn(queue_id) in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]) for s in sends
    )
    from infra.definitions import SCHEDULES

    assert [(f, p) for f, _, p in SCHEDULES.values() if f == name] == [(name, {"job": "relay_outbox"})]

"""The Lambda functions (one per ``FUNCTIONS`` entry), each with its own least-privilege role and log group,
and the queue and stream consumers' event source mappings.

Permissions are written out as exact actions on exact resources. Table access comes from each
``FunctionDef`` (``tables_rw`` / ``tables_r``); the few other capabilities (content bucket, delivery copies, usage queue
and archive, deliveries stream, signing key) are declared in the tables below, so the whole access matrix reads in one
screen.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constants import (
    ARCHITECTURE,
    LOG_RETENTION,
    METRICS_NAMESPACE,
    RUNTIME,
    SQS_MAX_BATCHING_WINDOW,
    USAGE_ARCHIVE_PREFIX,
    Naming,
)
from infra.constructs.build import LambdaPackages
from infra.constructs.data import (
    DataStream,
    DeliveryCopies,
    Queues,
    SigningKey,
    Storage,
    Streams,
    Tables,
    WorkQueue,
)
from infra.definitions import (
    BUCKETS,
    DELIVERY_COPIES,
    DELIVERY_COPY_USERS,
    FUNCTIONS,
    PLATFORM_FEE_BPS,
    QUEUES,
    RATE_LIMITED_FUNCTIONS,
    RATE_LIMITS,
    STREAMS,
    TABLES,
    FunctionDef,
    RateLimits,
    StreamDef,
)
from infra.nag import acknowledge, resource_finding

TABLE_READ_ACTIONS: Final = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query")
TABLE_SCAN_ACTIONS: Final = ("dynamodb:Scan",)
"""Only for a ``FunctionDef`` with ``scans`` (the ledger auditor), on the base tables it reads."""
TABLE_WRITE_ACTIONS: Final = (
    # TransactWriteItems has no IAM action of its own: each item in a transaction is authorised by the
    # action it performs (PutItem, UpdateItem, DeleteItem, ConditionCheckItem).
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
)

CONTENT_BUCKET_ACCESS: Final[Mapping[str, tuple[str, ...]]] = {
    # Presigned PUT (single and multipart: CreateMultipartUpload, UploadPart and CompleteMultipartUpload are all
    # authorised by s3:PutObject), reading the object back to verify it on /complete, aborting a stale upload.
    # Both verifying functions copy the verified version into the delivery copies (issue 16): a CopyObject whose
    # source names a VersionId is authorised by s3:GetObjectVersion on the source, not s3:GetObject.
    "catalog": (
        "s3:PutObject",
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
    ),
    # Reads the stored object to check its size and SHA-256 after an ObjectCreated event, and copies that version.
    "verifier": ("s3:GetObject", "s3:GetObjectVersion"),
    # Signs presigned GET URLs (the hot path; the bytes never pass through Lambda) of the verified version: a GET
    # with a VersionId is authorised by s3:GetObjectVersion (issue 17: the verified bytes are the bytes served).
    "delivery": ("s3:GetObject", "s3:GetObjectVersion"),
}
# s3:ListBucket on the bucket (not its objects): without it S3 answers a missing object with 403, not 404, and
# `complete` before the upload, or a verifier racing a deleted object, would be a 500 (issue 17; moto ignores IAM).
CONTENT_BUCKET_LISTERS: Final = ("catalog", "verifier")
DELIVERY_COPY_SESSIONS: Final[Mapping[str, Literal["ReadOnly", "ReadWrite"]]] = {
    # The delivery copies' directory bucket (issue 16): every object request is authorised by a session, so
    # s3express:CreateSession on the bucket is the whole grant; the session's mode bounds what it may do. The two
    # verifying functions CopyObject into it (read-write; reading the source takes their content-bucket grant),
    # the delivery presigns GETs on it and may only open read-only sessions (s3express:SessionMode).
    "catalog": "ReadWrite",
    "verifier": "ReadWrite",
    "delivery": "ReadOnly",
}
SESSION_ACTIONS: Final = ("s3express:CreateSession",)
USAGE_QUEUE_SENDERS: Final = ("licensing", "licensing_outbox", "metering", "metering_jobs")
"""Reported usage, grant charges (sent by the grant, or relayed from the outbox), renewals. Not the delivery function:
its events go to the deliveries stream (issue 16)."""
DELIVERY_STREAM_WRITERS: Final = ("delivery",)
"""One record per delivery (the 200 of ``GET /v1/assets/{id}/content``) on the deliveries stream, nothing else."""
STREAM_WRITERS: Final[Mapping[str, tuple[str, ...]]] = {"deliveries": DELIVERY_STREAM_WRITERS}
STREAM_WRITE_ACTIONS: Final = ("kinesis:PutRecord", "kinesis:PutRecords")
"""The whole of a writer's access to a stream: no read, no describe (the producer needs only the stream's name)."""
OUTBOX_RELAY: Final = ("licensing_outbox", "licensing")
"""The function that relays the outbox, and the table whose stream it reads (only INSERTs of ``pk = OUTBOX``)."""
USAGE_ARCHIVE_WRITERS: Final = ("metering_consumer", "metering_stream")
"""Both metering consumers write the same ``usage/`` archive (the queue's events and the deliveries stream's)."""
LICENSING_QUEUE_SENDERS: Final = ("metering_jobs",)  # a renewal the budget cap cannot cover lapses the licence
BUDGET_KEY_PREFIX: Final = "BUDGET#*"
"""The only licensing-table keys a ``budget_writer`` may write (IAM ``dynamodb:LeadingKeys``)."""
SIGNERS: Final = ("licensing",)
"""The only functions allowed to use the licence-signing key (kms:Sign, kms:GetPublicKey)."""
SIGNING_ACTIONS: Final = ("kms:Sign", "kms:GetPublicKey")
RATE_LIMITS_CONTEXT: Final = "rate_limits"
"""CDK context: JSON overrides of ``infra.definitions.RATE_LIMITS`` (``window_s``, ``per_key``, ``per_ip``, ``chunk``)."""
LIMITS_ACTIONS: Final = ("dynamodb:UpdateItem",)
"""The only access to the limits table: the lease is one ``UpdateItem ADD`` (functions.shared.ratelimit)."""

RUNTIME_REASON: Final = (
    "The runtime is pinned to Python 3.12 on purpose (infra.constants.RUNTIME): the layer's wheels are built "
    "for cp312/aarch64 and the code is tested on it; moving to a newer runtime is a deliberate, tested change."
)
XRAY_REASON: Final = (
    "Active X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level "
    "permissions, so the statement CDK adds for Tracing.ACTIVE must name Resource '*'."
)


class ServiceFunction(Construct):
    """One Lambda function: its role (no managed policies), its log group with retention, JSON logs, X-Ray."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        definition: FunctionDef,
        packages: LambdaPackages,
        environment: Mapping[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.definition = definition
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Imprimatur {definition.name} function (least privilege)",
        )
        self.log_group = logs.LogGroup(self, "Logs", retention=LOG_RETENTION)
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            description=f"Imprimatur {definition.name}: {definition.handler}",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=definition.handler,
            code=packages.code,
            layers=[packages.layer],
            timeout=Duration.seconds(definition.timeout_s),
            memory_size=definition.memory_mb,
            role=self.role,
            environment=dict(environment),
            tracing=lambda_.Tracing.ACTIVE if definition.tracing == "active" else lambda_.Tracing.PASS_THROUGH,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            log_group=self.log_group,
        )
        acknowledge(self.role, "AwsSolutions-IAM5[Resource::*]", XRAY_REASON)
        acknowledge(self.function, "AwsSolutions-L1", RUNTIME_REASON)

    def allow(self, actions: tuple[str, ...], resources: list[str]) -> None:
        self.role.add_to_principal_policy(iam.PolicyStatement(actions=list(actions), resources=resources))


class Services(Construct):
    """Every function in ``FUNCTIONS``, wired to the data it may touch and nothing else."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        naming: Naming,
        packages: LambdaPackages,
        tables: Tables,
        storage: Storage,
        queues: Queues,
        streams: Streams,
        signing_key: SigningKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self._tables = tables
        self._storage = storage
        self._queues = queues
        shared_env = {
            BUCKETS["content"].env_var: storage.content.bucket_name,
            BUCKETS["usage"].env_var: storage.usage.bucket_name,
            **{q.definition.env_var: q.queue.queue_url for q in queues.queues.values()},
            "STAGE": naming.stage_label,
            "PLATFORM_FEE_BPS": str(PLATFORM_FEE_BPS),
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            # Responses can hold presigned URLs, certificates or API keys: never put them in traces.
            "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
        }
        self.functions: dict[str, ServiceFunction] = {}
        for name, definition in FUNCTIONS.items():
            env = {
                **shared_env,
                **{tables.defs[t].env_var: tables.tables[t].table_name for t in _tables_of(definition)},
                "POWERTOOLS_SERVICE_NAME": name,
                **definition.extra_env,
            }
            if name in SIGNERS:
                env["SIGNING_KEY_ID"] = signing_key.key.key_id
            if name in DELIVERY_COPY_USERS:  # "" where the region has no S3 Express zone (no delivery copies)
                env[DELIVERY_COPIES.env_var] = storage.delivery.name_or_empty
            fn = ServiceFunction(self, _construct_id(name), definition=definition, packages=packages, environment=env)
            self.functions[name] = fn
            self._grant_tables(fn)

        self._grant_content(storage.content)
        self._grant_delivery_copies(storage.delivery)
        self._grant_usage(queues.queues["usage"], storage.usage)
        self._relay_outbox()
        for name in SIGNERS:
            self.functions[name].allow(SIGNING_ACTIONS, [signing_key.key.key_arn])
        self.rate_limits = rate_limits(self)
        for name in RATE_LIMITED_FUNCTIONS:
            fn = self.functions[name]
            limits_table = tables.tables["limits"]
            for key, value in {TABLES["limits"].env_var: limits_table.table_name, **self.rate_limits.env()}.items():
                fn.function.add_environment(key, value)
            fn.allow(LIMITS_ACTIONS, [limits_table.table_arn])
        for queue in queues.queues.values():
            self._consume(queue)
        for stream in streams.streams.values():
            self._stream(stream)

    def _grant_tables(self, fn: ServiceFunction) -> None:
        d = fn.definition
        for logical in d.tables_rw:
            resources = [self._tables.tables[logical].table_arn, *self._tables.index_arns(logical)]
            fn.allow(TABLE_READ_ACTIONS + TABLE_WRITE_ACTIONS, resources)
        for logical in d.tables_r:
            resources = [self._tables.tables[logical].table_arn, *self._tables.index_arns(logical)]
            fn.allow(TABLE_READ_ACTIONS, resources)
        if d.scans:
            fn.allow(TABLE_SCAN_ACTIONS, [self._tables.tables[t].table_arn for t in _tables_of(d)])
        if d.budget_writer:  # ARCHITECTURE.md's one exception: capped licences' budget records, nothing else
            fn.role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"],
                    resources=[self._tables.tables["licensing"].table_arn],
                    conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [BUDGET_KEY_PREFIX]}},
                )
            )

    def _grant_content(self, bucket: s3.Bucket) -> None:
        for name, actions in CONTENT_BUCKET_ACCESS.items():
            fn = self.functions[name]
            fn.allow(actions, [bucket.arn_for_objects("*")])
            if name in CONTENT_BUCKET_LISTERS:
                fn.allow(("s3:ListBucket",), [bucket.bucket_arn])
            acknowledge(
                fn.role,
                resource_finding(bucket, "/*"),
                "Content objects are keyed per asset and created at run time; this bucket holds nothing but "
                f"asset content, and the actions are limited to {', '.join(actions)}.",
            )

    def _grant_delivery_copies(self, copies: DeliveryCopies) -> None:
        """``s3express:CreateSession`` on the directory bucket, in a policy of its own that exists only with the bucket
        (the ``HasExpressZone`` condition: a policy cannot name a bucket that is not there)."""
        for name, mode in DELIVERY_COPY_SESSIONS.items():
            fn = self.functions[name]
            statement = iam.PolicyStatement(
                actions=list(SESSION_ACTIONS),
                resources=[copies.bucket.attr_arn],
                conditions={"StringEquals": {"s3express:SessionMode": "ReadOnly"}} if mode == "ReadOnly" else None,
            )
            policy = iam.Policy(fn, "DeliveryCopiesPolicy", statements=[statement], roles=[fn.role])
            cfn_policy = policy.node.default_child
            assert isinstance(cfn_policy, iam.CfnPolicy)
            cfn_policy.cfn_options.condition = copies.condition

    def _grant_usage(self, usage: WorkQueue, archive: s3.Bucket) -> None:
        for name in USAGE_QUEUE_SENDERS:
            # SendMessageBatch is authorised by sqs:SendMessage; the queue uses SQS-managed SSE (no KMS grant).
            self.functions[name].allow(("sqs:SendMessage",), [usage.queue.queue_arn])
        for name in LICENSING_QUEUE_SENDERS:
            self.functions[name].allow(("sqs:SendMessage",), [self._queues.queues["licensing"].queue.queue_arn])
        for name in USAGE_ARCHIVE_WRITERS:
            fn = self.functions[name]
            fn.allow(("s3:PutObject",), [archive.arn_for_objects(f"{USAGE_ARCHIVE_PREFIX}*")])
            acknowledge(
                fn.role,
                resource_finding(archive, f"/{USAGE_ARCHIVE_PREFIX}*"),
                f"The {name} function writes one object per batch under usage/dt=YYYY-MM-DD/ (the Athena "
                "partition layout); it may only put objects, and only under that prefix.",
            )

    def _relay_outbox(self) -> None:
        name, table = OUTBOX_RELAY
        self.functions[name].function.add_event_source(
            sources.DynamoEventSource(
                self._tables.tables[table],
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=10,
                retry_attempts=10,  # then the sweep schedule relays what is left (the item stays in the table)
                bisect_batch_on_error=True,
                filters=[
                    lambda_.FilterCriteria.filter(
                        {
                            "eventName": lambda_.FilterRule.is_equal("INSERT"),
                            "dynamodb": {"Keys": {"pk": {"S": lambda_.FilterRule.is_equal("OUTBOX")}}},
                        }
                    )
                ],
            )
        )

    def _stream(self, stream: DataStream) -> None:
        """A stream's writers may only put records on it; its consumer reads it one batch per shard at a time (the
        per-shard commit needs batches in sequence order), may send malformed records to the stream's DLQ, and is
        retried until it succeeds: no ``retry_attempts`` and no ``max_record_age`` (CloudFormation's -1), because a
        record is a delivery to be paid for and must never be skipped; a stuck shard raises the iterator-age alarm."""
        d = stream.definition
        for name in STREAM_WRITERS.get(d.name, ()):
            fn = self.functions[name]
            fn.function.add_environment(d.env_var, stream.stream.stream_name)
            fn.allow(STREAM_WRITE_ACTIONS, [stream.stream.stream_arn])
        consumer = self.functions[d.consumer]
        consumer.function.add_environment(d.env_var, stream.stream.stream_name)
        consumer.function.add_environment(stream_dlq_env_var(d), stream.dlq.queue_url)
        consumer.allow(("sqs:SendMessage",), [stream.dlq.queue_arn])
        consumer.function.add_event_source(
            sources.KinesisEventSource(
                stream.stream,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=d.batch_size,
                max_batching_window=Duration.seconds(d.batching_window_s),
                parallelization_factor=1,
                bisect_batch_on_error=True,
                report_batch_item_failures=True,
            )
        )

    def _consume(self, queue: WorkQueue) -> None:
        d = queue.definition
        fn = self.functions[d.consumer]
        fn.function.add_event_source(
            sources.SqsEventSource(
                queue.queue,
                batch_size=d.batch_size,
                max_batching_window=SQS_MAX_BATCHING_WINDOW if d.batch_size > 10 else None,
                report_batch_item_failures=True,
                max_concurrency=d.max_concurrency,
            )
        )


def rate_limits(scope: Construct) -> RateLimits:
    """``RATE_LIMITS`` with the ``rate_limits`` context's overrides (a JSON object, or a JSON string from ``-c``)."""
    import dataclasses
    import json

    raw = scope.node.try_get_context(RATE_LIMITS_CONTEXT)
    if not raw:
        return RATE_LIMITS
    given = json.loads(raw) if isinstance(raw, str) else dict(raw)
    unknown = set(given) - {f.name for f in dataclasses.fields(RateLimits)}
    if unknown or not all(isinstance(v, int) and v >= 1 for v in given.values()):
        raise ValueError(f"context {RATE_LIMITS_CONTEXT} takes positive integers for window_s, per_key, per_ip, chunk")
    return dataclasses.replace(RATE_LIMITS, **given)


def _tables_of(d: FunctionDef) -> tuple[str, ...]:
    return tuple(dict.fromkeys(d.tables_rw + d.tables_r))


def stream_dlq_env_var(d: StreamDef) -> str:
    """The variable that gives a stream's consumer its dead-letter queue's URL (``DELIVERIES_DLQ_URL``)."""
    return f"{d.name.upper()}_DLQ_URL"


def _construct_id(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _assert_known() -> None:
    names = set(FUNCTIONS)
    declared = set(CONTENT_BUCKET_ACCESS) | set(USAGE_QUEUE_SENDERS) | set(USAGE_ARCHIVE_WRITERS) | set(SIGNERS)
    declared |= set(LICENSING_QUEUE_SENDERS) | set(DELIVERY_COPY_USERS)
    declared |= {q.consumer for q in QUEUES.values()} | set(RATE_LIMITED_FUNCTIONS)
    declared |= {s.consumer for s in STREAMS.values()} | {w for ws in STREAM_WRITERS.values() for w in ws}
    unknown = declared - names
    if unknown:
        raise ValueError(f"access tables name unknown functions: {sorted(unknown)}")
    if set(DELIVERY_COPY_SESSIONS) != set(DELIVERY_COPY_USERS):
        raise ValueError("DELIVERY_COPY_SESSIONS must grant a session to exactly DELIVERY_COPY_USERS")
    if set(STREAM_WRITERS) - set(STREAMS):
        raise ValueError(f"writers declared for unknown streams: {sorted(set(STREAM_WRITERS) - set(STREAMS))}")


_assert_known()

__all__ = ["ServiceFunction", "Services"]

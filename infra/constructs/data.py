"""Stateful resources, built from ``infra.definitions``: tables, buckets (and the delivery copies' S3 Express One Zone
directory bucket), queues, data streams, the usage archive catalogue and the licence-signing key."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from aws_cdk import Aws, CfnCondition, CfnMapping, Duration, Fn, ICfnConditionExpression, RemovalPolicy, Stack, Tags
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3express as s3express
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constants import (
    ABORT_INCOMPLETE_MULTIPART_AFTER,
    ACCESS_LOG_EXPIRATION,
    DLQ_RETENTION,
    NONCURRENT_VERSION_EXPIRATION,
    TAG_LOGICAL_NAME,
    USAGE_ARCHIVE_PREFIX,
    USAGE_GLUE_TABLE,
    WORK_QUEUE_RETENTION,
    Naming,
)
from infra.definitions import (
    BUCKETS,
    CONTENT_CORS,
    DELIVERY_COPIES,
    EXPRESS_ZONES,
    QUEUES,
    STREAMS,
    TABLES,
    BucketDef,
    QueueDef,
    StreamDef,
    TableDef,
)
from infra.nag import acknowledge

PK: Final = "pk"
SK: Final = "sk"

USAGE_ARCHIVE_COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    # One JSON object per line, written by the metering consumer (functions/metering).
    ("event_id", "string"),
    ("license_id", "string"),
    ("buyer_id", "string"),
    ("publisher_id", "string"),
    ("asset_id", "string"),
    ("use", "string"),
    ("units", "bigint"),
    ("occurred_at", "string"),  # RFC 3339; Athena: from_iso8601_timestamp(occurred_at)
    ("amount_micros", "bigint"),
    ("currency", "string"),
    ("source", "string"),
)
USAGE_PARTITION_KEY: Final = "dt"
USAGE_PARTITION_START: Final = "2025-01-01"


def tag_definition(scope: Construct, kind: str, logical: str) -> None:
    Tags.of(scope).add(TAG_LOGICAL_NAME, f"{kind}/{logical}")


class Tables(Construct):
    """One DynamoDB table per service (``TABLES``): ``pk``/``sk`` strings, GSIs, on-demand, PITR, TTL."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.tables: dict[str, dynamodb.Table] = {name: self._table(d) for name, d in TABLES.items()}
        self.defs: dict[str, TableDef] = dict(TABLES)

    def _table(self, d: TableDef) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            d.name.capitalize(),
            partition_key=dynamodb.Attribute(name=PK, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=SK, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=d.ttl_attribute,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=RemovalPolicy.RETAIN,
            deletion_protection=True,  # the ledger and the licences: no API call deletes them by mistake (issue 17)
            stream=dynamodb.StreamViewType.KEYS_ONLY if d.stream else None,  # the outbox relay re-reads the item
        )
        for gsi in d.gsis:
            table.add_global_secondary_index(
                index_name=gsi.name,
                partition_key=dynamodb.Attribute(name=gsi.pk, type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name=gsi.sk, type=dynamodb.AttributeType.STRING),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        tag_definition(table, "table", d.name)
        return table

    def index_arns(self, logical: str) -> list[str]:
        """The exact ARNs of a table's indexes (no ``index/*`` wildcard)."""
        table = self.tables[logical]
        return [f"{table.table_arn}/index/{g.name}" for g in self.defs[logical].gsis]


def dead_letter_queue(scope: Construct, construct_id: str = "Dlq") -> sqs.Queue:
    """A dead-letter queue as every one in the stack is: SSE (SQS-managed), TLS only, kept 14 days (``DLQ_RETENTION``).
    Each caller tags it and says, to cdk-nag, why it has no dead-letter queue of its own."""
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=DLQ_RETENTION,
    )


class WorkQueue(Construct):
    """A queue from ``QUEUES`` and its dead-letter queue: SSE (SQS-managed), TLS only, bounded redrive."""

    def __init__(self, scope: Construct, construct_id: str, *, definition: QueueDef) -> None:
        super().__init__(scope, construct_id)
        self.definition = definition
        self.dlq = dead_letter_queue(self)
        tag_definition(self.dlq, "queue", definition.dlq_name)
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(definition.visibility_timeout_s),
            retention_period=WORK_QUEUE_RETENTION,
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dlq, max_receive_count=definition.max_receive_count),
        )
        tag_definition(self.queue, "queue", definition.name)


class Queues(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.queues: dict[str, WorkQueue] = {
            name: WorkQueue(self, name.capitalize(), definition=d) for name, d in QUEUES.items()
        }


class DataStream(Construct):
    """A stream from ``STREAMS`` and the dead-letter queue its consumer sends malformed records to.

    Provisioned mode with the definition's shards (sized for P3's 1,000 deliveries/s; on-demand mode would scale by
    itself but bills every record by the KB written and read, where provisioned bills 25 KB PUT payload units and
    fixed shard-hours: docs/infrastructure.md, "The deliveries stream"), the definition's retention, server-side
    encryption with the AWS managed key ``alias/aws/kinesis`` (no key policy to keep and no KMS grant for the
    producers or the consumer). Retained like the tables: its unconsumed records are deliveries not yet metered. The dead-letter queue is the work queues' (SQS-managed SSE, TLS only, 14 days), but nothing redrives
    into it: the consumer sends a record it cannot parse there itself, so a malformed record never blocks its shard."""

    def __init__(self, scope: Construct, construct_id: str, *, definition: StreamDef) -> None:
        super().__init__(scope, construct_id)
        self.definition = definition
        self.stream = kinesis.Stream(
            self,
            "Stream",
            stream_mode=kinesis.StreamMode.PROVISIONED,
            shard_count=definition.shards,
            retention_period=Duration.hours(definition.retention_h),
            encryption=kinesis.StreamEncryption.MANAGED,
            removal_policy=RemovalPolicy.RETAIN,
        )
        tag_definition(self.stream, "stream", definition.name)
        self.dlq = dead_letter_queue(self)
        tag_definition(self.dlq, "queue", definition.dlq_name)
        acknowledge(
            self.dlq,
            "AwsSolutions-SQS3",
            f"This queue is itself a dead-letter queue: the {definition.consumer} function sends the {definition.name} "
            "stream's malformed records to it (a Kinesis event source has no SQS redrive policy, which is what the "
            "rule looks for).",
        )


class Streams(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.streams: dict[str, DataStream] = {
            name: DataStream(self, name.capitalize(), definition=d) for name, d in STREAMS.items()
        }


def _secure_bucket(
    scope: Construct,
    construct_id: str,
    *,
    definition: BucketDef | None,
    access_logs: s3.IBucket | None,
    log_prefix: str | None = None,
    lifecycle_rules: list[s3.LifecycleRule] | None = None,
    cors: list[s3.CorsRule] | None = None,
) -> s3.Bucket:
    return s3.Bucket(
        scope,
        construct_id,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        versioned=definition.versioned if definition else False,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix=log_prefix,
        lifecycle_rules=lifecycle_rules,
        cors=cors,
        removal_policy=RemovalPolicy.RETAIN,
    )


def _standard_lifecycle(versioned: bool) -> list[s3.LifecycleRule]:
    rule = s3.LifecycleRule(
        id="abort-incomplete-multipart-and-expire-old-versions",
        abort_incomplete_multipart_upload_after=ABORT_INCOMPLETE_MULTIPART_AFTER,
        noncurrent_version_expiration=NONCURRENT_VERSION_EXPIRATION if versioned else None,
    )
    return [rule]


EXPRESS_ZONES_MAPPING: Final = "ExpressZones"
"""Logical id of the template's mapping region -> ``{"zone": <S3 Express One Zone AZ ID>}`` (``EXPRESS_ZONES``)."""
EXPRESS_ZONE_KEY: Final = "zone"
HAS_EXPRESS_ZONE: Final = "HasExpressZone"
"""Logical id of the condition "the stack's region is one of ``EXPRESS_ZONES``": the directory bucket, its grants and
its output exist only then, and ``DELIVERY_BUCKET`` is empty otherwise."""
FN_OR_MAX: Final = 10
"""CloudFormation's ``Fn::Or`` takes 2 to 10 conditions; ``Fn.condition_or`` nests beyond that and returns a single
condition as itself (tests/infra/test_delivery_copies.py holds it to that)."""
SINGLE_AZ: Final = "SingleAvailabilityZone"


def region_is_one_of(regions: Iterable[str]) -> ICfnConditionExpression:
    return Fn.condition_or(*[Fn.condition_equals(Aws.REGION, r) for r in regions])


class DeliveryCopies(Construct):
    """The delivery copies (issue 16, ``DELIVERY_COPIES``): an S3 Express One Zone directory bucket in the region's
    zone from ``EXPRESS_ZONES``, created only where the region has one (the stack stays region-agnostic: a mapping and
    the ``HasExpressZone`` condition, no fixed region). No bucket name (CloudFormation generates
    ``<name>--<zone>--x-s3``), SSE-S3, retained like every bucket. A directory bucket has no public access to block, no
    ACLs, no versioning and no server access logs; every request to it is authorised by a session (``CreateSession``)
    whose grants live on the functions' roles (``infra.constructs.services``)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.mapping = CfnMapping(
            self, "Zones", mapping={region: {EXPRESS_ZONE_KEY: zone} for region, zone in EXPRESS_ZONES.items()}
        )
        self.mapping.override_logical_id(EXPRESS_ZONES_MAPPING)
        self.condition = CfnCondition(self, "HasZone", expression=region_is_one_of(EXPRESS_ZONES))
        self.condition.override_logical_id(HAS_EXPRESS_ZONE)
        self.bucket = s3express.CfnDirectoryBucket(
            self,
            "Bucket",
            data_redundancy=SINGLE_AZ,
            location_name=self.mapping.find_in_map(Aws.REGION, EXPRESS_ZONE_KEY),
            bucket_encryption=s3express.CfnDirectoryBucket.BucketEncryptionProperty(
                server_side_encryption_configuration=[
                    s3express.CfnDirectoryBucket.ServerSideEncryptionRuleProperty(
                        server_side_encryption_by_default=s3express.CfnDirectoryBucket.ServerSideEncryptionByDefaultProperty(
                            sse_algorithm="AES256"
                        )
                    )
                ]
            ),
        )
        self.bucket.cfn_options.condition = self.condition
        self.bucket.apply_removal_policy(RemovalPolicy.RETAIN)
        tag_definition(self.bucket, "bucket", DELIVERY_COPIES.name)

    @property
    def name_or_empty(self) -> str:
        """The bucket's name where it exists, else "" (no delivery copies: deliveries presign on the content bucket)."""
        return Fn.condition_if(self.condition.logical_id, self.bucket.ref, "").to_string()


class Storage(Construct):
    """The content bucket (presigned browser uploads and downloads), the usage archive bucket, the bucket
    that receives both buckets' server access logs, and the delivery copies' directory bucket (``DeliveryCopies``)."""

    def __init__(self, scope: Construct, construct_id: str, *, naming: Naming, uploads: WorkQueue) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = _secure_bucket(
            self,
            "AccessLogs",
            definition=None,
            access_logs=None,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=ACCESS_LOG_EXPIRATION,
                    abort_incomplete_multipart_upload_after=ABORT_INCOMPLETE_MULTIPART_AFTER,
                )
            ],
        )
        acknowledge(
            self.access_logs,
            "AwsSolutions-S1",
            "This bucket is the destination of the other buckets' server access logs; logging it to itself "
            "would loop and logging it elsewhere needs yet another bucket.",
        )

        content_def = BUCKETS["content"]
        # No BucketName on any bucket: CloudFormation generates the name, so a redeploy after a failed first deploy
        # (the bucket is retained) never collides with a bucket left behind (issue 17).
        self.content = _secure_bucket(
            self,
            "Content",
            definition=content_def,
            access_logs=self.access_logs,
            log_prefix="content/",
            lifecycle_rules=_standard_lifecycle(content_def.versioned),
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods(m) for m in CONTENT_CORS["AllowedMethods"]],
                    allowed_origins=list(CONTENT_CORS["AllowedOrigins"]),
                    allowed_headers=list(CONTENT_CORS["AllowedHeaders"]),
                    exposed_headers=list(CONTENT_CORS["ExposeHeaders"]),
                    max_age=int(CONTENT_CORS["MaxAgeSeconds"]),
                )
            ],
        )
        tag_definition(self.content, "bucket", content_def.name)
        self._notify_uploads(generated_name_arn_pattern(self.content), uploads)

        usage_def = BUCKETS["usage"]
        self.usage = _secure_bucket(
            self,
            "Usage",
            definition=usage_def,
            access_logs=self.access_logs,
            log_prefix="usage/",
            lifecycle_rules=_standard_lifecycle(usage_def.versioned),
        )
        tag_definition(self.usage, "bucket", usage_def.name)

        self.delivery = DeliveryCopies(self, "DeliveryCopies")

    def _notify_uploads(self, content_arn_pattern: str, uploads: WorkQueue) -> None:
        policy = uploads.queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowContentBucketNotifications",
                principals=[iam.ServicePrincipal("s3.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[uploads.queue.queue_arn],
                conditions={
                    # S3 validates the destination when it creates the bucket, so the policy cannot reference the
                    # bucket (a cycle): it names the generated name's prefix, and only this account's buckets.
                    "ArnLike": {"aws:SourceArn": content_arn_pattern},
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                },
            )
        )
        cfn_bucket = self.content.node.default_child
        assert isinstance(cfn_bucket, s3.CfnBucket)
        cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            queue_configurations=[
                s3.CfnBucket.QueueConfigurationProperty(event="s3:ObjectCreated:*", queue=uploads.queue.queue_arn)
            ]
        )
        if policy.policy_dependable is not None:
            self.content.node.add_dependency(policy.policy_dependable)


BUCKET_NAME_MAX: Final = 63
GENERATED_SUFFIX_MAX: Final = 14
"""CloudFormation's generated bucket names are ``<stack name>-<logical id>-<random suffix>``, lower-cased; the
suffix (with its dash) is at most 14 characters. Stack name and logical id are truncated only when the whole would
exceed 63 characters, which ``generated_name_arn_pattern`` refuses at synth time."""


def generated_name_arn_pattern(bucket: s3.Bucket) -> str:
    """An ``ArnLike`` pattern for the name CloudFormation will generate for ``bucket`` (no reference to it)."""
    stack = Stack.of(bucket)
    cfn = bucket.node.default_child
    assert isinstance(cfn, s3.CfnBucket)
    logical_id = stack.resolve(stack.get_logical_id(cfn))
    prefix = f"{stack.stack_name}-{logical_id}".lower()
    if len(prefix) + GENERATED_SUFFIX_MAX > BUCKET_NAME_MAX:
        raise ValueError(f"{prefix!r} is too long for CloudFormation to keep it whole in a generated bucket name")
    return f"arn:{Aws.PARTITION}:s3:::{prefix}-*"


class UsageCatalog(Construct):
    """Glue database and table over ``s3://<usage bucket>/usage/dt=YYYY-MM-DD/*.jsonl`` so Athena can query the
    archive. Partition projection on ``dt``: no crawler and no ``MSCK REPAIR`` needed."""

    def __init__(self, scope: Construct, construct_id: str, *, naming: Naming, bucket: s3.IBucket) -> None:
        super().__init__(scope, construct_id)
        self.database_name = naming.glue_database
        self.table_name = USAGE_GLUE_TABLE
        location = f"s3://{bucket.bucket_name}/{USAGE_ARCHIVE_PREFIX}"
        database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=self.database_name, description="Imprimatur usage archive (metering events)"
            ),
        )
        table = glue.CfnTable(
            self,
            "Table",
            catalog_id=Aws.ACCOUNT_ID,
            database_name=self.database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name=self.table_name,
                description="Metered usage events, JSON lines, partitioned by UTC day",
                table_type="EXTERNAL_TABLE",
                parameters={
                    "classification": "json",
                    "projection.enabled": "true",
                    f"projection.{USAGE_PARTITION_KEY}.type": "date",
                    f"projection.{USAGE_PARTITION_KEY}.format": "yyyy-MM-dd",
                    f"projection.{USAGE_PARTITION_KEY}.range": f"{USAGE_PARTITION_START},NOW",
                    f"projection.{USAGE_PARTITION_KEY}.interval": "1",
                    f"projection.{USAGE_PARTITION_KEY}.interval.unit": "DAYS",
                    "storage.location.template": f"{location}{USAGE_PARTITION_KEY}=${{{USAGE_PARTITION_KEY}}}/",
                },
                partition_keys=[glue.CfnTable.ColumnProperty(name=USAGE_PARTITION_KEY, type="string")],
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=location,
                    input_format="org.apache.hadoop.mapred.TextInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library="org.openx.data.jsonserde.JsonSerDe",
                        parameters={"ignore.malformed.json": "true"},
                    ),
                    columns=[glue.CfnTable.ColumnProperty(name=n, type=t) for n, t in USAGE_ARCHIVE_COLUMNS],
                ),
            ),
        )
        table.node.add_dependency(database)


class SigningKey(Construct):
    """The asymmetric KMS key that signs licence certificates and status lists (ES256). Only the licensing function
    may use it.

    ``generation`` (context ``signing_key_generation``, default 1) rotates it: a new generation is a new key (its own
    logical id and alias); the previous key is retained, not deleted, and stays published in the JWKS while listed in
    ``retired_signing_keys`` (docs/infrastructure.md, "Rotating the signing key"). Generation 1 keeps the original
    logical id and alias, so existing stacks do not change."""

    def __init__(self, scope: Construct, construct_id: str, *, naming: Naming, generation: int = 1) -> None:
        super().__init__(scope, construct_id)
        if generation < 1:
            raise ValueError(f"signing_key_generation must be 1 or more, not {generation}")
        self.generation = generation
        self.key = kms.Key(
            self,
            "Key" if generation == 1 else f"KeyG{generation}",
            description="Imprimatur licence certificate signing (ES256, JWKS served by the API)"
            + ("" if generation == 1 else f", generation {generation}"),
            key_spec=kms.KeySpec.ECC_NIST_P256,
            key_usage=kms.KeyUsage.SIGN_VERIFY,
            alias=naming.signing_key_alias if generation == 1 else f"{naming.signing_key_alias}-g{generation}",
            removal_policy=RemovalPolicy.RETAIN,
        )

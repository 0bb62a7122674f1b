"""Names, runtime choices, output keys and feature flags of the CDK app, in one place.

Resource *shapes* (tables, queues, functions, routes, schedules) live in ``infra.definitions``, which the
local mode shares; this module only holds what is specific to the cloud deployment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

APP_NAME: Final = "imprimatur"
STACK_BASE_NAME: Final = "Imprimatur"
DEFAULT_STAGE: Final = "default"
"""Value of the ``STAGE`` environment variable when no ``-c stage=...`` is given."""

STAGE_CONTEXT_KEY: Final = "stage"
_STAGE_PATTERN: Final = re.compile(r"^[a-z][a-z0-9-]{0,11}$")
"""Short, lower case: the stage is part of bucket names (63 characters at most) and of the KMS alias."""

# --- Lambda -----------------------------------------------------------------------------------------------------
RUNTIME: Final = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE: Final = lambda_.Architecture.ARM_64
RUNTIME_NAME: Final = "python3.12"
ARCHITECTURE_NAME: Final = "arm64"
PIP_PLATFORM: Final = "manylinux2014_aarch64"
PYTHON_VERSION: Final = "3.12"
RUNTIME_PROVIDED_PACKAGES: Final = frozenset({"boto3", "botocore", "s3transfer"})
"""Distributions the Lambda Python runtime already ships; never packaged into the layer."""

LOG_RETENTION: Final = logs.RetentionDays.ONE_MONTH
METRICS_NAMESPACE: Final = "Imprimatur"
LEDGER_VIOLATIONS_METRIC: Final = "LedgerViolations"
"""Published by the ledger auditor (functions.metering.handlers.audit.METRIC) with dimension ``service``."""
LEDGER_AUDIT_PERIOD: Final = Duration.days(1)
"""The auditor runs daily: its alarm looks at one day, so a violation stays in alarm until a clean run."""

# --- HTTP API ---------------------------------------------------------------------------------------------------
THROTTLE_RATE_LIMIT: Final = 1000
THROTTLE_BURST_LIMIT: Final = 2000

# --- queues, schedules, alarms ------------------------------------------------------------------------------------
DLQ_RETENTION: Final = Duration.days(14)
WORK_QUEUE_RETENTION: Final = Duration.days(14)
"""SQS's maximum (the default is 4 days): a usage message is money, and a consumer outage over a long weekend must not
expire it (issue 17)."""
SQS_MAX_BATCHING_WINDOW: Final = Duration.seconds(5)
"""Used when a queue's batch size is above 10 (SQS requires a batching window then)."""
SCHEDULE_RETRY_ATTEMPTS: Final = 3
SCHEDULE_MAX_EVENT_AGE: Final = Duration.hours(1)
ASYNC_RETRY_ATTEMPTS: Final = 2
ASYNC_MAX_EVENT_AGE: Final = Duration.hours(1)
QUEUE_AGE_ALARM_SECONDS: Final = 15 * 60
"""The metering delay we document is bounded; an older message on a work queue pages someone."""
ALARM_PERIOD: Final = Duration.minutes(5)

# --- S3 ---------------------------------------------------------------------------------------------------------
ABORT_INCOMPLETE_MULTIPART_AFTER: Final = Duration.days(1)
NONCURRENT_VERSION_EXPIRATION: Final = Duration.days(30)
ACCESS_LOG_EXPIRATION: Final = Duration.days(365)
USAGE_ARCHIVE_PREFIX: Final = "usage/"
"""Objects written by the metering consumer: ``usage/dt=YYYY-MM-DD/<batch>.jsonl``."""


class Outputs:
    """Stable CloudFormation output keys: scripts, the SDK and the docs read these."""

    API_URL: Final = "ApiUrl"
    CONSOLE_URL: Final = "ConsoleUrl"
    JWKS_URL: Final = "JwksUrl"
    CONTENT_BUCKET_NAME: Final = "ContentBucketName"
    DELIVERY_BUCKET_NAME: Final = "DeliveryBucketName"
    """The delivery copies' directory bucket (issue 16); only in a region with an S3 Express zone (``HasExpressZone``)."""
    USAGE_BUCKET_NAME: Final = "UsageBucketName"
    USAGE_QUEUE_URL: Final = "UsageQueueUrl"
    SIGNING_KEY_ID: Final = "SigningKeyId"
    ALARM_TOPIC_ARN: Final = "AlarmTopicArn"
    USAGE_GLUE_DATABASE: Final = "UsageGlueDatabaseName"
    USAGE_GLUE_TABLE: Final = "UsageGlueTableName"

    @staticmethod
    def table_name(logical: str) -> str:
        """``accounts`` -> ``AccountsTableName``."""
        return f"{logical.capitalize()}TableName"


TAG_LOGICAL_NAME: Final = "imprimatur:definition"
"""Tag carried by every resource built from ``infra.definitions`` (value ``table/catalog``, ``queue/usage``...),
so the template can be matched to the definitions without relying on generated logical ids."""


@dataclass(frozen=True)
class Naming:
    """Names that depend on the stage, so several copies of the stack can live in one account."""

    stage: str | None

    def __post_init__(self) -> None:
        if self.stage is not None and not _STAGE_PATTERN.fullmatch(self.stage):
            raise ValueError(f"stage {self.stage!r} must match {_STAGE_PATTERN.pattern}")

    @property
    def stack_name(self) -> str:
        return f"{STACK_BASE_NAME}-{self.stage}" if self.stage else STACK_BASE_NAME

    @property
    def prefix(self) -> str:
        """Lower-case prefix of physical names: ``imprimatur`` or ``imprimatur-dev``."""
        return f"{APP_NAME}-{self.stage}" if self.stage else APP_NAME

    @property
    def stage_label(self) -> str:
        return self.stage or DEFAULT_STAGE

    @property
    def signing_key_alias(self) -> str:
        return f"alias/{self.prefix}-license-signing"

    @property
    def glue_database(self) -> str:
        # Glue/Athena names: lower case, digits and underscores.
        return f"{self.prefix}_usage".replace("-", "_")


USAGE_GLUE_TABLE: Final = "usage_events"

FEATURE_FLAGS: Final[dict[str, object]] = {
    # The subset of aws-cdk-lib's recommended feature flags that touches resources in this app. Set in code
    # (not only in cdk.json) so the tests, ``python -m infra.synth`` and the CDK CLI synthesize the same template.
    "@aws-cdk/aws-iam:minimizePolicies": True,
    "@aws-cdk/aws-lambda:recognizeLayerVersion": True,
    "@aws-cdk/aws-s3:createDefaultLoggingPolicy": True,
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
    "@aws-cdk/aws-s3:publicAccessBlockedByDefault": True,
    "@aws-cdk/aws-kms:aliasNameRef": True,
    "@aws-cdk/aws-kms:applyImportedAliasPermissionsToPrincipal": True,
    "@aws-cdk/aws-kms:reduceCrossAccountRegionPolicyScope": True,
    "@aws-cdk/aws-apigateway:logGroupDestinationArnWithoutWildcard": True,
    "@aws-cdk/core:enablePartitionLiterals": True,
    "@aws-cdk/core:includePrefixInUniqueNameGeneration": True,
    "@aws-cdk/core:checkSecretUsage": True,
    "@aws-cdk/core:validateSnapshotRemovalPolicy": True,
    "@aws-cdk/aws-dynamodb:resourcePolicyPerReplica": True,
    "@aws-cdk/aws-iam:importedRoleStackSafeDefaultPolicyName": True,
    "@aws-cdk/aws-events:requireEventBusPolicySid": True,
    "@aws-cdk/aws-cloudwatch-actions:changeLambdaPermissionLogicalIdForLambdaAction": True,
    "@aws-cdk/core:annotationsInValidationReport": True,
    "@aws-cdk/core:validateAgainstDefaultRules": True,
}

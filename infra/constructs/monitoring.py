"""Alarms and the topic they notify: a message in any dead-letter queue, any function error, a work queue or a stream's
consumer falling behind, a stream refusing writes, API 5xx answers, a ledger audit finding a broken money invariant."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constants import (
    ALARM_PERIOD,
    LEDGER_AUDIT_PERIOD,
    LEDGER_VIOLATIONS_METRIC,
    METRICS_NAMESPACE,
    QUEUE_AGE_ALARM_SECONDS,
)


class Monitoring(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        # SNS server-side encryption needs a customer managed key here: CloudWatch must be allowed to use the
        # key to publish, which the AWS managed alias/aws/sns key cannot grant.
        self.topic_key = kms.Key(
            self,
            "TopicKey",
            description="Imprimatur alarm topic encryption",
            enable_key_rotation=True,
        )
        self.topic_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )
        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name="Imprimatur alarms",
            master_key=self.topic_key,
            enforce_ssl=True,
        )
        # enforce_ssl writes a topic policy, which replaces SNS's default one: without this statement CloudWatch could
        # not publish and every alarm would change state and notify nobody (issue 17)
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsOfThisAccount",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": Stack.of(self).account},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{Stack.of(self).partition}:cloudwatch:{Stack.of(self).region}:{Stack.of(self).account}:alarm:*"
                    },
                },
            )
        )
        self._action = cw_actions.SnsAction(self.topic)
        self.alarms: list[cloudwatch.Alarm] = []

    def _alarm(
        self, construct_id: str, metric: cloudwatch.IMetric, description: str, threshold: float = 0
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms.append(alarm)
        return alarm

    def dead_letter_queue(self, name: str, queue: sqs.IQueue) -> cloudwatch.Alarm:
        return self._alarm(
            f"{name}DlqNotEmpty",
            queue.metric_approximate_number_of_messages_visible(
                period=ALARM_PERIOD, statistic=cloudwatch.Stats.MAXIMUM
            ),
            f"Messages in the {name} dead-letter queue: inspect them, fix the cause, redrive.",
        )

    def queue_age(self, name: str, queue: sqs.IQueue) -> cloudwatch.Alarm:
        return self._alarm(
            f"{name}QueueBehind",
            queue.metric_approximate_age_of_oldest_message(period=ALARM_PERIOD, statistic=cloudwatch.Stats.MAXIMUM),
            f"The oldest message on the {name} queue is older than {QUEUE_AGE_ALARM_SECONDS} s: the consumer is "
            "failing or cannot keep up.",
            threshold=QUEUE_AGE_ALARM_SECONDS,
        )

    def iterator_age(self, name: str, fn: lambda_.IFunction, max_age_s: int) -> cloudwatch.Alarm:
        """A stream consumer's oldest unprocessed record (Lambda's ``IteratorAge``, milliseconds, per function) older
        than ``max_age_s``: its records are retried until they succeed, never skipped, so a poison record or a
        consumer that cannot keep up shows here (money late, not lost), long before the stream's retention."""
        return self._alarm(
            f"{name}IteratorAge",
            fn.metric("IteratorAge", period=ALARM_PERIOD, statistic=cloudwatch.Stats.MAXIMUM),
            f"The {name} function's oldest unprocessed stream record is older than {max_age_s} s: a batch keeps "
            "failing (it is retried until it succeeds, see its errors and logs) or the consumer cannot keep up; "
            "records expire at the end of the stream's retention.",
            threshold=max_age_s * 1000,
        )

    def stream_write_throttled(self, name: str, stream: kinesis.IStream) -> cloudwatch.Alarm:
        """Writes refused for want of shard capacity: the signal that the stream needs more shards."""
        return self._alarm(
            f"{name}StreamWritesThrottled",
            stream.metric_write_provisioned_throughput_exceeded(period=ALARM_PERIOD, statistic=cloudwatch.Stats.SUM),
            f"The {name} stream refused writes for want of shard capacity in {ALARM_PERIOD.to_minutes()} minutes: "
            "raise its shard count (infra/definitions.py STREAMS).",
        )

    def function_errors(self, name: str, fn: lambda_.IFunction) -> cloudwatch.Alarm:
        return self._alarm(
            f"{name}Errors",
            fn.metric_errors(period=ALARM_PERIOD, statistic=cloudwatch.Stats.SUM),
            f"The {name} function raised (or timed out) at least once in {ALARM_PERIOD.to_minutes()} minutes.",
        )

    def ledger_violations(self, service: str) -> cloudwatch.Alarm:
        return self._alarm(
            "LedgerViolations",
            cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=LEDGER_VIOLATIONS_METRIC,
                dimensions_map={"service": service},
                period=LEDGER_AUDIT_PERIOD,
                statistic=cloudwatch.Stats.MAXIMUM,
            ),
            "The ledger auditor found money invariants broken (a transaction not summing to zero, a balance unlike "
            "its postings, spend over a cap, a pool not conserving, a closed statement changed): its log names each "
            "record; run `make audit STACK=...` to see them.",
        )

    def api_server_errors(self, api: apigwv2.HttpApi) -> cloudwatch.Alarm:
        return self._alarm(
            "Api5xx",
            api.metric_server_error(period=ALARM_PERIOD, statistic=cloudwatch.Stats.SUM),
            "The HTTP API answered 5xx: the contract says bad input never yields a server error.",
        )

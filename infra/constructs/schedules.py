"""EventBridge Scheduler schedules from ``SCHEDULES``: each invokes its function with the definition's payload,
through a role of its own that may invoke only that function. Retries are bounded on both hops (Scheduler ->
Lambda, and Lambda's asynchronous retries), and what still fails lands in one dead-letter queue."""

from __future__ import annotations

import json

import jsii
from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constants import (
    ASYNC_MAX_EVENT_AGE,
    ASYNC_RETRY_ATTEMPTS,
    SCHEDULE_MAX_EVENT_AGE,
    SCHEDULE_RETRY_ATTEMPTS,
)
from infra.constructs.data import dead_letter_queue
from infra.constructs.services import Services
from infra.definitions import SCHEDULES
from infra.nag import acknowledge


@jsii.implements(lambda_.IDestination)
class _QueueDestination:
    """An asynchronous-invocation destination on an SQS queue that grants exactly ``sqs:SendMessage``
    (``aws_lambda_destinations.SqsDestination`` also grants GetQueueAttributes and GetQueueUrl)."""

    def __init__(self, queue: sqs.IQueue) -> None:
        self._queue = queue

    def bind(
        self, scope: Construct, fn: lambda_.IFunction, *, type: lambda_.DestinationType
    ) -> lambda_.DestinationConfig:
        fn.add_to_role_policy(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self._queue.queue_arn]))
        return lambda_.DestinationConfig(destination=self._queue.queue_arn)


def _construct_id(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))


class Schedules(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, services: Services) -> None:
        super().__init__(scope, construct_id)
        self.dlq = dead_letter_queue(self)
        acknowledge(
            self.dlq,
            "AwsSolutions-SQS3",
            "This queue is itself a dead-letter queue: the target of EventBridge Scheduler's DeadLetterConfig and "
            "of the scheduled functions' asynchronous on-failure destination (not an SQS redrive policy, which is "
            "what the rule looks for).",
        )
        targets = sorted({function for function, _, _ in SCHEDULES.values()})
        for name in targets:
            services.functions[name].function.configure_async_invoke(
                retry_attempts=ASYNC_RETRY_ATTEMPTS,
                max_event_age=ASYNC_MAX_EVENT_AGE,
                on_failure=_QueueDestination(self.dlq),
            )

        self.schedules: dict[str, scheduler.CfnSchedule] = {}
        self.roles: dict[str, iam.Role] = {}
        for name, (function, expression, payload) in SCHEDULES.items():
            fn = services.functions[function].function
            cid = _construct_id(name)
            role = iam.Role(
                self,
                f"{cid}Role",
                assumed_by=iam.ServicePrincipal(
                    "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
                ),
                description=f"EventBridge Scheduler: {name} -> {function}",
            )
            policy = iam.Policy(
                self,
                f"{cid}Policy",
                roles=[role],
                statements=[
                    iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[fn.function_arn]),
                    iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.dlq.queue_arn]),
                ],
            )
            schedule = scheduler.CfnSchedule(
                self,
                cid,
                description=f"Imprimatur {name}",
                schedule_expression=expression,
                schedule_expression_timezone="UTC",
                flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
                state="ENABLED",
                target=scheduler.CfnSchedule.TargetProperty(
                    arn=fn.function_arn,
                    role_arn=role.role_arn,
                    input=json.dumps(payload, sort_keys=True),
                    retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                        maximum_retry_attempts=SCHEDULE_RETRY_ATTEMPTS,
                        maximum_event_age_in_seconds=int(SCHEDULE_MAX_EVENT_AGE.to_seconds()),
                    ),
                    dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(arn=self.dlq.queue_arn),
                ),
            )
            schedule.node.add_dependency(policy)  # the role ARN reference already orders role -> schedule
            self.schedules[name] = schedule
            self.roles[name] = role

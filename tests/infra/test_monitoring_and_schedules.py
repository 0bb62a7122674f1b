"""Alarms (DLQs, function errors) on an encrypted TLS-only topic, and the EventBridge Scheduler schedules."""

from __future__ import annotations

import json

import pytest

from infra.constants import (
    ASYNC_RETRY_ATTEMPTS,
    LEDGER_VIOLATIONS_METRIC,
    METRICS_NAMESPACE,
    SCHEDULE_RETRY_ATTEMPTS,
)
from infra.definitions import FUNCTIONS, QUEUES, SCHEDULES
from tests.infra.conftest import Resources, by_definition, function_id, getatt_arn, of_type, role_statements


def _alarm_topic(resources: Resources) -> str:
    (topic_id,) = of_type(resources, "AWS::SNS::Topic")
    return topic_id


def _alarms_on(resources: Resources, metric: str, dimension: str, ref: dict[str, object]) -> list[dict[str, object]]:
    return [
        a["Properties"]
        for a in of_type(resources, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == metric
        and {"Name": dimension, "Value": ref} in a["Properties"].get("Dimensions", [])
    ]


def test_alarm_topic_is_encrypted_and_tls_only(resources: Resources) -> None:
    topic_id = _alarm_topic(resources)
    key_ref = resources[topic_id]["Properties"]["KmsMasterKeyId"]
    key_id = key_ref["Fn::GetAtt"][0]
    assert resources[key_id]["Properties"]["EnableKeyRotation"] is True
    key_policy = json.dumps(resources[key_id]["Properties"]["KeyPolicy"])
    assert "cloudwatch.amazonaws.com" in key_policy
    (policy,) = [
        p
        for p in of_type(resources, "AWS::SNS::TopicPolicy").values()
        if {"Ref": topic_id} in p["Properties"]["Topics"]
    ]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    )


def test_cloudwatch_may_publish_to_the_alarm_topic_for_this_account_only(resources: Resources) -> None:
    """Issue 17: the TLS-only topic policy replaces SNS's default one; CloudWatch must be allowed back in explicitly,
    or every alarm changes state and notifies nobody."""
    topic_id = _alarm_topic(resources)
    (policy,) = [
        p
        for p in of_type(resources, "AWS::SNS::TopicPolicy").values()
        if {"Ref": topic_id} in p["Properties"]["Topics"]
    ]
    allows = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow" and s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert len(allows) == 1
    (allow,) = allows
    assert allow["Action"] == "sns:Publish" and allow["Resource"] == {"Ref": topic_id}
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert "cloudwatch" in json.dumps(allow["Condition"]["ArnLike"]["aws:SourceArn"])


def _queue_name_ref(queue_id: str) -> dict[str, object]:
    return {"Fn::GetAtt": [queue_id, "QueueName"]}


@pytest.mark.parametrize("logical", sorted(QUEUES))
def test_dlq_alarm_on_visible_messages(resources: Resources, logical: str) -> None:
    # Given the DLQ of a work queue
    dlq_id, _ = by_definition(resources, "AWS::SQS::Queue", "queue", QUEUES[logical].dlq_name)
    # Then one alarm fires as soon as a message is visible in it, and notifies the topic
    (alarm,) = _alarms_on(resources, "ApproximateNumberOfMessagesVisible", "QueueName", _queue_name_ref(dlq_id))
    assert alarm["Threshold"] == 0
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["AlarmActions"] == [{"Ref": _alarm_topic(resources)}]


def test_schedule_dlq_is_alarmed_too(resources: Resources) -> None:
    (schedule,) = list(of_type(resources, "AWS::Scheduler::Schedule").values())[:1]
    dlq_id = schedule["Properties"]["Target"]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    assert _alarms_on(resources, "ApproximateNumberOfMessagesVisible", "QueueName", _queue_name_ref(dlq_id))


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_errors_alarm(resources: Resources, name: str) -> None:
    (alarm,) = _alarms_on(resources, "Errors", "FunctionName", {"Ref": function_id(resources, name)})
    assert alarm["Namespace"] == "AWS/Lambda"
    assert alarm["Threshold"] == 0
    assert alarm["AlarmActions"] == [{"Ref": _alarm_topic(resources)}]


def _schedules_by_input(resources: Resources) -> dict[str, dict[str, object]]:
    return {
        s["Properties"]["Target"]["Input"]: s["Properties"]
        for s in of_type(resources, "AWS::Scheduler::Schedule").values()
    }


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedule_invokes_its_function_with_its_payload(resources: Resources, name: str) -> None:
    # Given the schedule built from SCHEDULES[name]
    function, expression, payload = SCHEDULES[name]
    props = _schedules_by_input(resources)[json.dumps(payload, sort_keys=True)]
    target = props["Target"]
    assert isinstance(target, dict)

    # Then it runs on the defined expression, exactly on time, with bounded retries and a DLQ
    assert props["ScheduleExpression"] == expression
    assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert target["Arn"] == getatt_arn(function_id(resources, function))
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == SCHEDULE_RETRY_ATTEMPTS
    assert "DeadLetterConfig" in target

    # And its own role may invoke that function and nothing else
    role_id = target["RoleArn"]["Fn::GetAtt"][0]
    statements = role_statements(resources, role_id)
    invoke = [s for s in statements if s["Action"] == "lambda:InvokeFunction"]
    assert invoke == [{"Action": "lambda:InvokeFunction", "Effect": "Allow", "Resource": target["Arn"]}]
    assert {s["Action"] for s in statements} == {"lambda:InvokeFunction", "sqs:SendMessage"}
    trust = resources[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust[0]["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert "aws:SourceAccount" in trust[0]["Condition"]["StringEquals"]


def test_each_schedule_has_its_own_role(resources: Resources) -> None:
    roles = [
        s["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]
        for s in of_type(resources, "AWS::Scheduler::Schedule").values()
    ]
    assert len(roles) == len(set(roles)) == len(SCHEDULES)


def test_scheduled_functions_retry_a_bounded_number_of_times(resources: Resources) -> None:
    targets = {f for f, _, _ in SCHEDULES.values()}
    configs = {
        c["Properties"]["FunctionName"]["Ref"]: c["Properties"]
        for c in of_type(resources, "AWS::Lambda::EventInvokeConfig").values()
    }
    for name in targets:
        config = configs[function_id(resources, name)]
        assert config["MaximumRetryAttempts"] == ASYNC_RETRY_ATTEMPTS
        assert "OnFailure" in config["DestinationConfig"]


def test_ledger_violations_alarm_watches_the_auditors_metric(resources: Resources) -> None:
    # Given the metric the ledger auditor publishes (Powertools Metrics: namespace, name, dimension service)
    from functions.metering.handlers.audit import METRIC, SERVICE

    assert (METRIC, SERVICE) == (LEDGER_VIOLATIONS_METRIC, "ledger_audit")
    (alarm,) = [
        a["Properties"]
        for a in of_type(resources, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == LEDGER_VIOLATIONS_METRIC
    ]
    # Then one alarm fires on any violation in the day's run, and notifies the topic (and again when clean)
    assert alarm["Namespace"] == METRICS_NAMESPACE
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "ledger_audit"}]
    assert alarm["Statistic"] == "Maximum" and alarm["Period"] == 86400
    assert alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["EvaluationPeriods"] == 1 and alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == [{"Ref": _alarm_topic(resources)}]
    assert alarm["OKActions"] == [{"Ref": _alarm_topic(resources)}]
    # And the auditor runs on a schedule, with that service name, reading both money tables and writing none
    assert any(f == "ledger_audit" for f, _, _ in SCHEDULES.values())
    env = resources[function_id(resources, "ledger_audit")]["Properties"]["Environment"]["Variables"]
    assert env["POWERTOOLS_SERVICE_NAME"] == "ledger_audit" and env["POWERTOOLS_METRICS_NAMESPACE"] == METRICS_NAMESPACE
    d = FUNCTIONS["ledger_audit"]
    assert d.tables_rw == () and set(d.tables_r) == {"metering", "licensing"} and d.scans and not d.budget_writer

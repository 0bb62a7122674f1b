"""Every queue's failures end somewhere a person will see them: each work queue of ``QUEUES`` redrives, after its
defined ``maxReceiveCount``, to its own dead-letter queue (followed through the ``deadLetterTargetArn`` to the actual
resource, not guessed from a logical id), which keeps messages 14 days, redrives nowhere and has an alarm; every
other queue in the stack is such a dead-letter target (of a redrive policy, of EventBridge Scheduler's
``DeadLetterConfig``, of a function's asynchronous on-failure destination, or a stream's dead-letter queue, which its
consumer sends malformed records to: tests/infra/test_streams.py)."""

from __future__ import annotations

from typing import Any

import pytest

from infra.definitions import QUEUES, STREAMS
from tests.infra.conftest import Resources, by_definition, of_type, tag

FOURTEEN_DAYS = 14 * 24 * 3600


def arn_target(arn: Any, resources: Resources) -> str:
    """The logical id an ARN points at: it must be ``{"Fn::GetAtt": [<id>, "Arn"]}`` of a resource in this stack."""
    assert isinstance(arn, dict) and set(arn) == {"Fn::GetAtt"}, f"not a reference to a queue of the stack: {arn}"
    logical_id, attribute = arn["Fn::GetAtt"]
    assert attribute == "Arn" and logical_id in resources, arn
    return str(logical_id)


def alarmed_queues(resources: Resources) -> set[str]:
    out: set[str] = set()
    for alarm in of_type(resources, "AWS::CloudWatch::Alarm").values():
        for d in alarm["Properties"].get("Dimensions", []):
            value = d.get("Value")
            if d.get("Name") == "QueueName" and isinstance(value, dict) and "Fn::GetAtt" in value:
                out.add(value["Fn::GetAtt"][0])
    return out


@pytest.mark.parametrize("logical", sorted(QUEUES))
def test_each_work_queue_redrives_to_its_own_dead_letter_queue(resources: Resources, logical: str) -> None:
    d = QUEUES[logical]
    # Given the work queue built from the definition
    queue_id, queue = by_definition(resources, "AWS::SQS::Queue", "queue", logical)
    # When its redrive policy is followed to the resource it names
    policy = queue["Properties"]["RedrivePolicy"]
    dlq_id = arn_target(policy["deadLetterTargetArn"], resources)
    dlq = resources[dlq_id]
    # Then that resource is a queue, this definition's dead-letter queue, not the queue itself
    assert dlq["Type"] == "AWS::SQS::Queue" and dlq_id != queue_id
    assert tag(dlq) == f"queue/{d.dlq_name}"
    # And a message goes there after the defined number of receives
    assert policy["maxReceiveCount"] == d.max_receive_count
    # And the dead-letter queue keeps messages as long as SQS allows, redrives nowhere, and is watched
    assert dlq["Properties"]["MessageRetentionPeriod"] == FOURTEEN_DAYS
    assert "RedrivePolicy" not in dlq["Properties"]
    assert dlq_id in alarmed_queues(resources), f"no alarm on {d.dlq_name}"


def test_no_two_work_queues_share_a_dead_letter_queue(resources: Resources) -> None:
    targets = [
        arn_target(
            by_definition(resources, "AWS::SQS::Queue", "queue", name)[1]["Properties"]["RedrivePolicy"][
                "deadLetterTargetArn"
            ],
            resources,
        )
        for name in QUEUES
    ]
    assert len(set(targets)) == len(QUEUES)


def test_every_other_queue_is_a_dead_letter_target(resources: Resources) -> None:
    # Given every place the stack names a dead-letter queue
    queues = of_type(resources, "AWS::SQS::Queue")
    redrive = {
        arn_target(q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"], resources)
        for q in queues.values()
        if "RedrivePolicy" in q["Properties"]
    }
    scheduler = {
        arn_target(s["Properties"]["Target"]["DeadLetterConfig"]["Arn"], resources)
        for s in of_type(resources, "AWS::Scheduler::Schedule").values()
        if "DeadLetterConfig" in s["Properties"]["Target"]
    }
    on_failure = {
        arn_target(c["Properties"]["DestinationConfig"]["OnFailure"]["Destination"], resources)
        for c in of_type(resources, "AWS::Lambda::EventInvokeConfig").values()
        if "OnFailure" in c["Properties"].get("DestinationConfig", {})
    }
    streams = {by_definition(resources, "AWS::SQS::Queue", "queue", s.dlq_name)[0] for s in STREAMS.values()}
    work = {by_definition(resources, "AWS::SQS::Queue", "queue", name)[0] for name in QUEUES}
    # Then each queue is a work queue with a redrive policy or one of those dead-letter queues, and each of those
    # dead-letter queues redrives nowhere and is watched
    for qid, q in queues.items():
        if qid in work:
            assert "RedrivePolicy" in q["Properties"], qid
        else:
            assert qid in redrive | scheduler | on_failure | streams, (
                f"{qid} is neither a work queue nor a dead-letter queue"
            )
    dead_letter = redrive | scheduler | on_failure | streams
    assert scheduler and on_failure  # the scheduled jobs' failures have a dead-letter queue too
    assert not dead_letter & work
    assert all("RedrivePolicy" not in queues[q]["Properties"] for q in dead_letter)
    assert dead_letter <= alarmed_queues(resources)

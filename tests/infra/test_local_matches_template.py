"""The local mode and the cloud stack are built from the same definitions (``infra.definitions``); this proves
the synthesized template says what the definitions say, so the two cannot drift. The local side has the
companion check (moto resources against the same definitions).

Resources are matched by the ``imprimatur:definition`` tag the stack puts on everything it builds from a
definition, never by generated logical ids.
"""

from __future__ import annotations

from typing import Any

import pytest

from infra.definitions import BUCKETS, DELIVERY_COPIES, DELIVERY_COPY_USERS, FUNCTIONS, QUEUES, ROUTES, STREAMS, TABLES
from tests.infra.conftest import Resources, by_definition, function_id, getatt_arn, of_type, tag


def _tagged(resources: Resources, cfn_type: str, kind: str) -> set[str]:
    found = set()
    for r in of_type(resources, cfn_type).values():
        value = tag(r)
        if value and value.startswith(f"{kind}/"):
            found.add(value.split("/", 1)[1])
    return found


def _key_schema(pk: str, sk: str) -> list[dict[str, str]]:
    return [{"AttributeName": pk, "KeyType": "HASH"}, {"AttributeName": sk, "KeyType": "RANGE"}]


def test_exactly_the_defined_tables(resources: Resources) -> None:
    assert _tagged(resources, "AWS::DynamoDB::Table", "table") == set(TABLES)
    assert len(of_type(resources, "AWS::DynamoDB::Table")) == len(TABLES)


@pytest.mark.parametrize("logical", sorted(TABLES))
def test_table_matches_definition(resources: Resources, logical: str) -> None:
    d = TABLES[logical]
    _, table = by_definition(resources, "AWS::DynamoDB::Table", "table", logical)
    props: dict[str, Any] = table["Properties"]

    assert props["KeySchema"] == _key_schema("pk", "sk")
    template_gsis = {g["IndexName"]: g["KeySchema"] for g in props.get("GlobalSecondaryIndexes", [])}
    assert template_gsis == {g.name: _key_schema(g.pk, g.sk) for g in d.gsis}
    assert props["TimeToLiveSpecification"] == {"AttributeName": d.ttl_attribute, "Enabled": True}
    # Every key attribute, base and index, is a string, as the local tables declare them
    expected_attrs = {"pk", "sk"} | {g.pk for g in d.gsis} | {g.sk for g in d.gsis}
    assert {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]} == dict.fromkeys(
        expected_attrs, "S"
    )


def test_exactly_the_defined_queues_and_dlqs(resources: Resources) -> None:
    # the work queues, their dead-letter queues, and each stream's dead-letter queue (malformed records)
    expected = set(QUEUES) | {q.dlq_name for q in QUEUES.values()} | {s.dlq_name for s in STREAMS.values()}
    assert _tagged(resources, "AWS::SQS::Queue", "queue") == expected


@pytest.mark.parametrize("logical", sorted(QUEUES))
def test_queue_matches_definition(resources: Resources, logical: str) -> None:
    d = QUEUES[logical]
    _, queue = by_definition(resources, "AWS::SQS::Queue", "queue", logical)
    dlq_id, _ = by_definition(resources, "AWS::SQS::Queue", "queue", d.dlq_name)

    assert queue["Properties"]["VisibilityTimeout"] == d.visibility_timeout_s
    assert queue["Properties"]["RedrivePolicy"] == {
        "deadLetterTargetArn": getatt_arn(dlq_id),
        "maxReceiveCount": d.max_receive_count,
    }


def test_exactly_the_defined_buckets(resources: Resources) -> None:
    assert _tagged(resources, "AWS::S3::Bucket", "bucket") == set(BUCKETS)
    # and the delivery copies' S3 Express One Zone directory bucket (issue 16), which is not a general-purpose bucket
    assert _tagged(resources, "AWS::S3Express::DirectoryBucket", "bucket") == {DELIVERY_COPIES.name}
    assert DELIVERY_COPIES.name not in BUCKETS


def test_delivery_bucket_variable_is_given_to_exactly_the_defined_users(resources: Resources) -> None:
    # The local mode sets DELIVERY_BUCKET too, to a general-purpose stand-in (test_local_provision_matches_template)
    given = {
        name
        for name in FUNCTIONS
        if DELIVERY_COPIES.env_var in resources[function_id(resources, name)]["Properties"]["Environment"]["Variables"]
    }
    assert given == set(DELIVERY_COPY_USERS)


@pytest.mark.parametrize("logical", sorted(BUCKETS))
def test_bucket_matches_definition(resources: Resources, logical: str) -> None:
    _, bucket = by_definition(resources, "AWS::S3::Bucket", "bucket", logical)
    expected = "Enabled" if BUCKETS[logical].versioned else "Suspended"
    assert bucket["Properties"].get("VersioningConfiguration", {"Status": "Suspended"}) == {"Status": expected}


def test_route_keys_equal_the_defined_routes(resources: Resources) -> None:
    template_keys = [r["Properties"]["RouteKey"] for r in of_type(resources, "AWS::ApiGatewayV2::Route").values()]
    assert len(template_keys) == len(set(template_keys))
    assert set(template_keys) == {r.route_key for r in ROUTES}

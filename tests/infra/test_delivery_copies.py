"""Delivery copies (issue 16): the S3 Express One Zone directory bucket deliveries presign on, where the region has an
S3 Express zone. The stack is region-agnostic, so the bucket, its grants and its output hang on one condition
(``HasExpressZone``) over a mapping of ``EXPRESS_ZONES``; the functions' ``DELIVERY_BUCKET`` is empty elsewhere."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, CfnCondition, Stack
from aws_cdk.assertions import Template

from infra.constants import Outputs
from infra.constructs.data import EXPRESS_ZONES_MAPPING, FN_OR_MAX, HAS_EXPRESS_ZONE, region_is_one_of
from infra.definitions import DELIVERY_COPIES, DELIVERY_COPY_USERS, EXPRESS_ZONES, FUNCTIONS
from tests.infra.conftest import (
    Resources,
    actions,
    by_definition,
    function_id,
    getatt_arn,
    of_type,
    role_id,
    role_statements,
)

DIRECTORY_BUCKET = "AWS::S3Express::DirectoryBucket"
OTHER_REGIONS = [
    r
    for r in ("eu-central-1", "eu-west-2", "sa-east-1", "ap-southeast-2", "ca-central-1", "cn-north-1", "us-gov-west-1")
    if r not in EXPRESS_ZONES
]
"""Regions without an S3 Express zone in ``EXPRESS_ZONES``: the condition must be false there."""


def _holds(expr: Any, region: str, conditions: dict[str, Any]) -> bool:
    """Evaluate a CloudFormation condition for ``region`` (only what a region test needs; anything else fails)."""
    assert isinstance(expr, dict) and len(expr) == 1, expr
    ((fn, args),) = expr.items()
    if fn == "Fn::Or":
        assert 2 <= len(args) <= FN_OR_MAX, f"Fn::Or takes 2 to {FN_OR_MAX} conditions, not {len(args)}"
        return any(_holds(a, region, conditions) for a in args)
    if fn == "Fn::Equals":
        left, right = (region if a == {"Ref": "AWS::Region"} else a for a in args)
        assert isinstance(left, str) and isinstance(right, str), args
        return left == right
    if fn == "Condition":
        return _holds(conditions[args], region, conditions)
    raise AssertionError(f"unexpected condition function {fn}")


def _regions_compared(expr: Any) -> set[str]:
    """Every string an ``Fn::Equals`` in the condition compares the region with."""
    if isinstance(expr, list):
        return set().union(*(_regions_compared(e) for e in expr))
    if not isinstance(expr, dict):
        return set()
    found: set[str] = set()
    for fn, args in expr.items():
        if fn == "Fn::Equals":
            found |= {a for a in args if isinstance(a, str)}
        else:
            found |= _regions_compared(args)
    return found


def _directory_bucket(resources: Resources) -> tuple[str, dict[str, Any]]:
    assert len(of_type(resources, DIRECTORY_BUCKET)) == 1
    return by_definition(resources, DIRECTORY_BUCKET, "bucket", DELIVERY_COPIES.name)


def _env(resources: Resources, name: str) -> dict[str, Any]:
    env: dict[str, Any] = resources[function_id(resources, name)]["Properties"]["Environment"]["Variables"]
    return env


def _mentions(value: Any, logical_id: str) -> bool:
    return f"'{logical_id}'" in repr(value)


def _unguarded_mentions(value: Any, logical_id: str) -> bool:
    """Does ``value`` reference ``logical_id`` anywhere but in the true branch of an ``Fn::If`` on the condition?"""
    if isinstance(value, dict):
        if set(value) == {"Fn::If"} and value["Fn::If"][0] == HAS_EXPRESS_ZONE:
            return _unguarded_mentions(value["Fn::If"][2], logical_id)
        if value in ({"Ref": logical_id}, getatt_arn(logical_id)):
            return True
        return any(_unguarded_mentions(v, logical_id) for v in value.values())
    if isinstance(value, list):
        return any(_unguarded_mentions(v, logical_id) for v in value)
    return False


def test_directory_bucket_is_single_az_in_the_mapped_zone_only_where_there_is_one(resources: Resources) -> None:
    # Given the one directory bucket, built from DELIVERY_COPIES
    _, bucket = _directory_bucket(resources)
    props = bucket["Properties"]

    # Then it exists only under the condition, in one AZ: the region's zone from the mapping
    assert bucket.get("Condition") == HAS_EXPRESS_ZONE
    assert props["DataRedundancy"] == "SingleAvailabilityZone"
    assert props["LocationName"] == {"Fn::FindInMap": [EXPRESS_ZONES_MAPPING, {"Ref": "AWS::Region"}, "zone"]}
    # And CloudFormation names it (a retained bucket with a fixed name breaks a redeploy), it is encrypted with SSE-S3
    # and it is retained like every bucket
    assert "BucketName" not in props
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert bucket["DeletionPolicy"] == "Retain"
    assert bucket["UpdateReplacePolicy"] == "Retain"


def test_the_mapping_is_express_zones(template_json: dict[str, Any]) -> None:
    assert template_json["Mappings"][EXPRESS_ZONES_MAPPING] == {r: {"zone": z} for r, z in EXPRESS_ZONES.items()}


def test_the_condition_holds_in_exactly_the_express_regions(template_json: dict[str, Any]) -> None:
    # Given the condition as synthesized
    conditions = template_json["Conditions"]
    condition = conditions[HAS_EXPRESS_ZONE]

    # Then it is true in every region of EXPRESS_ZONES, and in no other
    assert OTHER_REGIONS
    for region in EXPRESS_ZONES:
        assert _holds(condition, region, conditions), region
    for region in OTHER_REGIONS:
        assert not _holds(condition, region, conditions), region
    # And it names no region but those (an extra one would be a zone the mapping lacks: FindInMap would fail)
    assert _regions_compared(condition) == set(EXPRESS_ZONES)


@pytest.mark.parametrize("n", [1, 2, FN_OR_MAX, FN_OR_MAX + 1, 3 * FN_OR_MAX + 4])
def test_region_conditions_stay_within_what_fn_or_takes(n: int) -> None:
    # Given a condition over n regions (EXPRESS_ZONES may grow past what one Fn::Or takes)
    stack = Stack(App(), "S")
    regions = [f"xx-test-{i}" for i in range(n)]
    CfnCondition(stack, "C", expression=region_is_one_of(regions))
    conditions = Template.from_stack(stack).to_json()["Conditions"]

    # Then every Fn::Or has 2 to 10 conditions (asserted by _holds), and it holds in exactly those regions
    assert all(_holds(conditions["C"], r, conditions) for r in regions)
    assert not _holds(conditions["C"], "xx-test-other", conditions)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_delivery_bucket_variable_is_on_exactly_the_copy_users(resources: Resources, name: str) -> None:
    # Given the function's environment and the directory bucket
    bucket_id, _ = _directory_bucket(resources)
    env = _env(resources, name)

    # Then the verifying functions and the delivery get the bucket's name where it exists, else "" (no copies)
    if name in DELIVERY_COPY_USERS:
        assert env[DELIVERY_COPIES.env_var] == {"Fn::If": [HAS_EXPRESS_ZONE, {"Ref": bucket_id}, ""]}
    else:
        assert DELIVERY_COPIES.env_var not in env
        assert not _mentions(env, bucket_id)


def test_the_copy_users_are_the_verifying_functions_and_the_delivery() -> None:
    assert set(DELIVERY_COPY_USERS) == {"catalog", "verifier", "delivery"}
    assert DELIVERY_COPIES.env_var == "DELIVERY_BUCKET"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_only_the_copy_users_may_open_sessions_and_the_delivery_only_read_only(resources: Resources, name: str) -> None:
    # Given the function's statements that grant any S3 Express action
    bucket_id, _ = _directory_bucket(resources)
    statements = role_statements(resources, role_id(resources, name))
    express = [s for s in statements if any(a.startswith("s3express:") for a in actions([s]))]

    # Then a function outside DELIVERY_COPY_USERS has none, and no statement names the bucket
    if name not in DELIVERY_COPY_USERS:
        assert express == [], name
        assert not [s for s in statements if _mentions(s, bucket_id)], name
        return
    # And each user may CreateSession on the directory bucket (the whole grant: the session authorises its requests)
    (statement,) = express
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "s3express:CreateSession"
    assert statement["Resource"] == getatt_arn(bucket_id)
    # And the delivery only read-only sessions (it presigns GETs), the verifying functions read-write ones (CopyObject)
    if name == "delivery":
        assert statement["Condition"] == {"StringEquals": {"s3express:SessionMode": "ReadOnly"}}
    else:
        assert "Condition" not in statement


@pytest.mark.parametrize("name", sorted(DELIVERY_COPY_USERS))
def test_each_session_grant_is_its_own_policy_under_the_condition(resources: Resources, name: str) -> None:
    # Given the policies attached to the user's role that mention the directory bucket
    bucket_id, _ = _directory_bucket(resources)
    role = role_id(resources, name)
    policies = [
        p
        for p in of_type(resources, "AWS::IAM::Policy").values()
        if {"Ref": role} in p["Properties"]["Roles"] and _mentions(p, bucket_id)
    ]

    # Then there is one, attached to this role alone, granting nothing else, and it exists only with the bucket
    (policy,) = policies
    assert policy["Properties"]["Roles"] == [{"Ref": role}]
    assert actions(policy["Properties"]["PolicyDocument"]["Statement"]) == {"s3express:CreateSession"}
    assert policy.get("Condition") == HAS_EXPRESS_ZONE


def test_the_output_names_the_bucket_only_where_it_exists(template_json: dict[str, Any], resources: Resources) -> None:
    bucket_id, _ = _directory_bucket(resources)
    assert template_json["Outputs"][Outputs.DELIVERY_BUCKET_NAME] == {
        "Value": {"Ref": bucket_id},
        "Condition": HAS_EXPRESS_ZONE,
    }
    assert Outputs.DELIVERY_BUCKET_NAME == "DeliveryBucketName"


def test_nothing_references_the_bucket_outside_the_condition(
    template_json: dict[str, Any], resources: Resources
) -> None:
    # A resource or output that named the bucket without the condition would fail the deploy in every other region
    bucket_id, _ = _directory_bucket(resources)
    for section in ("Resources", "Outputs"):
        for logical_id, element in template_json[section].items():
            if logical_id == bucket_id or element.get("Condition") == HAS_EXPRESS_ZONE:
                continue
            assert not _unguarded_mentions(element, bucket_id), f"{section}.{logical_id}"
            assert bucket_id not in element.get("DependsOn", []), f"{section}.{logical_id}"

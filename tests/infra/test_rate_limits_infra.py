"""Issue 17: the authoriser's sizing, its cached denies, and the rate limiter's table and permissions in the
synthesized template."""

from __future__ import annotations

from typing import Any

import pytest

from infra.constructs.services import LIMITS_ACTIONS, rate_limits
from infra.definitions import AUTH_CACHE_TTL_SECONDS, FUNCTIONS, RATE_LIMITED_FUNCTIONS, RATE_LIMITS, ROUTES, TABLES
from tests.infra.conftest import Resources, by_definition, function_id, of_type, role_id, role_statements

AUTHORISER_MEMORY_MB = 1024  # docs/performance.md, "Authoriser sizing": measured cold start scaled to Lambda's CPU
AUTHORISER_TIMEOUT_S = 6


def test_authoriser_is_sized_from_the_measurement(resources: Resources) -> None:
    props = resources[function_id(resources, "authorizer")]["Properties"]
    assert (props["MemorySize"], props["Timeout"]) == (AUTHORISER_MEMORY_MB, AUTHORISER_TIMEOUT_S)
    assert (FUNCTIONS["authorizer"].memory_mb, FUNCTIONS["authorizer"].timeout_s) == (1024, 6)


def test_authoriser_answers_are_cached_so_a_denied_key_reaches_no_route_function(resources: Resources) -> None:
    # API Gateway caches simple responses, allow and deny alike, per Authorization header for the TTL
    (authz,) = of_type(resources, "AWS::ApiGatewayV2::Authorizer").values()
    props = authz["Properties"]
    assert props["AuthorizerResultTtlInSeconds"] == AUTH_CACHE_TTL_SECONDS > 0
    assert props["EnableSimpleResponses"] is True
    assert props["IdentitySource"] == ["$request.header.Authorization"]


def test_limits_table_expires_its_counters(resources: Resources) -> None:
    _, table = by_definition(resources, "AWS::DynamoDB::Table", "table", "limits")
    p = table["Properties"]
    assert p["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert p["BillingMode"] == "PAY_PER_REQUEST"
    assert not p.get("GlobalSecondaryIndexes")


def test_every_route_function_and_the_authoriser_are_limited() -> None:
    assert set(RATE_LIMITED_FUNCTIONS) == {r.function for r in ROUTES} | {"authorizer"}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_limited_functions_get_the_table_the_limits_and_only_update_item(resources: Resources, name: str) -> None:
    table_id, _ = by_definition(resources, "AWS::DynamoDB::Table", "table", "limits")
    env = resources[function_id(resources, name)]["Properties"]["Environment"]["Variables"]
    on_table = [s for s in role_statements(resources, role_id(resources, name)) if table_id in repr(s.get("Resource"))]
    if name not in RATE_LIMITED_FUNCTIONS:
        assert TABLES["limits"].env_var not in env and on_table == []
        return
    assert env[TABLES["limits"].env_var] == {"Ref": table_id}
    for key, value in RATE_LIMITS.env().items():
        assert env[key] == value
    assert len(on_table) == 1
    statement: dict[str, Any] = on_table[0]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] in (list(LIMITS_ACTIONS), LIMITS_ACTIONS[0])
    assert statement["Resource"] == {"Fn::GetAtt": [table_id, "Arn"]}


def test_rate_limits_context_overrides_and_rejects_nonsense() -> None:
    from aws_cdk import App, Stack

    app = App(context={"rate_limits": '{"per_key": 2000, "chunk": 20}'})
    got = rate_limits(Stack(app, "S"))
    assert (got.per_key, got.chunk, got.per_ip, got.window_s) == (2000, 20, RATE_LIMITS.per_ip, RATE_LIMITS.window_s)
    bad = App(context={"rate_limits": {"per_key": 0}})
    with pytest.raises(ValueError, match="positive integers"):
        rate_limits(Stack(bad, "S"))
    with pytest.raises(ValueError):
        rate_limits(Stack(App(context={"rate_limits": {"burst": 5}}), "S"))

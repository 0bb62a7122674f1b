"""HTTP API: routes from ROUTES, the cached REQUEST authoriser on ``key`` routes, the throttled logged stage."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from infra.constants import THROTTLE_BURST_LIMIT, THROTTLE_RATE_LIMIT
from infra.definitions import AUTH_CACHE_TTL_SECONDS, ROUTES, Route
from tests.infra.conftest import Resources, function_id, of_type


def _routes(resources: Resources) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["RouteKey"]: r["Properties"] for r in of_type(resources, "AWS::ApiGatewayV2::Route").values()
    }


def test_one_route_per_definition(resources: Resources) -> None:
    routes = _routes(resources)
    assert len(of_type(resources, "AWS::ApiGatewayV2::Route")) == len(ROUTES)
    assert set(routes) == {r.route_key for r in ROUTES}


def test_authoriser_is_a_cached_request_authoriser_with_simple_responses(
    template: Template, resources: Resources
) -> None:
    template.resource_count_is("AWS::ApiGatewayV2::Authorizer", 1)
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Authorizer",
        {
            "AuthorizerType": "REQUEST",
            "AuthorizerPayloadFormatVersion": "2.0",
            "EnableSimpleResponses": True,
            "IdentitySource": ["$request.header.Authorization"],
            "AuthorizerResultTtlInSeconds": AUTH_CACHE_TTL_SECONDS,
        },
    )
    (authz,) = of_type(resources, "AWS::ApiGatewayV2::Authorizer").values()
    assert function_id(resources, "authorizer") in repr(authz["Properties"]["AuthorizerUri"])


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.route_key)
def test_route_auth_and_integration(resources: Resources, route: Route) -> None:
    # Given the route built from its definition
    props = _routes(resources)[route.route_key]
    (authorizer_id,) = of_type(resources, "AWS::ApiGatewayV2::Authorizer")

    # Then key routes go through the authoriser; public and optional routes have none at the gateway
    if route.auth == "key":
        assert props["AuthorizationType"] == "CUSTOM"
        assert props["AuthorizerId"] == {"Ref": authorizer_id}
    else:
        assert props["AuthorizationType"] == "NONE"
        assert "AuthorizerId" not in props

    # And it integrates the route's function with payload format 2.0
    integration_id = props["Target"]["Fn::Join"][1][1]["Ref"]
    integration = resources[integration_id]["Properties"]
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["PayloadFormatVersion"] == "2.0"
    assert function_id(resources, route.function) in repr(integration["IntegrationUri"])


def test_default_stage_is_throttled_and_access_logged(template: Template, resources: Resources) -> None:
    template.resource_count_is("AWS::ApiGatewayV2::Stage", 1)
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {
            "StageName": "$default",
            "AutoDeploy": True,
            "DefaultRouteSettings": {
                "ThrottlingBurstLimit": THROTTLE_BURST_LIMIT,
                "ThrottlingRateLimit": THROTTLE_RATE_LIMIT,
            },
            "AccessLogSettings": {"DestinationArn": Match.any_value(), "Format": Match.string_like_regexp("requestId")},
        },
    )
    (stage,) = of_type(resources, "AWS::ApiGatewayV2::Stage").values()
    log_group_id = stage["Properties"]["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
    assert resources[log_group_id]["Properties"]["RetentionInDays"] > 0


def test_api_gateway_may_invoke_each_integrated_function(resources: Resources) -> None:
    permitted = {
        p["Properties"]["FunctionName"]["Fn::GetAtt"][0]
        for p in of_type(resources, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "apigateway.amazonaws.com"
    }
    expected = {function_id(resources, r.function) for r in ROUTES} | {function_id(resources, "authorizer")}
    assert permitted == expected

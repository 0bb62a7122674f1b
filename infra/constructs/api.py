"""The HTTP API: one route per ``ROUTES`` entry, the cached Lambda REQUEST authoriser on ``key`` routes,
a throttled ``$default`` stage with JSON access logs."""

from __future__ import annotations

import json
from typing import Final

import jsii
from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.constants import LOG_RETENTION, THROTTLE_BURST_LIMIT, THROTTLE_RATE_LIMIT, Naming
from infra.constructs.services import Services
from infra.definitions import AUTH_CACHE_TTL_SECONDS, ROUTES, Route
from infra.nag import acknowledge

AUTHORIZER_FUNCTION: Final = "authorizer"
IDENTITY_SOURCE: Final = "$request.header.Authorization"

ACCESS_LOG_FIELDS: Final = {
    # What happened, never who said what: no headers, no query strings (they can carry keys or licence ids).
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
    "authorizerError": "$context.authorizer.error",
}

UNAUTHENTICATED_REASONS: Final = {
    "public": "Public by contract (docs/api.md, Conventions, Authentication): catalogue reads, offers, RSL documents, "
    "JWKS, token status lists, OpenAPI and health need no API key; self sign-up and its verification link are "
    "for people who have no key yet (rate-limited per address and per day in the accounts table).",
    "optional": "Key optional by contract: anyone may read an available asset, the owner (with a key) also sees "
    "drafts; HTTP API authorisers cannot be optional, so the handler authenticates a presented key itself "
    "(functions.shared.auth).",
}


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogSettings:
    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._log_group = log_group

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return apigwv2.LogGroupLogDestination(self._log_group)

    @property
    def format(self) -> apigw.AccessLogFormat:
        return apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS, separators=(",", ":")))


class Api(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, naming: Naming, services: Services) -> None:
        super().__init__(scope, construct_id)
        self.http_api = apigwv2.HttpApi(
            self,
            "HttpApi",
            api_name=f"{naming.prefix}-api",
            description="Imprimatur public API v1",
            create_default_stage=False,
        )
        self.access_logs = logs.LogGroup(self, "AccessLogs", retention=LOG_RETENTION)
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.http_api,
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(rate_limit=THROTTLE_RATE_LIMIT, burst_limit=THROTTLE_BURST_LIMIT),
            access_log_settings=_AccessLogSettings(self.access_logs),
        )
        self.authorizer = authorizers.HttpLambdaAuthorizer(
            "ApiKeyAuthorizer",
            services.functions[AUTHORIZER_FUNCTION].function,
            authorizer_name="api-key",
            response_types=[authorizers.HttpLambdaResponseType.SIMPLE],
            identity_source=[IDENTITY_SOURCE],
            results_cache_ttl=Duration.seconds(AUTH_CACHE_TTL_SECONDS),
        )
        self._integrations = {
            name: integrations.HttpLambdaIntegration(
                f"{fn.node.id}Integration",
                fn.function,
                payload_format_version=apigwv2.PayloadFormatVersion.VERSION_2_0,
            )
            for name, fn in services.functions.items()
            if any(r.function == name for r in ROUTES)
        }
        self.routes: dict[str, apigwv2.HttpRoute] = {}
        for route in ROUTES:
            self._add(route)

    def _add(self, route: Route) -> None:
        (http_route,) = self.http_api.add_routes(
            path=route.path,
            methods=[apigwv2.HttpMethod[route.method]],
            integration=self._integrations[route.function],
            authorizer=self.authorizer if route.auth == "key" else None,
        )
        self.routes[route.route_key] = http_route
        if route.auth != "key":
            acknowledge(http_route, "AwsSolutions-APIG4", UNAUTHENTICATED_REASONS[route.auth])

    @property
    def url(self) -> str:
        url = self.stage.url
        assert url is not None
        return url

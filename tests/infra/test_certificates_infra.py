"""The stack's side of "Certificates tell the truth": the public status-list route, the public base URL every
function gets (from the HTTP API, or the ``public_base_url`` context), and a rotated signing key (context
``signing_key_generation``) whose predecessor (``retired_signing_keys``) stays readable for the JWKS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from infra.app import build_app
from infra.constants import Naming, Outputs
from infra.constructs.services import SIGNERS
from infra.definitions import FUNCTIONS
from infra.synth import synthesize
from tests.infra.conftest import Resources, function_id, of_type, role_id, role_statements

RETIRED = [{"key_id": "1234abcd-12ab-34cd-56ef-1234567890ab", "retired_at": "2026-11-29T10:00:00Z"}]


def _env(resources: Resources, name: str) -> dict[str, Any]:
    env: dict[str, Any] = resources[function_id(resources, name)]["Properties"]["Environment"]["Variables"]
    return env


def test_the_status_list_route_is_public_and_served_by_licensing(resources: Resources) -> None:
    # Given the route of GET /v1/status-lists/{n}
    (route,) = [
        r["Properties"]
        for r in of_type(resources, "AWS::ApiGatewayV2::Route").values()
        if r["Properties"]["RouteKey"] == "GET /v1/status-lists/{n}"
    ]
    # Then no authoriser runs (verifiers hold no API key) and the licensing function answers it
    assert route["AuthorizationType"] == "NONE" and "AuthorizerId" not in route
    integration = resources[route["Target"]["Fn::Join"][1][1]["Ref"]]["Properties"]
    assert function_id(resources, "licensing") in repr(integration["IntegrationUri"])


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_gets_the_http_apis_url_as_public_base_url(resources: Resources, name: str) -> None:
    (api_id,) = of_type(resources, "AWS::ApiGatewayV2::Api")
    value = _env(resources, name)["PUBLIC_BASE_URL"]
    # The API's own endpoint (https://<id>.execute-api.<region>.<suffix>), never anything from a request
    assert value == {"Fn::GetAtt": [api_id, "ApiEndpoint"]}


def test_no_retired_key_by_default(resources: Resources) -> None:
    for name in SIGNERS:
        assert _env(resources, name)["RETIRED_SIGNING_KEYS"] == "[]"
        kms = [s for s in role_statements(resources, role_id(resources, name)) if "kms:" in repr(s["Action"])]
        assert len(kms) == 1  # the current key only


def test_the_jwks_output_is_on_the_public_base_url(template_json: dict[str, Any], resources: Resources) -> None:
    (api_id,) = of_type(resources, "AWS::ApiGatewayV2::Api")
    value = template_json["Outputs"][Outputs.JWKS_URL]["Value"]
    assert value == {"Fn::Join": ["", [{"Fn::GetAtt": [api_id, "ApiEndpoint"]}, "/.well-known/jwks.json"]]}


@pytest.fixture(scope="module")
def rotated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Resources]:
    # Given a stage deployed behind a custom domain, on its second signing key, the first retired (the context as
    # `python -m infra.synth -c KEY=VALUE` passes it)
    result = synthesize(
        tmp_path_factory.mktemp("rotated") / "cdk.out",
        stage="rot",
        context={
            "public_base_url": "https://api.example.org/",
            "retired_signing_keys": json.dumps(RETIRED),
            "signing_key_generation": "2",
        },
    )
    # And the cdk-nag gate still passes
    assert result.error is None and result.violations() == []
    yield result.template()["Resources"]


def test_a_custom_domain_is_the_public_base_url(rotated: Resources) -> None:
    for name in FUNCTIONS:
        assert _env(rotated, name)["PUBLIC_BASE_URL"] == "https://api.example.org"


def test_a_rotated_key_is_new_and_the_retired_one_stays_readable_not_usable(rotated: Resources) -> None:
    # Then the signing key of generation 2 is a new key under its own alias
    (alias,) = of_type(rotated, "AWS::KMS::Alias").values()
    assert alias["Properties"]["AliasName"] == f"{Naming('rot').signing_key_alias}-g2"
    (key_id,) = [
        k for k, v in of_type(rotated, "AWS::KMS::Key").items() if v["Properties"].get("KeyUsage") == "SIGN_VERIFY"
    ]
    assert key_id.startswith("SigningKeyKeyG2")
    # And the signers are told which key retired when, and may read its public key, but never sign with it
    for name in SIGNERS:
        assert json.loads(_env(rotated, name)["RETIRED_SIGNING_KEYS"]) == RETIRED
        statements = role_statements(rotated, role_id(rotated, name))
        retired = [s for s in statements if RETIRED[0]["key_id"] in json.dumps(s["Resource"])]
        assert len(retired) == 1 and retired[0]["Action"] == "kms:GetPublicKey"


def test_a_malformed_retired_key_list_fails_the_synth() -> None:
    with pytest.raises(ValueError):
        build_app(stage="bad", context={"retired_signing_keys": '[{"key_id": "k"}]'})

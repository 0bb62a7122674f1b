"""The stack is synthesized once per test session (about 15 s, plus a one-off layer build when the pins change);
every infrastructure test reads that one assembly."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from aws_cdk.assertions import Template

from infra.constants import TAG_LOGICAL_NAME
from infra.synth import SynthResult, synthesize

Resources = dict[str, dict[str, Any]]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.infra)


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynthResult]:
    # Given the app as `make synth` builds it (same code path: infra.synth.synthesize)
    yield synthesize(tmp_path_factory.mktemp("cdk") / "cdk.out")


@pytest.fixture(scope="session")
def template_json(synth: SynthResult) -> dict[str, Any]:
    return synth.template()


@pytest.fixture(scope="session")
def template(template_json: dict[str, Any]) -> Template:
    return Template.from_json(template_json)


@pytest.fixture(scope="session")
def resources(template_json: dict[str, Any]) -> Resources:
    res: Resources = template_json["Resources"]
    return res


def of_type(resources: Resources, cfn_type: str) -> Resources:
    return {k: v for k, v in resources.items() if v["Type"] == cfn_type}


def tag(resource: dict[str, Any], key: str = TAG_LOGICAL_NAME) -> str | None:
    for t in resource.get("Properties", {}).get("Tags", []) or []:
        if isinstance(t, dict) and t.get("Key") == key:
            return str(t.get("Value"))
    return None


def by_definition(resources: Resources, cfn_type: str, kind: str, logical: str) -> tuple[str, dict[str, Any]]:
    """The one resource of ``cfn_type`` built from definition ``kind/logical`` (found by its tag)."""
    matches = [(k, v) for k, v in of_type(resources, cfn_type).items() if tag(v) == f"{kind}/{logical}"]
    assert len(matches) == 1, f"expected one {cfn_type} tagged {kind}/{logical}, found {[k for k, _ in matches]}"
    return matches[0]


def getatt_arn(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def function_id(resources: Resources, name: str) -> str:
    """Logical id of the Lambda function for ``FUNCTIONS[name]`` (identified by its service name variable)."""
    matches = [
        k
        for k, v in of_type(resources, "AWS::Lambda::Function").items()
        if v["Properties"].get("Environment", {}).get("Variables", {}).get("POWERTOOLS_SERVICE_NAME") == name
    ]
    assert len(matches) == 1, f"expected one function for {name}, found {matches}"
    return matches[0]


def role_id(resources: Resources, name: str) -> str:
    role = resources[function_id(resources, name)]["Properties"]["Role"]
    assert "Fn::GetAtt" in role
    return str(role["Fn::GetAtt"][0])


def role_statements(resources: Resources, role_logical_id: str) -> list[dict[str, Any]]:
    """Every statement of every identity policy attached to a role (inline, default policy, managed)."""
    out: list[dict[str, Any]] = []
    role = resources[role_logical_id]["Properties"]
    for policy in role.get("Policies", []) or []:
        out.extend(policy["PolicyDocument"]["Statement"])
    for policy in of_type(resources, "AWS::IAM::Policy").values():
        if {"Ref": role_logical_id} in policy["Properties"].get("Roles", []):
            out.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return out


def actions(statements: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()
    for s in statements:
        a = s.get("Action", [])
        found.update([a] if isinstance(a, str) else a)
    return found


def statements_on(statements: list[dict[str, Any]], needle: str) -> list[dict[str, Any]]:
    """Statements whose Resource mentions ``needle`` (a logical id)."""
    return [s for s in statements if needle in repr(s.get("Resource"))]

"""cdk-nag (v3) wiring: the AwsSolutions rule pack as a CDK policy-validation plugin, and acknowledgements.

With cdk-nag 3, rule packs are CDK validation plugins (``Validations.of(app).add_plugins(...)``) and findings
are acknowledged with CDK's native ``Validations.of(construct).acknowledge(...)``. Any unacknowledged finding
makes ``app.synth()`` raise (``ValidationFailed``), so the build fails. Every acknowledgement in this code base
goes through :func:`acknowledge`, which insists on a written reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from aws_cdk import Acknowledgment, App, CfnElement, Stack, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

PLUGIN_NAME: Final = "AwsSolutions"
MIN_REASON_LENGTH: Final = 40


@dataclass(frozen=True)
class Ack:
    path: str
    rule: str
    reason: str


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding (``AwsSolutions-IAM5[Resource::...]`` style ids for one finding) on
    ``scope`` and everything below it, with a reason a reviewer can check."""
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise ValueError(f"acknowledgement of {rule} on {scope.node.path} needs a real reason")
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))


def resource_finding(resource: IConstruct, suffix: str, rule: str = "AwsSolutions-IAM5") -> str:
    """The id cdk-nag gives a wildcard finding on ``<resource ARN><suffix>``, e.g.
    ``AwsSolutions-IAM5[Resource::<ContentBucket1234.Arn>/*]`` (the id names the resource's logical id)."""
    cfn = resource.node.default_child
    if not isinstance(cfn, CfnElement):
        raise TypeError(f"{resource.node.path} has no CloudFormation resource")
    stack = Stack.of(resource)
    logical_id = stack.resolve(stack.get_logical_id(cfn))
    return f"{rule}[Resource::<{logical_id}.Arn>{suffix}]"


def add_checks(app: App) -> None:
    """Run the AwsSolutions pack on every resource of the app at synth time."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledgements(root: IConstruct) -> list[Ack]:
    """Every acknowledgement recorded in the construct tree under ``root`` (read back from construct metadata,
    where CDK stores them as ``{"Annotation::<rule id>": "<reason>"}``)."""
    key = Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    found: list[Ack] = []
    for node in root.node.find_all():
        for entry in node.node.metadata:
            if entry.type != key:
                continue
            data: Any = entry.data
            if isinstance(data, dict):
                for rule, reason in data.items():
                    found.append(Ack(node.node.path, str(rule).split("::", 1)[-1], str(reason)))
    return found

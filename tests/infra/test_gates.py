"""R2: cdk-nag AwsSolutions has no unacknowledged finding, every acknowledgement has a reason, the gate really
fails a synth, and cfn-lint reports no error on the synthesized template."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3

from infra.nag import MIN_REASON_LENGTH, acknowledge, acknowledgements, add_checks
from infra.synth import CFN_LINT_ALLOWED, SynthResult, blocking, lint, nag_violations


def test_synth_passes_the_nag_gate(synth: SynthResult) -> None:
    # Then synth did not fail validation, and the report lists no finding of any plugin or severity
    assert synth.error is None
    assert synth.violations() == []


def test_every_acknowledgement_has_a_specific_reason(synth: SynthResult) -> None:
    acks = synth.acknowledgements()
    assert acks, "expected the documented acknowledgements (L1, IAM5 for X-Ray and object ARNs, APIG4, S1, SQS3)"
    for ack in acks:
        assert ack.rule.startswith("AwsSolutions-"), ack
        assert len(ack.reason) >= MIN_REASON_LENGTH, ack
    # Only the rules the docs explain are acknowledged
    rules = {a.rule.split("[", 1)[0] for a in acks}
    assert rules <= {
        "AwsSolutions-L1",
        "AwsSolutions-IAM5",
        "AwsSolutions-APIG4",
        "AwsSolutions-S1",
        "AwsSolutions-SQS3",
        "AwsSolutions-IAM4",  # only CDK's BucketDeployment handler (console files), see infra/constructs/console.py
        "AwsSolutions-CFR1",
        "AwsSolutions-CFR2",
        "AwsSolutions-CFR3",
        "AwsSolutions-CFR4",
    }
    # Public routes are acknowledged one by one, never on the whole API
    assert not [a for a in acks if a.rule == "AwsSolutions-APIG4" and a.path.endswith("/HttpApi")]


def test_a_reason_is_mandatory() -> None:
    app = App()
    stack = Stack(app, "S")
    with pytest.raises(ValueError):
        acknowledge(stack, "AwsSolutions-S1", "because")


def test_an_unacknowledged_finding_fails_the_synth(tmp_path: Path) -> None:
    # Given a stack with a bucket that has no access logs and allows plain HTTP, under the same gate
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Bad")
    s3.Bucket(stack, "Leaky")
    add_checks(app)

    # When it is synthesized
    with pytest.raises(Exception, match="ValidationFailed"):
        app.synth()

    # Then the findings are in the report
    rules = {v.rule for v in nag_violations(tmp_path)}
    assert {"AwsSolutions-S1", "AwsSolutions-S10"} <= rules
    assert acknowledgements(app) == []


def test_cfn_lint_reports_no_error(synth: SynthResult) -> None:
    # When cfn-lint runs over every synthesized template
    findings = lint(synth.templates)

    # Then there is no error, and no warning outside the documented allow-list
    assert [str(f) for f in findings if f.is_error] == []
    assert [str(f) for f in blocking(findings)] == []
    assert all(f.rule in CFN_LINT_ALLOWED for f in findings if f.rule.startswith("W"))

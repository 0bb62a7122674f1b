"""``make synth``: synthesize the app to ``cdk.out/``, fail on any unacknowledged cdk-nag finding, then lint the
templates with cfn-lint and fail on any error (or on a warning that is not explicitly allowed below).

    .venv/bin/python -m infra.synth [--stage dev] [--outdir cdk.out] [--list-acknowledgements]

The tests (``tests/infra``) use :func:`synthesize`, :func:`nag_violations` and :func:`lint` from here, so the
build gate and the test gate are the same code.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from aws_cdk import App

from infra.app import build_app
from infra.nag import Ack, acknowledgements
from infra.stack import ImprimaturStack

LINT_REGIONS: Final = ("us-east-1", "eu-west-1")
CFN_LINT_ALLOWED: Final[dict[str, str]] = {
    "W3005": "lambda.Function (CDK) makes the function DependsOn its role construct, i.e. the role and its default "
    "policy; the role half repeats what the Role GetAtt already orders. Harmless and not controllable from the app.",
}


@dataclass(frozen=True)
class Violation:
    plugin: str
    rule: str
    severity: str
    path: str
    description: str

    def __str__(self) -> str:
        return f"[{self.severity}] {self.rule} at {self.path}: {self.description}"


@dataclass(frozen=True)
class LintFinding:
    rule: str
    message: str
    filename: str
    line: int

    @property
    def is_error(self) -> bool:
        return self.rule.startswith("E")

    def __str__(self) -> str:
        return f"{self.rule} {self.message} ({Path(self.filename).name}:{self.line})"


@dataclass
class SynthResult:
    app: App
    stack: ImprimaturStack
    outdir: Path
    error: str | None
    """The synth error (``ValidationFailed`` when a validation plugin such as cdk-nag reported findings)."""

    @property
    def templates(self) -> list[Path]:
        return sorted(self.outdir.glob("*.template.json"))

    @property
    def template_path(self) -> Path:
        return self.outdir / f"{self.stack.artifact_id}.template.json"

    def template(self) -> dict[str, object]:
        data: dict[str, object] = json.loads(self.template_path.read_text(encoding="utf-8"))
        return data

    def violations(self) -> list[Violation]:
        return nag_violations(self.outdir)

    def acknowledgements(self) -> list[Ack]:
        return acknowledgements(self.app)


def synthesize(
    outdir: Path, *, stage: str | None = None, clean: bool = True, context: dict[str, str] | None = None
) -> SynthResult:
    """Build and synthesize the app. Validation failures (cdk-nag) do not raise: they are in the result (the
    templates are still written), so callers can report every finding. Other errors propagate."""
    if clean and outdir.exists():
        shutil.rmtree(outdir)
    app, stack = build_app(stage=stage, outdir=str(outdir), context=context)
    error: str | None = None
    try:
        app.synth()
    except Exception as exc:  # jsii surfaces the JavaScript error as a RuntimeError subclass
        if "ValidationFailed" not in str(exc):
            raise
        error = str(exc)
    return SynthResult(app, stack, outdir, error)


def nag_violations(outdir: Path) -> list[Violation]:
    """Every unacknowledged finding of every validation plugin, from the assembly's validation report."""
    report_path = outdir / "validation-report.json"
    if not report_path.exists():
        return []
    report = json.loads(report_path.read_text(encoding="utf-8"))
    found: list[Violation] = []
    for plugin in report.get("pluginReports", []):
        for violation in plugin.get("violations", []):
            for construct in violation.get("violatingConstructs", []) or [{}]:
                found.append(
                    Violation(
                        plugin=plugin.get("pluginName", "?"),
                        rule=violation.get("ruleName", "?"),
                        severity=violation.get("severity", "?"),
                        path=construct.get("constructPath", "?"),
                        description=violation.get("description", ""),
                    )
                )
    return found


def lint(templates: Iterable[Path], regions: Sequence[str] = LINT_REGIONS) -> list[LintFinding]:
    """cfn-lint (as a library) over the templates."""
    from cfnlint.api import ManualArgs, lint_file

    findings: list[LintFinding] = []
    for template in templates:
        for match in lint_file(template, ManualArgs(regions=list(regions))):
            findings.append(
                LintFinding(match.rule.id, match.message, match.filename or str(template), match.linenumber)
            )
    return findings


def blocking(findings: Iterable[LintFinding]) -> list[LintFinding]:
    """Errors, and warnings that are not explicitly allowed."""
    return [f for f in findings if f.is_error or (f.rule.startswith("W") and f.rule not in CFN_LINT_ALLOWED)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.synth", description=__doc__.splitlines()[0])
    parser.add_argument("--outdir", default="cdk.out", type=Path)
    parser.add_argument("--stage", default=None, help="stage suffix (stack Imprimatur-<stage>)")
    parser.add_argument("--list-acknowledgements", action="store_true", help="print every cdk-nag acknowledgement")
    parser.add_argument(
        "-c",
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="CDK context, as `cdk -c` takes it (public_base_url, signing_key_generation, retired_signing_keys)",
    )
    args = parser.parse_args(argv)
    context = dict(item.split("=", 1) for item in args.context if "=" in item)
    if len(context) != len(args.context):
        parser.error("--context takes KEY=VALUE")

    result = synthesize(args.outdir, stage=args.stage, context=context)
    acks = result.acknowledgements()
    if args.list_acknowledgements:
        for ack in sorted(acks, key=lambda a: (a.rule, a.path)):
            print(f"{ack.rule}\t{ack.path}\t{ack.reason}")

    violations = result.violations()
    if result.error or violations:
        print(f"\ncdk-nag: {len(violations)} unacknowledged finding(s); synth FAILED", file=sys.stderr)
        for v in violations:
            print(f"  {v}", file=sys.stderr)
        if result.error and not violations:
            print(f"  {result.error}", file=sys.stderr)
        return 1
    print(f"synthesized {result.stack.stack_name} to {args.outdir}/ ({len(acks)} cdk-nag acknowledgements, 0 findings)")

    findings = lint(result.templates)
    bad = blocking(findings)
    allowed = len(findings) - len(bad) - sum(1 for f in findings if f.rule.startswith("I"))
    for f in bad:
        print(f"  {f}", file=sys.stderr)
    if bad:
        print(f"cfn-lint: {len(bad)} blocking finding(s); FAILED", file=sys.stderr)
        return 1
    print(f"cfn-lint: 0 errors ({allowed} allowed warnings: {', '.join(sorted(CFN_LINT_ALLOWED))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

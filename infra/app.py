"""CDK entry point: ``python -m infra.app`` (what ``cdk.json`` runs), or ``build_app()`` from tests and
``infra.synth``.

The stage comes from the context (``cdk synth -c stage=dev``); without one the stack is called ``Imprimatur``.
"""

from __future__ import annotations

import os
from typing import Any

from aws_cdk import App

from infra.constants import FEATURE_FLAGS, STAGE_CONTEXT_KEY, Naming
from infra.constructs.build import build
from infra.nag import add_checks
from infra.stack import ImprimaturStack


def build_app(
    *, stage: str | None = None, outdir: str | None = None, context: dict[str, Any] | None = None
) -> tuple[App, ImprimaturStack]:
    """The app with the stack and the cdk-nag gate (AwsSolutions) registered; not yet synthesized."""
    ctx: dict[str, Any] = {**FEATURE_FLAGS, **(context or {})}
    if stage is not None:
        ctx[STAGE_CONTEXT_KEY] = stage
    app = App(outdir=outdir, context=ctx)
    naming = Naming(app.node.try_get_context(STAGE_CONTEXT_KEY) or None)
    stack = ImprimaturStack(app, naming.stack_name, naming=naming, build_output=build())
    add_checks(app)
    return app, stack


def main() -> None:
    # Under the CDK CLI, CDK_OUTDIR names the assembly directory; run by hand, write to ./cdk.out.
    app, _ = build_app(outdir=None if os.environ.get("CDK_OUTDIR") else "cdk.out")
    app.synth()


if __name__ == "__main__":
    main()

"""The cold imports of the authoriser and of the delivery handler (P2, docs/performance.md): Powertools is not imported
at run time (they use only its ``LambdaContext`` type); importing it loads the whole package (``Logger``, ``Metrics``,
``Tracer``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

HANDLERS = ("functions.accounts.handlers.authorizer", "functions.licensing.handlers.delivery")


def test_the_authoriser_and_the_delivery_handler_import_no_powertools() -> None:
    # Given a fresh interpreter, When it imports the authoriser, then the delivery handler (the hot path, no web
    # framework), noting after each import which Powertools modules are loaded (one interpreter for both: each is a
    # second of the unit tier's time)
    probe = (
        "import importlib, json, sys\n"
        f"for name in {HANDLERS!r}:\n"
        "    importlib.import_module(name)\n"
        "    print(json.dumps([name, sorted(m for m in sys.modules if m.startswith('aws_lambda_powertools'))]))\n"
    )
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True, env=env).stdout
    loaded = dict(json.loads(line) for line in out.splitlines())
    # Then both were imported and neither loaded a Powertools module
    assert loaded == {name: [] for name in HANDLERS}

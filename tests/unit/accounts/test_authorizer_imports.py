"""The cold imports of the authoriser and of the delivery handler (P2, docs/performance.md): Powertools is not imported
at run time (they use only its ``LambdaContext`` type); importing it loads the whole package (``Logger``, ``Metrics``,
``Tracer``)."""

from __future__ import annotations

import os
import subprocess
import sys


def test_the_authoriser_imports_no_powertools() -> None:
    # Given a fresh interpreter, When it imports the authoriser
    probe = (
        "import sys\n"
        "import functions.accounts.handlers.authorizer\n"
        "print(sorted(m for m in sys.modules if m.startswith('aws_lambda_powertools')))\n"
    )
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True, env=env).stdout
    # Then no Powertools module was loaded
    assert out.strip() == "[]"


def test_the_delivery_handler_imports_no_powertools() -> None:
    # Given a fresh interpreter, When it imports the delivery handler (the hot path, no web framework)
    probe = (
        "import sys\n"
        "import functions.licensing.handlers.delivery\n"
        "print(sorted(m for m in sys.modules if m.startswith('aws_lambda_powertools')))\n"
    )
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True, env=env).stdout
    # Then no Powertools module was loaded
    assert out.strip() == "[]"

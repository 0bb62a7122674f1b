"""The ``imprimatur`` console script: a clear message instead of a traceback when the ``cli`` extra is missing."""

from __future__ import annotations

import sys


def main() -> None:
    """Run the CLI, or explain how to install it."""
    try:
        from imprimatur_client.cli import main as cli_main
    except ImportError as exc:
        sys.stderr.write(
            f"The imprimatur command needs the 'cli' extra ({exc.name} is not installed):\n"
            "  pip install 'imprimatur-client[cli]'\n"
        )
        raise SystemExit(2) from None
    cli_main()

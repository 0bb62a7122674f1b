"""How hard the unit tier's property tests look: few examples by default, so the tier runs in seconds; many with
``IMPRIMATUR_DEEP=1`` (``make test`` sets it), the depth these tests had before the unit tier had a time budget."""

from __future__ import annotations

import os

DEEP = os.environ.get("IMPRIMATUR_DEEP") == "1"


def examples(unit: int, deep: int) -> int:
    """Hypothesis ``max_examples``: ``unit`` in the default run, ``deep`` with ``IMPRIMATUR_DEEP=1``."""
    return deep if DEEP else unit

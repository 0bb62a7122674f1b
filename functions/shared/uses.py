"""RSL use types and how they cover each other (API.md: ``ai-all`` covers ``ai-train``, ``ai-input`` and
``ai-index``; ``all`` covers everything)."""

from __future__ import annotations

from collections.abc import Iterable

USES = ("all", "ai-all", "ai-train", "ai-input", "ai-index", "search")
_AI = frozenset({"ai-train", "ai-input", "ai-index"})


def covers(granted: Iterable[str], use: str) -> bool:
    """True when a grant of ``granted`` uses permits ``use``."""
    return any(g in ("all", use) or (g == "ai-all" and (use in _AI or use == "ai-all")) for g in granted)

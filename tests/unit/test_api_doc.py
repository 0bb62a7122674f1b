"""docs/api.md documents every route of the API, names no route that does not exist, lists every problem ``code``
the server raises, and its links to its own sections resolve (issue 15, item 6).

Routes are written in backticks as ``METHOD /path`` with the path template of ``infra/definitions.py`` (``{id}``), a
query string or a body may follow inside the same backticks: `GET /v1/accounts?q=` counts as `GET /v1/accounts`.
"""

from __future__ import annotations

import ast
import re
import unicodedata
from pathlib import Path

from infra.definitions import ROUTES

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "api.md"
ROUTE_RE = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`\s?]*)")
LINK_RE = re.compile(r"\]\(#([^)]+)\)")
CODE_RE = re.compile(r"`(?:\d{3} )?([a-z][a-z0-9_]*)`")  # `409 period_open` or `period_open`


def raised_codes(paths: list[Path]) -> dict[str, str]:
    """Every literal problem code in the server's code: ``code="..."`` arguments and ``code = "..."`` class defaults
    (codes built at run time, like ``f"license_{status}"``, are documented by hand)."""
    found: dict[str, str] = {}
    for path in paths:
        text = path.read_text(encoding="utf-8")
        if not re.search(r'\bcode\s*=\s*"', text):
            continue
        for node in ast.walk(ast.parse(text)):
            values: list[ast.expr] = []
            if isinstance(node, ast.Call):
                values = [k.value for k in node.keywords if k.arg == "code"]
            elif isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["code"]:
                values = [node.value]
            for v in values:
                if isinstance(v, ast.Constant) and isinstance(v.value, str):
                    found.setdefault(v.value, str(path.relative_to(ROOT)))
    return found


def documented_routes(text: str) -> set[str]:
    return {f"{m.group(1)} {m.group(2)}" for m in ROUTE_RE.finditer(text)}


def anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens (duplicates get -1, -2...)."""
    out: set[str] = set()
    in_code = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code or not line.startswith("#"):
            continue
        heading = line.lstrip("#").strip().lower()
        slug = "".join(c for c in heading if c in " -_" or unicodedata.category(c)[0] in "LN").replace(" ", "-")
        n, candidate = 0, slug
        while candidate in out:
            n += 1
            candidate = f"{slug}-{n}"
        out.add(candidate)
    return out


def test_every_route_is_documented() -> None:
    documented = documented_routes(DOC.read_text(encoding="utf-8"))
    missing = sorted(r.route_key for r in ROUTES if r.route_key not in documented)
    assert not missing, f"docs/api.md does not document: {missing}"


def test_every_documented_route_exists() -> None:
    known = {r.route_key for r in ROUTES}
    stale = sorted(r for r in documented_routes(DOC.read_text(encoding="utf-8")) if r not in known)
    assert not stale, f"docs/api.md names routes that infra/definitions.py does not have: {stale}"


def test_every_raised_code_is_documented() -> None:
    codes = raised_codes(sorted((ROOT / "functions").rglob("*.py")))
    assert {"use_not_granted", "idempotency_key_reused", "too_many_requests"} <= set(codes)  # the scan finds them
    documented = set(CODE_RE.findall(DOC.read_text(encoding="utf-8")))
    missing = sorted(f"{code} ({where})" for code, where in codes.items() if code not in documented)
    assert not missing, f"docs/api.md does not list these problem codes: {missing}"


def test_links_to_sections_resolve() -> None:
    text = DOC.read_text(encoding="utf-8")
    targets = anchors(text)
    broken = sorted({link for link in LINK_RE.findall(text) if link not in targets})
    assert not broken, f"docs/api.md links to sections that do not exist: {broken}"


def test_the_checks_catch_what_they_name() -> None:
    """The parsers see a route in a table cell or followed by a query, ignore prose, and slug headings as GitHub."""
    sample = "| `GET /v1/assets/{id}` | x |\n`GET /v1/accounts?q=&limit=` and GET /v1/me without backticks\n"
    assert documented_routes(sample) == {"GET /v1/assets/{id}", "GET /v1/accounts"}
    assert set(CODE_RE.findall("`409 period_open`, `uncapped` and period_closed")) == {"period_open", "uncapped"}
    assert anchors("## Completing an upload: `200` or `202`\n## Money\n## Money\n") == {
        "completing-an-upload-200-or-202",
        "money",
        "money-1",
    }
    assert "accounts-operators-and-publishers-profiles-api-v11-issue-19" in anchors(
        "## Accounts: operators and publishers' profiles (API v1.1, issue 19)"
    )


def test_the_readme_points_at_this_page_not_outside_the_repository() -> None:
    readme = (DOC.parents[1] / "README.md").read_text(encoding="utf-8")
    assert "docs/api.md" in readme
    assert "../shared/API.md" not in readme

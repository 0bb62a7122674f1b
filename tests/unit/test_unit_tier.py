"""The unit tier stays a unit tier: no socket opens, no module imports moto or the embedded AWS, and no test asks for
the ``aws`` fixture (the embedded AWS of ``tests/fixtures.py``), directly or through another fixture."""

from __future__ import annotations

import ast
import functools
import socket
from pathlib import Path

import pytest
from pytest_socket import SocketBlockedError

UNIT = Path(__file__).parent
TESTS = UNIT.parent
# moto itself, the local mode's patches and servers over it, and the fixture modules that start it
FORBIDDEN = ("moto", "local.embedded_", "local.provision", "local.gateway", "local.server", "tests.fixtures")


def imported_modules(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}  # `from local import embedded_aws`
    return names


def fixture_parameters(tree: ast.AST) -> dict[str, set[str]]:
    """Every function's name -> its parameter names (tests and fixtures alike)."""
    return {
        f.name: {a.arg for a in [*f.args.posonlyargs, *f.args.args, *f.args.kwonlyargs]}
        for f in ast.walk(tree)
        if isinstance(f, ast.FunctionDef)
    }


@functools.cache
def aws_fixtures() -> frozenset[str]:
    """``aws`` and every shared fixture that needs it, transitively (``gw``, ``api``, ``admin``, ...)."""
    shared: dict[str, set[str]] = {}
    for path in [TESTS / "fixtures.py", TESTS / "conftest.py"]:
        shared |= fixture_parameters(ast.parse(path.read_text()))
    closure = {"aws"}
    while True:
        more = {name for name, params in shared.items() if params & closure} - closure
        if not more:
            return frozenset(closure)
        closure |= more


def unit_modules() -> list[Path]:
    return sorted(UNIT.rglob("*.py"))


def test_the_closure_of_the_aws_fixture_is_what_the_fixtures_module_says() -> None:
    # the guard below is only as good as this closure: it must hold the fixtures that start the embedded AWS
    assert {"aws", "gw", "api", "admin", "admin_key", "make_account"} <= aws_fixtures()


@pytest.mark.parametrize("path", unit_modules(), ids=lambda p: str(p.relative_to(UNIT)))
def test_no_unit_module_imports_moto_or_the_embedded_aws(path: Path) -> None:
    tree = ast.parse(path.read_text())
    bad = sorted(m for m in imported_modules(tree) if m.startswith(FORBIDDEN))
    assert not bad, f"{path.relative_to(TESTS)} imports {bad}: moto-backed tests belong in tests/integration"
    asking = {f for f, params in fixture_parameters(tree).items() if params & aws_fixtures()}
    assert not asking, f"{path.relative_to(TESTS)}: {sorted(asking)} ask for the embedded AWS"


def test_no_collected_unit_test_uses_the_embedded_aws(request: pytest.FixtureRequest) -> None:
    # the runtime view of the same rule (fixtures resolved by pytest, usefixtures included) for this session's items
    unit_items = [i for i in request.session.items if UNIT in i.path.parents]
    assert request.node in unit_items
    offenders = [i.nodeid for i in unit_items if "aws" in getattr(i, "fixturenames", ())]
    assert not offenders


def test_sockets_are_blocked_here() -> None:
    with pytest.raises(SocketBlockedError):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with pytest.raises(SocketBlockedError):
        socket.create_connection(("127.0.0.1", 9))

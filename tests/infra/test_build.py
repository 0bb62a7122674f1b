"""Docker-free packaging: the dependency layer (ARM64 / CPython 3.12 wheels, no boto3) and the code copy whose
import paths equal the repository's, both cached by content hash."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import pytest

from infra.constructs.build import REPO_ROOT, BuildOutput, build, build_code, layer_requirements, source_hash
from infra.definitions import FUNCTIONS


@pytest.fixture(scope="module")
def built() -> BuildOutput:
    return build()


def test_layer_requirements_are_the_runtime_pins_without_boto3() -> None:
    reqs = layer_requirements(REPO_ROOT / "pyproject.toml")
    names = {r.split("==")[0].lower() for r in reqs}
    assert "boto3" not in names and "botocore" not in names
    assert {"aws-lambda-powertools", "pydantic"} <= names
    assert all("==" in r for r in reqs), "runtime dependencies must be pinned"


def test_layer_holds_arm64_cp312_wheels_and_no_boto3(built: BuildOutput) -> None:
    layer = built.layer_dir / "python"
    assert (layer / "pydantic").is_dir()
    assert (layer / "aws_lambda_powertools").is_dir()
    native = list((layer / "pydantic_core").glob("_pydantic_core*.so"))
    assert native and all("cpython-312-aarch64-linux-gnu" in p.name for p in native)
    assert not (layer / "boto3").exists() and not (layer / "botocore").exists()
    assert not list(layer.rglob("__pycache__"))


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_handler_import_path_exists_in_the_code_asset(built: BuildOutput, name: str) -> None:
    # Given the handler's dotted path, e.g. functions.accounts.handlers.api.handler
    module, _, attr = FUNCTIONS[name].handler.rpartition(".")
    rel = Path(*module.split("."))
    in_repo = [p for p in (rel.with_suffix(".py"), rel / "__init__.py") if (REPO_ROOT / p).is_file()]
    if not in_repo:
        pytest.skip(f"{rel}.py is not written yet")
    # Then the module sits at the same relative path in the code asset as in the repository
    assert all((built.code_dir / p).is_file() for p in in_repo), rel
    assert importlib.util.find_spec(module) is not None
    assert attr == "handler"


def test_code_asset_is_a_clean_copy_of_functions(built: BuildOutput) -> None:
    code = built.code_dir
    assert (code / "functions" / "__init__.py").is_file()
    assert not list(code.rglob("__pycache__")) and not list(code.rglob("*.pyc"))
    assert sorted(p.name for p in code.iterdir()) == ["functions"]
    if (REPO_ROOT / "functions" / "openapi.json").is_file():
        assert (code / "functions" / "openapi.json").is_file()


def test_build_is_a_cache_hit_when_nothing_changed(built: BuildOutput) -> None:
    # When the build runs again with the same pins (and, unless someone is editing functions/, the same code)
    started = time.perf_counter()
    again = build()
    # Then nothing is rebuilt: it only hashes
    assert time.perf_counter() - started < 5
    assert (again.layer_dir, again.layer_hash) == (built.layer_dir, built.layer_hash)
    assert again.code_hash == source_hash(REPO_ROOT / "functions") == again.code_dir.name


def test_code_hash_follows_the_source(tmp_path: Path) -> None:
    # Given a tiny source tree
    src = tmp_path / "repo" / "functions"
    (src / "svc").mkdir(parents=True)
    (src / "__init__.py").write_text("")
    (src / "svc" / "__init__.py").write_text("X = 1\n")
    (src / "svc" / "__pycache__").mkdir()
    (src / "svc" / "__pycache__" / "junk.pyc").write_bytes(b"\0")
    first = source_hash(src)

    # When bytecode changes the hash does not; when source changes it does
    (src / "svc" / "__pycache__" / "junk.pyc").write_bytes(b"\1")
    assert source_hash(src) == first
    (src / "svc" / "__init__.py").write_text("X = 2\n")
    assert source_hash(src) != first

    # And a build lands in a directory named by the hash, without caches
    out, digest = build_code(tmp_path / ".build", tmp_path / "repo")
    assert out.name == digest == source_hash(src)
    assert (out / "functions" / "svc" / "__init__.py").read_text() == "X = 2\n"
    assert not (out / "functions" / "svc" / "__pycache__").exists()

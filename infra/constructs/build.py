"""Lambda packaging without Docker, run at synth time and cached in ``.build/``.

Two artefacts, each in a directory named by the hash of what it is built from, so an unchanged input is a
cache hit that costs one hash computation:

- ``.build/layer/<hash>/python/``: the runtime dependencies from ``pyproject.toml`` ``[project].dependencies``
  (minus what the Lambda runtime ships, e.g. boto3), installed with
  ``pip install --platform manylinux2014_aarch64 --only-binary=:all: --python-version 3.12 --implementation cp``:
  pip selects the prebuilt ARM64 / CPython 3.12 wheels whatever machine runs the synth. Keyed by the pins.
- ``.build/code/<hash>/functions/``: a copy of the first-party ``functions/`` tree (including
  ``functions/openapi.json`` when present), so the import path in Lambda equals the import path in the
  repository (``functions.accounts.handlers.api.handler``). Keyed by the content of the tree.

A build goes to a temporary sibling directory and is renamed into place, so concurrent synths (tests and
``make synth``) never see a half-built directory. The same hashes are handed to CDK as custom asset hashes, so
CDK does not fingerprint the directories again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from aws_cdk import AssetHashType
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.constants import ARCHITECTURE, PIP_PLATFORM, PYTHON_VERSION, RUNTIME, RUNTIME_PROVIDED_PACKAGES

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
BUILD_FORMAT: Final = "1"
"""Bump when the build steps change in a way the inputs' hashes do not show."""
SOURCE_PACKAGE: Final = "functions"
_SKIP_DIRS: Final = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
_SKIP_SUFFIXES: Final = (".pyc", ".pyo")
_STALE_AFTER_S: Final = 3600
_NAME_RE: Final = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


class BuildError(RuntimeError):
    """The dependency layer could not be built (pip failed)."""


@dataclass(frozen=True)
class BuildOutput:
    layer_dir: Path
    """Directory holding ``python/`` (the layer's root)."""
    layer_hash: str
    code_dir: Path
    """Directory holding ``functions/`` (the functions' code root)."""
    code_hash: str
    requirements: tuple[str, ...]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def layer_requirements(pyproject: Path) -> tuple[str, ...]:
    """The pinned runtime dependencies, without the ones the Lambda runtime provides."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    keep: list[str] = []
    for req in project.get("dependencies", []):
        match = _NAME_RE.match(req)
        if match is None:
            raise BuildError(f"cannot parse requirement {req!r} in {pyproject}")
        if _normalise(match.group(1)) not in RUNTIME_PROVIDED_PACKAGES:
            keep.append(req.strip())
    return tuple(sorted(keep))


def _pip_command(target: Path, requirements: Iterable[str]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--platform",
        PIP_PLATFORM,
        "--only-binary=:all:",
        "--python-version",
        PYTHON_VERSION,
        "--implementation",
        "cp",
        "--target",
        str(target),
        "--no-compile",  # the host interpreter's .pyc files would be useless (and stale) under 3.12
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        *requirements,
    ]


def layer_hash(requirements: Iterable[str]) -> str:
    key = {
        "format": BUILD_FORMAT,
        "requirements": sorted(requirements),
        "platform": PIP_PLATFORM,
        "python": PYTHON_VERSION,
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]


def _source_files(src: Path) -> list[Path]:
    files: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(filenames):
            if not name.endswith(_SKIP_SUFFIXES):
                files.append(Path(dirpath, name))
    return files


def source_hash(src: Path) -> str:
    """Hash of the relative paths and bytes of every file in ``src`` (caches and bytecode excluded)."""
    digest = hashlib.sha256(BUILD_FORMAT.encode())
    for path in _source_files(src):
        digest.update(path.relative_to(src).as_posix().encode())
        digest.update(b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:32]


def _publish(tmp: Path, final: Path) -> None:
    """Rename a finished build into place; if another process won the race, keep theirs."""
    try:
        tmp.rename(final)
    except OSError:
        if not final.is_dir():
            raise
        shutil.rmtree(tmp, ignore_errors=True)


def _prune(parent: Path, keep: str) -> None:
    """Drop old builds (not the current one, nor any touched in the last hour: a concurrent synth may use it)."""
    now = time.time()
    for child in parent.iterdir():
        if child.name == keep or child.name.startswith("."):
            continue
        try:
            if now - child.stat().st_mtime > _STALE_AFTER_S:
                shutil.rmtree(child, ignore_errors=True)
        except FileNotFoundError:
            continue


def build_layer(build_root: Path, requirements: tuple[str, ...]) -> tuple[Path, str]:
    digest = layer_hash(requirements)
    parent = build_root / "layer"
    final = parent / digest
    if (final / "python").is_dir():
        return final, digest
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=parent))
    target = tmp / "python"
    proc = subprocess.run(  # noqa: S603 - fixed argv built above, no shell
        _pip_command(target, requirements), capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise BuildError(f"pip could not build the Lambda layer:\n{proc.stdout}\n{proc.stderr}")
    for leftover in ("bin", *RUNTIME_PROVIDED_PACKAGES):
        shutil.rmtree(target / leftover, ignore_errors=True)
    for cache in list(target.rglob("__pycache__")):
        shutil.rmtree(cache, ignore_errors=True)
    _publish(tmp, final)
    _prune(parent, digest)
    return final, digest


def build_code(build_root: Path, repo_root: Path) -> tuple[Path, str]:
    src = repo_root / SOURCE_PACKAGE
    if not (src / "__init__.py").is_file():
        raise BuildError(f"{src} is not a Python package")
    digest = source_hash(src)
    parent = build_root / "code"
    final = parent / digest
    if (final / SOURCE_PACKAGE).is_dir():
        return final, digest
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=parent))
    for path in _source_files(src):
        dest = tmp / SOURCE_PACKAGE / path.relative_to(src)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)
    _publish(tmp, final)
    _prune(parent, digest)
    return final, digest


def build(repo_root: Path = REPO_ROOT, build_root: Path | None = None) -> BuildOutput:
    """Build (or reuse) the layer and the code directories."""
    out = build_root or repo_root / ".build"
    requirements = layer_requirements(repo_root / "pyproject.toml")
    layer_dir, l_hash = build_layer(out, requirements)
    code_dir, c_hash = build_code(out, repo_root)
    return BuildOutput(layer_dir, l_hash, code_dir, c_hash, requirements)


class LambdaPackages(Construct):
    """The dependency layer and the first-party code asset, shared by every function."""

    def __init__(self, scope: Construct, construct_id: str, *, output: BuildOutput) -> None:
        super().__init__(scope, construct_id)
        self.output = output
        self.layer = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=lambda_.Code.from_asset(
                str(output.layer_dir), asset_hash=output.layer_hash, asset_hash_type=AssetHashType.CUSTOM
            ),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description=f"Imprimatur runtime dependencies: {' '.join(output.requirements)}"[:256],
        )
        self.code = lambda_.Code.from_asset(
            str(output.code_dir), asset_hash=output.code_hash, asset_hash_type=AssetHashType.CUSTOM
        )

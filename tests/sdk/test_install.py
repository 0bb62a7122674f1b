"""Issue 18: the SDK installs and imports with httpx alone; the extras are named when missing."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import imprimatur_client
import pytest

SDK = Path(__file__).resolve().parents[2] / "sdk"
UV = Path(sys.executable).parent / "uv"
PROBE = """
import sys, imprimatur_client
from importlib.metadata import distributions
heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'rich', 'pydantic', 'cryptography', 'boto3'))
assert heavy == [], heavy
installed = sorted(d.metadata['Name'].lower() for d in distributions())
print('installed', installed)
c = imprimatur_client.Client('http://127.0.0.1:9')
try:
    imprimatur_client.verify_certificate('a.b.c', {'keys': []})
except imprimatur_client.MissingExtra as exc:
    print('missing', exc)
"""


def test_the_core_depends_on_httpx_only_and_the_version_agrees() -> None:
    meta = tomllib.loads((SDK / "pyproject.toml").read_text())["project"]
    assert [d.split(">")[0].split("=")[0] for d in meta["dependencies"]] == ["httpx"]
    assert set(meta["optional-dependencies"]) == {"verify", "cli"}
    assert meta["version"] == imprimatur_client.__version__
    assert f"## {meta['version']}" in (SDK / "CHANGELOG.md").read_text()


def test_importing_needs_none_of_the_extras(tmp_path: Path) -> None:
    # Given an interpreter where typer, rich, pydantic and cryptography cannot be imported
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text(
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('typer', 'rich', 'pydantic', 'cryptography'):\n"
        "            raise ImportError(f'blocked {name}', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
    )
    env = {"PYTHONPATH": f"{tmp_path}:{SDK}", "PATH": "/usr/bin:/bin"}
    # When the SDK is imported and used, and the CLI entry point is run
    got = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    cli = subprocess.run(
        [sys.executable, "-c", "from imprimatur_client._entry import main; main()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    # Then the library works and both extras are named with their pip line
    assert got.returncode == 0, got.stderr
    assert "pip install 'imprimatur-client[verify]'" in got.stdout
    assert cli.returncode == 2 and "pip install 'imprimatur-client[cli]'" in cli.stderr


@pytest.mark.skipif(not UV.exists(), reason="uv is installed by `make install`")
def test_a_fresh_environment_gets_httpx_and_its_own_dependencies_only(tmp_path: Path) -> None:
    src = tmp_path / "sdk"
    shutil.copytree(SDK, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([str(UV), "venv", "-q", str(venv), "--python", sys.executable], check=True, timeout=120)
    install = [str(UV), "pip", "install", "-q", "--python", str(venv / "bin" / "python"), str(src)]
    done = subprocess.run([*install, "--offline"], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:  # nothing cached yet: the ordinary index
        done = subprocess.run(install, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    got = subprocess.run(
        [str(venv / "bin" / "python"), "-c", PROBE], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert got.returncode == 0, got.stderr
    installed = set(got.stdout.split("installed ")[1].split("]")[0].strip("[").replace("'", "").split(", "))
    assert installed - {"imprimatur-client"} <= {
        "httpx",
        "httpcore",
        "h11",
        "anyio",
        "idna",
        "certifi",
        "sniffio",
        "typing_extensions",
        "typing-extensions",
        "exceptiongroup",
    }
    assert "pip install 'imprimatur-client[verify]'" in got.stdout

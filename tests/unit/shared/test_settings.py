"""The hot path's settings (``functions.shared.settings``): the rules pydantic applied to the delivery's and the rate
limiter's environments, without importing it (P2)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

import pytest

from functions.shared.settings import SettingsError, bounded, load_settings


@dataclass(frozen=True)
class _Sample:
    TABLE: str
    OPTIONAL: str | None = None
    WINDOW: int = bounded(10, ge=1, le=3600)


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TABLE", "OPTIONAL", "WINDOW"):
        monkeypatch.delenv(name, raising=False)
    load_settings.cache_clear()


def test_values_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE", "t")
    monkeypatch.setenv("WINDOW", " 60 ")
    got = load_settings(_Sample)
    assert (got.TABLE, got.OPTIONAL, got.WINDOW) == ("t", None, 60)


@pytest.mark.parametrize(
    ("window", "message"),
    [("0", "WINDOW: must be at least 1"), ("3601", "WINDOW: must be at most 3600"), ("ten", "WINDOW: not an integer")],
)
def test_every_problem_is_named(monkeypatch: pytest.MonkeyPatch, window: str, message: str) -> None:
    # Given a missing required setting and a bad integer, Then both are named in one error
    monkeypatch.setenv("WINDOW", window)
    with pytest.raises(SettingsError) as exc:
        load_settings(_Sample)
    assert "TABLE: required" in str(exc.value) and message in str(exc.value)


def test_cached_once_per_class_and_cleared_with_the_environments(monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.shared.config import clear_env_cache

    monkeypatch.setenv("TABLE", "a")
    first = load_settings(_Sample)
    monkeypatch.setenv("TABLE", "b")
    assert load_settings(_Sample) is first  # read once (a cold start), as load_env does
    clear_env_cache()
    assert load_settings(_Sample).TABLE == "b"


def test_a_class_defined_per_call_is_refused() -> None:
    @dataclass(frozen=True)
    class Local:
        X: str = "x"

    with pytest.raises(TypeError, match="module-level"):
        load_settings(Local)


def test_the_delivery_path_imports_no_pydantic() -> None:
    # Given a fresh interpreter, When the delivery handler and the two readers it calls are imported and their
    # settings read, Then pydantic was never imported (it was about a quarter of the handler's import beyond boto3's)
    code = (
        "import os, sys\n"
        "os.environ.update(LICENSING_TABLE='l', CATALOG_TABLE='c', CONTENT_BUCKET='b', DELIVERIES_STREAM='d')\n"
        "from functions.licensing.handlers import delivery\n"
        "from functions.shared import ratelimit\n"
        "from functions.catalog.dal import reader as cr\n"
        "from functions.licensing.dal import reader as lr\n"
        "delivery.env(); ratelimit.env(); cr._table(); lr._table()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_core')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout

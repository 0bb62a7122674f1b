"""Every pydantic model in ``functions`` is a ``DeferredModel``: importing a handler builds none of them (P2, cold
start), and a deferred model still validates with its own config (docs/performance.md, P2)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from functions.shared.model import DeferredModel
from infra.definitions import FUNCTIONS

MODULES = sorted({f.handler.rpartition(".")[0] for f in FUNCTIONS.values()})


def _subclasses(cls: type[BaseModel]) -> list[type[BaseModel]]:
    out: list[type[BaseModel]] = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out


def test_every_model_of_the_functions_is_deferred() -> None:
    # Given every function's handler imported (and with it each model it defines)
    for module in MODULES:
        importlib.import_module(module)
    ours = [m for m in _subclasses(BaseModel) if m.__module__.startswith("functions.")]
    # Then there are models, and each is built on first use, not at import
    assert len(ours) > 50
    eager = [f"{m.__module__}.{m.__qualname__}" for m in ours if not m.model_config.get("defer_build")]
    assert eager == []


def test_importing_the_handlers_builds_no_model() -> None:
    # Given a fresh interpreter (nothing built by other tests), When it imports every function's handler
    probe = (
        "import json, pydantic\n" + "".join(f"import {m}\n" for m in MODULES) + "def subs(c):\n"
        "    for s in c.__subclasses__():\n"
        "        yield s\n"
        "        yield from subs(s)\n"
        "ours = [m for m in subs(pydantic.BaseModel) if m.__module__.startswith('functions.')]\n"
        "print(json.dumps([len(ours), [m.__qualname__ for m in ours if m.__pydantic_complete__]]))\n"
    )
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True, env=env).stdout
    count, built = json.loads(out)
    # Then it defined the models and built none of them
    assert count > 50
    assert built == []


def test_a_deferred_model_keeps_its_own_config_and_validates_on_first_use() -> None:
    # Given a deferred model that forbids extra fields, not built yet
    class Body(DeferredModel):
        model_config = ConfigDict(extra="forbid")
        name: str

    assert Body.__pydantic_complete__ is False
    assert Body.model_config.get("defer_build") is True
    # When it validates, Then it is built and applies its config
    assert Body.model_validate({"name": "x"}).name == "x"
    assert Body.__pydantic_complete__ is True
    with pytest.raises(ValidationError):
        Body.model_validate({"name": "x", "other": 1})
    with pytest.raises(ValidationError):
        Body.model_validate({"name": 3})

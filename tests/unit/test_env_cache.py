"""``load_env`` caches one validated environment per model class: a warm function must not grow that cache per
request (v1's readers defined their model inside the function and leaked one class per call)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from functions.shared.config import BaseEnv, load_env
from functions.shared.settings import load_settings


def test_readers_reuse_one_environment_model(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the two readers other services call on every request (the 402 path among them)
    from functions.catalog.dal import reader as catalog_reader
    from functions.licensing.dal import reader as licensing_reader

    monkeypatch.setenv("CATALOG_TABLE", "cat")
    monkeypatch.setenv("LICENSING_TABLE", "lic")
    load_settings.cache_clear()
    # When they are asked for their table many times
    for _ in range(50):
        assert catalog_reader._table() == "cat"
        assert licensing_reader._table() == "lic"
    # Then the cache holds one entry per reader, not one per call
    assert load_settings.cache_info().currsize == 2
    load_settings.cache_clear()


def test_a_model_defined_per_call_is_refused() -> None:
    # Given a model class defined inside a function (a new class, hence a new cache key, on every call)
    def leaky() -> BaseModel:
        class _Env(BaseEnv):
            X: str = "x"

        return load_env(_Env)

    # When it is loaded, Then load_env refuses it instead of caching it for ever
    with pytest.raises(TypeError, match="module-level"):
        leaky()

"""Environment models, validated once at cold start. Logic never reads ``os.environ``."""

from __future__ import annotations

import os
from functools import cache
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict

from functions.shared.model import DeferredModel
from functions.shared.urls import checked

T = TypeVar("T", bound=BaseModel)

PublicBaseUrl = Annotated[str, AfterValidator(checked)]
"""``PUBLIC_BASE_URL``: required by the functions that build links (read through ``functions.shared.urls``)."""


class BaseEnv(DeferredModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    POWERTOOLS_SERVICE_NAME: str = "imprimatur"
    STAGE: str = "local"
    PLATFORM_FEE_BPS: int = 1000


@cache
def load_env(model: type[T]) -> T:
    """The validated environment, once per model class. A class defined inside a function is a new cache key on
    every call (the cache would grow for ever on a warm function): refused."""
    if "<locals>" in model.__qualname__ and not getattr(model, "__env_singleton__", False):
        raise TypeError(f"load_env needs a module-level model (or one built once), not {model.__qualname__}")
    return model.model_validate(dict(os.environ))


def clear_env_cache() -> None:
    from functions.shared.settings import load_settings  # the hot path's settings (no pydantic) are cached too

    load_env.cache_clear()
    load_settings.cache_clear()

"""Environment models, validated once at cold start. Logic never reads ``os.environ``."""

from __future__ import annotations

import os
from functools import cache
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T", bound=BaseModel)


class BaseEnv(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    POWERTOOLS_SERVICE_NAME: str = "imprimatur"
    STAGE: str = "local"
    PLATFORM_FEE_BPS: int = 1000


@cache
def load_env(model: type[T]) -> T:
    return model.model_validate(dict(os.environ))


def clear_env_cache() -> None:
    load_env.cache_clear()

"""Environment settings for the hot path, without pydantic: the delivery function, the rate limiter every function
runs, and the two readers the delivery calls.

``functions.shared.config`` validates the API handlers' environments with pydantic; importing pydantic was about a
quarter of what the delivery handler's cold import added to boto3's (P2, docs/performance.md), and the delivery never
needed more than strings and bounded integers. The rules are the same: a required setting that is missing, or an
integer that does not parse or is out of its bounds, fails the first request (cold start) with every problem named;
unknown variables are ignored; one loaded instance per class is cached (``functions.shared.config.clear_env_cache``
clears it too).

    @dataclass(frozen=True)
    class DeliverySettings:
        CATALOG_TABLE: str
        RATE_LIMIT_CHUNK: int = bounded(50, ge=1)
"""

from __future__ import annotations

import dataclasses
import os
import typing
from functools import cache
from typing import Any, TypeVar  # Any: a dataclass field's default, whatever its type

S = TypeVar("S")


class SettingsError(ValueError):
    """The environment does not satisfy a settings class (raised on first use, as pydantic's ValidationError was)."""


def bounded(default: int, *, ge: int | None = None, le: int | None = None) -> Any:  # Any: dataclasses.field's type
    """An integer setting with a default and inclusive bounds."""
    return dataclasses.field(default=default, metadata={"ge": ge, "le": le})


def _parse(name: str, raw: str, kind: object, meta: typing.Mapping[str, int | None]) -> tuple[object, str | None]:
    if kind is str or kind == (str | None):
        return raw, None
    if kind is int:
        try:
            value = int(raw.strip())
        except ValueError:
            return None, f"{name}: not an integer ({raw!r})"
        ge, le = meta.get("ge"), meta.get("le")
        if ge is not None and value < ge:
            return None, f"{name}: must be at least {ge} (got {value})"
        if le is not None and value > le:
            return None, f"{name}: must be at most {le} (got {value})"
        return value, None
    raise TypeError(f"{name}: settings hold str, str | None or int, not {kind!r}")


@cache
def load_settings(cls: type[S]) -> S:
    """The class's settings read from ``os.environ``, once per class (a module-level dataclass)."""
    if "<locals>" in cls.__qualname__:
        raise TypeError(f"load_settings needs a module-level class, not {cls.__qualname__}")
    hints = typing.get_type_hints(cls)
    values: dict[str, object] = {}
    problems: list[str] = []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]  # a dataclass type, checked by fields() itself
        raw = os.environ.get(f.name)
        if raw is None:
            if f.default is dataclasses.MISSING:
                problems.append(f"{f.name}: required")
            continue
        value, problem = _parse(f.name, raw, hints[f.name], f.metadata)
        if problem:
            problems.append(problem)
        else:
            values[f.name] = value
    if problems:
        raise SettingsError(f"{cls.__name__}: " + "; ".join(problems))
    return cls(**values)

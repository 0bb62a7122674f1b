"""One request per thread for Powertools resolvers in the local process.

Powertools 3 keeps the request being resolved on a class: ``ApiGatewayResolver.resolve`` sets
``BaseRouter.current_event`` (and ``lambda_context``), and every resolver and router reads it back from there. In
Lambda that is harmless: an instance handles one request at a time. The local gateway runs the functions of one
process side by side (one lock per function, so the catalogue and metering can resolve at once in ``make run``), and
the concurrency tests run several warm instances of one function in threads: there, a resolver could read the request
of another function or instance (seen as a usage report processed twice, under load). :func:`install` makes both
class attributes per thread, for this process only; the functions' code is unchanged. docs/decision_log.md,
2026-11-30.
"""

from __future__ import annotations

import threading
from abc import ABCMeta
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

_PER_THREAD = ("current_event", "lambda_context")
_state = threading.local()
_lock = threading.Lock()


class _PerThread:
    """A data descriptor: reads and instance writes of the attribute go to this thread's slot."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, obj: object, owner: type | None = None) -> Any:  # Any: whatever Powertools stores there
        return getattr(_state, self.name, None)

    def __set__(self, obj: object, value: object) -> None:
        setattr(_state, self.name, value)


class _PerThreadRouterMeta(ABCMeta):
    """``BaseRouter``'s metaclass, with class writes of the per-thread attributes (``BaseRouter.current_event = e``,
    what ``resolve`` does) sent to this thread's slot instead of replacing the descriptor."""

    def __setattr__(cls, name: str, value: object) -> None:
        if cls is BaseRouter and name in _PER_THREAD:
            setattr(_state, name, value)
            return
        super().__setattr__(name, value)


def install() -> None:
    """Idempotent; for the local process only (the local gateway calls it)."""
    with _lock:
        if type(BaseRouter) is _PerThreadRouterMeta:
            return
        BaseRouter.__class__ = _PerThreadRouterMeta  # type: ignore[method-assign,assignment]
        for name in _PER_THREAD:
            type.__setattr__(BaseRouter, name, _PerThread(name))


def installed() -> bool:
    return type(BaseRouter) is _PerThreadRouterMeta

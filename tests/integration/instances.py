"""Several warm Lambda instances in one process, for concurrency tests through the real handlers.

In the cloud, parallel requests to one function run in separate instances: separate interpreters, so separate
module state (the delivery's budget leases held in memory, ``HOLDER``; each Powertools resolver's current event,
which Powertools keeps on a class: the local gateway makes it per thread, local/resolver_threads.py).
The local gateway runs one invocation at a time per function (one warm instance). An ``InstanceGateway`` is one more
instance of each stateful function: it loads its own copy of the handler module (a fresh module object from the same
file), with its own per-function lock, so N gateways in N threads run the same handler code truly in parallel. Shared
by all of them, as in the cloud: DynamoDB (the embedded one serialises each request with its lock, so the
interleavings between requests are the product's), SQS and the boto3 clients.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import TypeVar

from infra.definitions import FUNCTIONS
from local.gateway import _IMPORT_LOCK, Handler, LocalGateway

T = TypeVar("T")

FRESH = ("delivery", "metering", "licensing")
"""Functions whose module state is per instance (the others used here are stateless: the authoriser)."""

_copies: list[str] = []
_counter = iter(range(1, 1_000_000))


def fresh_module(dotted: str) -> ModuleType:
    """A new module object executed from ``dotted``'s file: what a second interpreter would import."""
    spec = importlib.util.find_spec(dotted)
    assert spec is not None and spec.origin is not None
    name = f"{dotted}__instance{next(_counter)}"
    copy_spec = importlib.util.spec_from_file_location(name, spec.origin)
    assert copy_spec is not None and copy_spec.loader is not None
    module = importlib.util.module_from_spec(copy_spec)
    sys.modules[name] = module  # pydantic resolves annotations through sys.modules
    _copies.append(name)
    if dotted == "functions.licensing.handlers.api":
        # include_router points the shared certificate router at the resolver that includes it: give it back to the
        # original resolver (instances here serve POST /v1/licenses, never the certificate routes)
        from functions.licensing.handlers import certificates

        router_owner = certificates.router.api_resolver
        copy_spec.loader.exec_module(module)
        certificates.router.api_resolver = router_owner
    else:
        copy_spec.loader.exec_module(module)
    return module


def forget_copies() -> None:
    while _copies:
        sys.modules.pop(_copies.pop(), None)


class InstanceGateway(LocalGateway):
    """The local gateway over one more warm instance of each stateful function."""

    def handler(self, function: str) -> Handler:
        h = self._handlers.get(function)
        if h is None and function in FRESH:
            with _IMPORT_LOCK:
                module, _, attr = FUNCTIONS[function].handler.rpartition(".")
                importlib.import_module(module)  # the original first (its imports are shared, as site-packages are)
                h = getattr(fresh_module(module), attr)
                self._handlers[function] = h
            return h
        return super().handler(function)


def in_threads(jobs: list[Callable[[], T]], workers: int | None = None) -> list[T]:
    """Run the jobs in real threads, all released at once; results in job order (an exception is re-raised)."""
    start = threading.Barrier(min(len(jobs), workers or len(jobs)))

    def run(job: Callable[[], T]) -> T:
        try:
            start.wait(timeout=30)
        except threading.BrokenBarrierError:
            pass
        return job()

    with ThreadPoolExecutor(max_workers=workers or len(jobs)) as pool:
        return list(pool.map(run, jobs))


def run_at_once(
    targets: Sequence[Callable[[], object]], switch_interval: float = 1e-5, names: Sequence[str] | None = None
) -> None:
    """Run each target in its own thread (named from ``names`` if given), all released at once, while the interpreter
    switches threads every ``switch_interval`` seconds so that their steps interleave; returns when every thread has
    ended, with the switch interval restored. A target's exception is the target's to record."""
    start = threading.Barrier(len(targets))

    def run(target: Callable[[], object]) -> None:
        start.wait()
        target()

    threads = [threading.Thread(target=run, args=(t,), name=names[i] if names else None) for i, t in enumerate(targets)]
    old = sys.getswitchinterval()
    sys.setswitchinterval(switch_interval)
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)


def rounds(per_thread: int, job: Callable[[], T]) -> Callable[[], list[T]]:
    """A thread's work: ``job`` run ``per_thread`` times in a row."""
    return lambda: [job() for _ in range(per_thread)]


def flatten(results: list[list[T]]) -> Iterator[T]:
    for r in results:
        yield from r

"""The local mode's patches to the embedded AWS (moto), applied together: ``local.embedded_dynamodb`` (item-level
transaction rollback, one lock per request, no storage on read misses, partition queries), ``local.embedded_sqs``
(linear receive and send, bounded deleted-handle memory) and ``local.embedded_kms`` (``Sign`` over a digest). Used by
``make run``, the benchmark's server process and the test fixtures; never by ``functions/``."""

from __future__ import annotations

from typing import Any

_ORIGINAL_BACKEND_FOR_HOST: Any = None


def install() -> None:
    global _ORIGINAL_BACKEND_FOR_HOST
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    from local import embedded_dynamodb, embedded_kms, embedded_sqs

    embedded_dynamodb.install()
    embedded_sqs.install()
    embedded_kms.install()
    if _ORIGINAL_BACKEND_FOR_HOST is None:
        # moto's server finds the service of every request by listing its own package directory (os.listdir and an
        # isdir per service) and then trying ~200 URL patterns: the answer depends only on the host, so keep it.
        original = _ORIGINAL_BACKEND_FOR_HOST = DomainDispatcherApplication.get_backend_for_host
        cache: dict[str | None, Any] = {}

        def get_backend_for_host(self: Any, host: str | None) -> Any:
            if host not in cache:
                cache[host] = original(self, host)
            return cache[host]

        DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]


def tune_gc() -> None:
    """The embedded server keeps millions of small, long-lived objects (every attribute of every item is a
    ``DynamoType``). With Python's default thresholds a young collection runs every 700 allocations and, as the heap
    grows, full passes over all of it (about a second each at 1 GB) land inside whatever request is running. Here
    what exists at start is frozen out of collection, and young generations are larger and full passes rare; cycles
    among young objects are still collected. The long benchmark run reads the server's memory to show it stays
    bounded. Applied to the embedded server only (``make run`` and the benchmark's server process)."""
    import gc
    import threading

    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 1_000)

    def sweep() -> None:
        # With full passes rare, cycles that outlive a young collection (request objects, botocore and werkzeug
        # structures) would pile up in the old generation: collect everything not yet frozen every few seconds (only
        # what was allocated since the last sweep is scanned), then freeze the survivors, which are long-lived data.
        while not _SWEEP_STOP.wait(GC_SWEEP_S):
            gc.collect()
            gc.freeze()

    if not any(t.name == "gc-sweep" for t in threading.enumerate()):
        threading.Thread(target=sweep, name="gc-sweep", daemon=True).start()


GC_SWEEP_S = 5.0
_SWEEP_STOP = __import__("threading").Event()


def uninstall() -> None:
    global _ORIGINAL_BACKEND_FOR_HOST
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    from local import embedded_dynamodb, embedded_kms, embedded_sqs

    if _ORIGINAL_BACKEND_FOR_HOST is not None:
        DomainDispatcherApplication.get_backend_for_host = _ORIGINAL_BACKEND_FOR_HOST  # type: ignore[method-assign]
        _ORIGINAL_BACKEND_FOR_HOST = None
    embedded_dynamodb.uninstall()
    embedded_sqs.uninstall()
    embedded_kms.uninstall()

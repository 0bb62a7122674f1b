"""The local mode's patches to the embedded AWS (moto), applied together: ``local.embedded_dynamodb`` (item-level
transaction rollback, one lock per request, no storage on read misses, partition queries), ``local.embedded_sqs``
(linear receive and send, bounded deleted-handle memory), ``local.embedded_kms`` (``Sign`` over a digest) and
``local.embedded_kinesis`` (reads by bisection, records kept for the stream's retention only), and no
dashboard tracking of every model object moto creates (``_untrack``). Used by
``make run``, the benchmark's server process and the test fixtures; never by ``functions/``."""

from __future__ import annotations

from typing import Any

_ORIGINAL_BACKEND_FOR_HOST: Any = None


def install() -> None:
    global _ORIGINAL_BACKEND_FOR_HOST
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    from local import embedded_dynamodb, embedded_kinesis, embedded_kms, embedded_sqs

    embedded_dynamodb.install()
    embedded_sqs.install()
    embedded_kms.install()
    embedded_kinesis.install()
    _untrack(UNTRACKED_SERVICES)
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


UNTRACKED_SERVICES = ("dynamodb", "sqs", "kms", "kinesis")


_ORIGINAL_MODEL_NEW: Any = None


def _untrack(services: tuple[str, ...]) -> None:
    """moto appends every model object it ever creates to its class's ``instances_tracked`` list, for its dashboard
    (``moto.core.common_models.BaseModel.__new__``): every DynamoDB ``Item`` built to answer a read (each query, get
    and batch get copies the items it returns), every SQS message and every Kinesis record ever sent stays alive for the
    life of the server (the records: a slowdown of every request over a long run, 2026-11-30).
    Measured: 10 items retained per catalogue search, ~28 KB per request, the growth the memory test saw. Objects of
    these services are no longer tracked (S3 keeps its tracking: moto's S3 reset closes its keys' files through it)."""
    global _ORIGINAL_MODEL_NEW
    from moto.core.common_models import BaseModel

    if _ORIGINAL_MODEL_NEW is not None:
        return
    _ORIGINAL_MODEL_NEW = BaseModel.__dict__["__new__"]
    untracked: dict[str, bool] = {}

    def __new__(cls: Any, *args: Any, **kwargs: Any) -> Any:
        module = cls.__module__
        skip = untracked.get(module)
        if skip is None:
            parts = module.split(".")
            skip = untracked[module] = len(parts) > 1 and parts[0] == "moto" and parts[1] in services
        if skip:
            return super(BaseModel, cls).__new__(cls)
        return _ORIGINAL_MODEL_NEW(cls, *args, **kwargs)

    BaseModel.__new__ = __new__  # type: ignore[method-assign, assignment]


def _retrack() -> None:
    global _ORIGINAL_MODEL_NEW
    from moto.core.common_models import BaseModel

    if _ORIGINAL_MODEL_NEW is not None:
        BaseModel.__new__ = _ORIGINAL_MODEL_NEW  # type: ignore[method-assign]
        _ORIGINAL_MODEL_NEW = None


def tune_gc() -> None:
    """The embedded server keeps millions of small, long-lived objects (every attribute of every item is a
    ``DynamoType``). With Python's default thresholds a young collection runs every 700 allocations and, as the heap
    grows, full passes over all of it (about a second each at 1 GB) land inside whatever request is running. Here
    what exists at start is frozen out of collection, and young generations are larger and full passes rare; cycles
    among young objects are still collected. The long benchmark run reads the server's memory to show it stays
    bounded. Applied to the embedded server only (``make run`` and the benchmark's server process)."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 1_000)


def uninstall() -> None:
    global _ORIGINAL_BACKEND_FOR_HOST
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    from local import embedded_dynamodb, embedded_kinesis, embedded_kms, embedded_sqs

    if _ORIGINAL_BACKEND_FOR_HOST is not None:
        DomainDispatcherApplication.get_backend_for_host = _ORIGINAL_BACKEND_FOR_HOST  # type: ignore[method-assign]
        _ORIGINAL_BACKEND_FOR_HOST = None
    _retrack()
    embedded_dynamodb.uninstall()
    embedded_sqs.uninstall()
    embedded_kms.uninstall()
    embedded_kinesis.uninstall()

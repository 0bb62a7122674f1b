"""The local mode's patches to the embedded AWS (moto), applied together: ``local.embedded_dynamodb`` (item-level
transaction rollback, one lock per request, no storage on read misses, partition queries) and ``local.embedded_sqs``
(linear receive and send, bounded deleted-handle memory). Used by ``make run``, the benchmark's server process and
the test fixtures; never by ``functions/``."""

from __future__ import annotations


def install() -> None:
    from local import embedded_dynamodb, embedded_sqs

    embedded_dynamodb.install()
    embedded_sqs.install()


def uninstall() -> None:
    from local import embedded_dynamodb, embedded_sqs

    embedded_dynamodb.uninstall()
    embedded_sqs.uninstall()

"""The unit tier: models, pure logic and in-memory fakes; no network and no embedded AWS.

Every test collected under ``tests/unit`` carries pytest-socket's ``disable_socket`` marker, so opening a socket (an
HTTP call, a DNS lookup, a boto3 client that slipped through) fails the test with ``SocketBlockedError``.
``tests/unit/test_unit_tier.py`` fails if a unit module imports moto or the embedded AWS, or asks for the ``aws``
fixture (directly or through another fixture)."""

from __future__ import annotations

from pathlib import Path

import pytest

UNIT = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # this hook sees the whole session's items: mark only this tier's
    for item in items:
        if UNIT in item.path.parents:
            item.add_marker(pytest.mark.disable_socket)

"""Test-wide settings: fake AWS credentials, never a real endpoint, and the shared fixtures."""

from __future__ import annotations

import os

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_NAMESPACE": "Imprimatur",
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

pytest_plugins = ["tests.fixtures"]

_RECURSION_LIMIT = __import__("sys").getrecursionlimit()


def pytest_runtest_teardown() -> None:
    """Put Python's recursion limit back after every test: importing x402's EVM scheme imports py_ecc, which raises it
    to 100,000 for the whole process, and a later test's deeply nested JSON then overflowed the C stack in the json
    decoder (a segfault in tests/sdk/test_certificate_fuzz.py in a fresh-clone run) instead of raising RecursionError."""
    import sys

    sys.setrecursionlimit(_RECURSION_LIMIT)

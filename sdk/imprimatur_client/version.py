"""The SDK's version (also in ``sdk/pyproject.toml``; a test checks they agree)."""

__version__ = "0.4.0"

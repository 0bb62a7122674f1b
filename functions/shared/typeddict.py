"""``TypedDict`` for the cross-service contracts (docs/data-contracts.md), and how a consumer checks one.

On Python 3.12+ (the Lambda runtime) this is ``typing.TypedDict`` and nothing else is imported; below 3.12 it is
``typing_extensions.TypedDict``, the only one pydantic validates there (the tests check the contracts with a
``TypeAdapter``).
"""

import sys
from collections.abc import Mapping

if sys.version_info >= (3, 12):
    from typing import TypedDict
else:
    from typing_extensions import TypedDict

__all__ = ["TypedDict", "missing"]


def missing(message: Mapping[str, object], contract: type) -> list[str]:
    """The keys ``contract`` (a TypedDict) requires that ``message`` lacks (absent, null or empty), in declaration
    order: how a consumer refuses a message that breaks its contract."""
    required: frozenset[str] = getattr(contract, "__required_keys__", frozenset())
    return [k for k in contract.__annotations__ if k in required and message.get(k) in (None, "")]

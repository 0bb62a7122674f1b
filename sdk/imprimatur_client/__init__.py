"""Imprimatur Python SDK: ``Client`` for the public API, typed errors, offline certificate verification.

The core needs only ``httpx``. ``verify_certificate`` needs the ``verify`` extra (``cryptography``) and the
``imprimatur`` command the ``cli`` extra (Typer, Rich); without them they raise ``MissingExtra`` naming the extra.
"""

from imprimatur_client.certificates import decode_claims, verify_certificate
from imprimatur_client.client import Client, ContentGrant, FetchResult
from imprimatur_client.errors import (
    BadRequest,
    BudgetBelowPrice,
    BudgetExhausted,
    BudgetReserved,
    CapBelowSpent,
    Conflict,
    Forbidden,
    Gone,
    ImprimaturError,
    LicenseCancelled,
    LicenseEnded,
    LicenseExpired,
    LicenseLapsed,
    LicenseNotActive,
    LicenseRevoked,
    MissingExtra,
    NotFound,
    PaymentRequired,
    PeriodOpen,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
    ValidationFailed,
    VerificationFailed,
)
from imprimatur_client.money import PriceError
from imprimatur_client.version import __version__

__all__ = [
    "BadRequest",
    "BudgetBelowPrice",
    "BudgetExhausted",
    "BudgetReserved",
    "CapBelowSpent",
    "Client",
    "Conflict",
    "ContentGrant",
    "FetchResult",
    "Forbidden",
    "Gone",
    "ImprimaturError",
    "LicenseCancelled",
    "LicenseEnded",
    "LicenseExpired",
    "LicenseLapsed",
    "LicenseNotActive",
    "LicenseRevoked",
    "MissingExtra",
    "NotFound",
    "PaymentRequired",
    "PeriodOpen",
    "PriceError",
    "RateLimited",
    "ServerError",
    "TransportError",
    "Unauthorized",
    "ValidationFailed",
    "VerificationFailed",
    "__version__",
    "decode_claims",
    "verify_certificate",
]

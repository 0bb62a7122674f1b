"""Imprimatur Python SDK: ``Client`` for the public API, typed errors, offline certificate verification."""

from imprimatur_client.certificates import verify_certificate
from imprimatur_client.client import Client, ContentGrant
from imprimatur_client.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    ImprimaturError,
    NotFound,
    PaymentRequired,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
    ValidationFailed,
    VerificationFailed,
)

__all__ = [
    "BadRequest",
    "Client",
    "Conflict",
    "ContentGrant",
    "Forbidden",
    "Gone",
    "ImprimaturError",
    "NotFound",
    "PaymentRequired",
    "RateLimited",
    "ServerError",
    "TransportError",
    "Unauthorized",
    "ValidationFailed",
    "VerificationFailed",
    "verify_certificate",
]

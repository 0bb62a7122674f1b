"""Domain faults: the facts that end a request, raised where the fact is known.

Logic and data access raise these and know nothing of HTTP; the edge (``functions.shared.errors``) maps each
family to a status in one table, and the resolver turns them into RFC 9457 problems. ``code`` is the stable,
machine-readable reason a client branches on; nothing matches on ``detail``.

A family says what kind of fact it is, not which status it becomes:

=====================  ==========================================================
``InvalidInput``       the request is malformed (a value no caller could mean)
``Unauthenticated``    no caller could be established
``PaymentNeeded``      the content exists and is for sale, but not paid for
``NotAllowed``         the caller is known but may not do this
``Missing``            the thing does not exist (or is not the caller's to see)
``StateConflict``      the thing is in a state that forbids this, or a race lost
``Withdrawn``          the thing existed and is gone for good
``UnsupportedContent`` the body is not in a form the route accepts
``RuleViolated``       well-formed, but a business rule refuses it
``RateLimited``        too many requests; ``retry_after_s`` says when to come back
``Unavailable``        a service it needs did not answer; nothing was done, try again
=====================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Mapping


class Fault(Exception):
    """Base of every domain fault. ``extra`` holds structured detail a client may use (JSON values)."""

    code: str = "internal_error"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        extra: Mapping[str, object] | None = None,
        retry_after_s: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.extra: dict[str, object] = dict(extra or {})
        self.retry_after_s = retry_after_s


class InvalidInput(Fault):
    code = "bad_request"


class Unauthenticated(Fault):
    code = "unauthorized"


class PaymentNeeded(Fault):
    code = "payment_required"


class NotAllowed(Fault):
    code = "forbidden"


class Missing(Fault):
    code = "not_found"


class StateConflict(Fault):
    code = "conflict"


class Withdrawn(Fault):
    code = "gone"


class UnsupportedContent(Fault):
    code = "unsupported_media_type"


class RuleViolated(Fault):
    code = "unprocessable"


class RateLimited(Fault):
    code = "too_many_requests"


class Unavailable(Fault):
    code = "service_unavailable"


class ConditionFailed(StateConflict):
    """A conditional write lost: the data access layer's answer to a failed condition it did not expect to
    name more precisely (callers that know the meaning catch it and raise their own fault)."""

    code = "conflict"

"""API Gateway HTTP API Lambda REQUEST authoriser (payload 2.0, simple responses).

API Gateway caches the answer for ``AUTH_CACHE_TTL_SECONDS`` per Authorization header value, allow *and* deny, so
a revoked key or a suspended account stops working within that TTL, and an invalid key reaches this function at
most once per TTL and the route's function never (issue 17). Two DynamoDB reads on a cache miss.

A key that is not valid is denied: API Gateway answers it with its own ``403 {"message":"Forbidden"}`` (an HTTP
API cannot customise that body; the local gateway answers ``401`` problem+json instead, docs/api.md
"Authentication"). Failed keys are counted per source IP (``functions.shared.ratelimit``, subject ``badkey#<ip>``,
apart from the address's keyless requests on public routes): once an address is over its limit of failed keys for
the window, every key first seen from it in that window is denied without reading the accounts table (a valid one
too: the trade-off of any per-address rule; keys already cached are unaffected).
(docs/decision_log.md, 2026-11-28 and 2026-11-29.)

Imports are at module level: they run once per instance, in Lambda's init phase, not in the first request's
timed invocation (docs/performance.md, "Authoriser sizing").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions.accounts.logic.authn import authenticate
from functions.shared import ratelimit
from functions.shared.auth import bearer
from functions.shared.jsontypes import LambdaEvent

if TYPE_CHECKING:  # a type only: importing it at run time loads the whole Powertools package (P2, docs/performance.md)
    from aws_lambda_powertools.utilities.typing import LambdaContext

DENY: LambdaEvent = {"isAuthorized": False}


def handler(event: LambdaEvent, context: LambdaContext) -> LambdaEvent:
    subject = f"badkey#{ratelimit.source_ip(event)}"
    lim = ratelimit.limiter()
    limits = ratelimit.env()
    if lim is not None and lim.exhausted(subject, limits.RATE_LIMIT_WINDOW_S) is not None:
        return dict(DENY)  # this address is over its limit of failed keys: not even a read
    token = bearer(event.get("headers"))
    principal = authenticate(token) if token else None
    if principal is None:
        if lim is not None:  # one token of the address's budget per failed key
            lim.take(
                subject,
                limit=limits.RATE_LIMIT_PER_IP,
                window_s=limits.RATE_LIMIT_WINDOW_S,
                chunk=limits.RATE_LIMIT_CHUNK,
            )
        return dict(DENY)
    return {"isAuthorized": True, "context": principal.to_context()}

"""API Gateway HTTP API Lambda REQUEST authoriser (payload 2.0, simple responses).

API Gateway caches the answer for ``AUTH_CACHE_TTL_SECONDS`` per Authorization header value, so a revoked
key or a suspended account stops working within that TTL. Two DynamoDB reads on a cache miss.

A bad key is *not* denied here: an HTTP API authoriser's deny becomes a bare ``403 {"message":"Forbidden"}``
that cannot be customised, while the contract wants ``401`` with a problem+json body. So the request goes on
with an empty caller, and every ``key`` route's first step (``functions.shared.api.principal``) answers 401.
(See docs/decision_log.md, 2026-11-28.)
"""

from __future__ import annotations

from typing import Any

from functions.shared.auth import bearer


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from functions.accounts.logic.authn import authenticate

    token = bearer(event.get("headers"))
    principal = authenticate(token) if token else None
    if principal is None:
        return {"isAuthorized": True, "context": {"auth_error": "invalid_key"}}
    return {"isAuthorized": True, "context": principal.to_context()}

"""The deployment's public base URL, for every link a response carries: RSL documents, the ``Link`` header of a
delivery, the JWKS URL, certificates' issuer and status-list URIs.

It comes from configuration only: ``PUBLIC_BASE_URL``, set by the stack (the HTTP API's URL, or a custom domain from
the ``public_base_url`` context) and by the local server (its own listening URL). Never from a request's ``Host`` or
``X-Forwarded-Proto``: a caller could otherwise choose the issuer that gets signed into a certificate, or point the
links of a cached document at a host of its own (docs/decision_log.md, 2026-11-29).

No pydantic, no framework: the delivery hot path calls this on every request (one dict lookup after the first call).
"""

from __future__ import annotations

import os
from functools import cache

ENV_VAR = "PUBLIC_BASE_URL"


def base_url(_event: object = None) -> str:
    """``https://api.example.com`` (no trailing slash). ``_event`` is accepted and ignored: the URL never depends
    on the request (older call sites still pass the event)."""
    return checked(os.environ.get(ENV_VAR, ""))


@cache
def checked(value: str) -> str:
    """The configured value, validated (env models use it at cold start, so a broken deployment fails loudly)."""
    url = value.strip().rstrip("/")
    scheme, sep, rest = url.partition("://")
    if scheme not in ("http", "https") or not sep or not rest or any(c in rest for c in "?#"):
        raise RuntimeError(f"{ENV_VAR} must be the deployment's public base URL (http(s)://host[/path]), not {value!r}")
    return url

"""The public base URL of the API a request came in on (for links in responses: RSL documents, the ``Link`` header,
the JWKS URL, certificates' issuer). Works on the raw API Gateway v2 event, so the hot path needs no framework."""

from __future__ import annotations

from typing import Any


def base_url(event: dict[str, Any]) -> str:
    headers = event.get("headers") or {}
    host = headers.get("host") or (event.get("requestContext") or {}).get("domainName", "")
    proto = headers.get("x-forwarded-proto") or ("http" if host.startswith(("127.", "localhost")) else "https")
    return f"{proto}://{host}"

"""What verifiers of certificates rely on, wired into the functions after the API exists (API v1.1, "Certificates
tell the truth"):

- ``PUBLIC_BASE_URL`` for every function (certificates' issuer, status-list URIs, the JWKS URL, RSL documents, the
  delivery ``Link`` header; one value for the whole deployment, so any function's environment model may require
  it): the ``public_base_url`` context (a custom domain in front of the API) or else the HTTP API's own endpoint.
  Never a request's ``Host`` header.
- ``RETIRED_SIGNING_KEYS`` for the signers: the ``retired_signing_keys`` context, a JSON list of
  ``{"key_id", "retired_at"}``; the JWKS publishes each such key until every certificate it could have signed has
  expired, so the signers may read those keys' public halves (``kms:GetPublicKey`` only, never ``kms:Sign``).

Context values given on the command line (``-c retired_signing_keys='[...]'``) arrive as strings; in ``cdk.json``
they may be JSON values. docs/infrastructure.md, "Public base URL" and "Rotating the signing key".
"""

from __future__ import annotations

import json
from typing import Any, Final

from aws_cdk import Stack
from pydantic import TypeAdapter

from functions.licensing.models.keys import RetiredKey
from functions.shared.urls import ENV_VAR as PUBLIC_BASE_URL_ENV
from functions.shared.urls import checked
from infra.constructs.services import SIGNERS, Services

PUBLIC_BASE_URL_CONTEXT: Final = "public_base_url"
RETIRED_SIGNING_KEYS_CONTEXT: Final = "retired_signing_keys"
SIGNING_KEY_GENERATION_CONTEXT: Final = "signing_key_generation"
RETIRED_SIGNING_KEYS_ENV: Final = "RETIRED_SIGNING_KEYS"

_RETIRED: Final = TypeAdapter(list[RetiredKey])


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def public_base_url(stack: Stack, api_endpoint: str) -> str:
    configured = stack.node.try_get_context(PUBLIC_BASE_URL_CONTEXT)
    return checked(str(configured)) if configured else api_endpoint


def retired_signing_keys(stack: Stack) -> list[RetiredKey]:
    raw = stack.node.try_get_context(RETIRED_SIGNING_KEYS_CONTEXT)
    return _RETIRED.validate_python(_json(raw)) if raw else []


def signing_key_generation(stack: Stack) -> int:
    raw = stack.node.try_get_context(SIGNING_KEY_GENERATION_CONTEXT)
    return int(raw) if raw else 1


def key_arn(stack: Stack, key_id: str) -> str:
    """A KMS key ARN from a key id (in this stack's account and region) or an ARN."""
    if key_id.startswith("arn:"):
        return key_id
    return stack.format_arn(service="kms", resource="key", resource_name=key_id)


def wire(stack: Stack, services: Services, *, base_url: str, retired: list[RetiredKey]) -> None:
    for fn in services.functions.values():
        fn.function.add_environment(PUBLIC_BASE_URL_ENV, base_url)
    value = json.dumps(
        [{"key_id": k.key_id, "retired_at": k.retired_at.isoformat().replace("+00:00", "Z")} for k in retired],
        separators=(",", ":"),
    )
    for name in SIGNERS:
        services.functions[name].function.add_environment(RETIRED_SIGNING_KEYS_ENV, value)
        if retired:
            services.functions[name].allow(("kms:GetPublicKey",), [key_arn(stack, k.key_id) for k in retired])

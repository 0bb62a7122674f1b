"""R3: schemathesis over the generated OpenAPI document, against the running local stack: no server error, and
status codes, content types and response bodies conform to the document; `ignored_auth` proves that every route
declared as needing a key refuses requests without one. It runs as two identities per role (two tenants). A bounded
number of examples keeps `make test` fast (SCHEMATHESIS_EXAMPLES raises it). That one tenant cannot read or use another
tenant's objects is the authorisation matrix in tests/integration/test_authz_matrix.py."""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "3"))


@pytest.fixture(scope="session")
def api_schema(local_stack: dict[str, Any]) -> Any:
    return schemathesis.openapi.from_url(local_stack["api_url"] + "/v1/openapi.json")


def _identity(new_account: Any, name: str) -> dict[str, str]:
    client, _ = new_account("publisher", "buyer", "admin", name=name)
    return {"Authorization": f"Bearer {client.key}"}


@pytest.fixture(scope="session")
def tenant_a(http_admin: Any, new_account: Any) -> dict[str, str]:
    """An account holding every role, so each operation runs past its role check."""
    return _identity(new_account, "schemathesis tenant A")


@pytest.fixture(scope="session")
def tenant_b(http_admin: Any, new_account: Any) -> dict[str, str]:
    """A second tenant with the same roles: two identities per role."""
    return _identity(new_account, "schemathesis tenant B")


schema = schemathesis.pytest.from_fixture("api_schema")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    ignored_auth,
]


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_as_tenant_a(case: Any, tenant_a: dict[str, str]) -> None:
    case.call_and_validate(headers=tenant_a, checks=CHECKS)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_as_tenant_b(case: Any, tenant_b: dict[str, str]) -> None:
    case.call_and_validate(headers=tenant_b, checks=CHECKS)

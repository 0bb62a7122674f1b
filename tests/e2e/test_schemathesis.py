"""R3: schemathesis over the generated OpenAPI document, against the running local stack: no server error, and
status codes, content types and response bodies conform to the document; `ignored_auth` proves that every route
declared as needing a key refuses requests without one. A bounded number of examples keeps `make test` fast
(SCHEMATHESIS_EXAMPLES raises it). Tenant isolation (two identities per role) is the authorisation matrix in
tests/integration/test_authz_matrix.py."""

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


@pytest.fixture(scope="session")
def all_roles(http_admin: Any, new_account: Any) -> dict[str, str]:
    """One account holding every role, so each operation runs past its role check."""
    client, _ = new_account("publisher", "buyer", "admin")
    return {"Authorization": f"Bearer {client.key}"}


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_to_its_openapi_document(case: Any, all_roles: dict[str, str]) -> None:
    case.call_and_validate(
        headers=all_roles,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
            ignored_auth,
        ],
    )

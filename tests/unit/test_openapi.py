"""The OpenAPI document is generated from the code, committed, and covers exactly the route table."""

from __future__ import annotations

import json

from infra.definitions import ROUTES
from local import openapi


def test_committed_openapi_is_fresh() -> None:
    # Fails when a route or model changed without `make openapi`.
    assert openapi.OUT.read_text() == openapi.render()


def test_openapi_covers_every_route_of_the_table() -> None:
    doc = json.loads(openapi.OUT.read_text())
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    expected = {(r.method, r.path) for r in ROUTES if r.path != "/v1/openapi.json"}
    assert documented == expected


def test_every_error_response_is_a_problem() -> None:
    doc = json.loads(openapi.OUT.read_text())
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for status, resp in op["responses"].items():
                if status.startswith(("4", "5")):
                    assert "application/problem+json" in resp.get("content", {}), (method, path, status)
    assert "HTTPValidationError" not in doc["components"]["schemas"]

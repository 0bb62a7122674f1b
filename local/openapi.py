"""Build the OpenAPI 3 document of the whole API from the code of every service's resolver.

``python -m local.openapi`` writes ``functions/openapi.json`` (committed, packaged with the accounts function
and served at ``GET /v1/openapi.json``); ``--check`` fails when the committed copy is stale.

Every error response is the RFC 9457 ``Problem`` schema with ``application/problem+json``: Powertools'
generated 422 schema (``HTTPValidationError``, which lists a ``msg`` it never sends) is replaced by ours.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from infra.definitions import FUNCTIONS, ROUTES

OUT = Path(__file__).resolve().parent.parent / "functions" / "openapi.json"
PROBLEM = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": ["string", "null"]},
                    "location": {"type": "string"},
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}
ERROR_STATUSES = {
    "400": "Malformed request (bad JSON, bad cursor)",
    "401": "Missing, invalid or revoked API key, or suspended account",
    "403": "Authenticated but not allowed",
    "404": "Not found (or not yours)",
    "409": "Conflict",
    "415": "The request body is not JSON",
    "422": "Invalid fields",
}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _api_modules() -> list[str]:
    seen: list[str] = []
    for r in ROUTES:
        module = FUNCTIONS[r.function].handler.rpartition(".")[0]
        if module not in seen:
            seen.append(module)
    return seen


def _problem_response(desc: str) -> dict[str, Any]:
    return {"description": desc, "content": {"application/problem+json": {"schema": PROBLEM_REF}}}


def build() -> dict[str, Any]:
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Imprimatur API",
            "version": "1.0.0",
            "description": "An open marketplace for licensing content to AI. Reference: docs/api.md.",
        },
        "servers": [{"url": "http://127.0.0.1:8080", "description": "local (make run)"}],
        "paths": {},
        "components": {
            "schemas": {"Problem": PROBLEM},
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer", "description": "Imprimatur API key"}},
        },
    }
    auth_by_route = {(r.method.lower(), r.path): r.auth for r in ROUTES}
    for module_name in _api_modules():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("functions."):
                continue  # a service not written yet
            raise
        doc_app = module.openapi_app() if hasattr(module, "openapi_app") else module.app
        schema = json.loads(doc_app.get_openapi_json_schema(title="x", version="1"))
        for path, ops in schema.get("paths", {}).items():
            for method, op in ops.items():
                auth = auth_by_route.get((method, path))
                if auth is None:
                    continue  # not a deployed route
                responses = op.setdefault("responses", {})
                for status, desc in ERROR_STATUSES.items():
                    if status == "401" and auth == "public":
                        continue
                    if status == "415" and not op.get("requestBody"):
                        continue
                    if status in ("400", "422") and not op.get("parameters") and not op.get("requestBody"):
                        responses.pop(status, None)  # nothing to validate: Powertools' 422 cannot happen
                        continue
                    responses[status] = _problem_response(
                        desc if status not in responses else responses[status].get("description", desc)
                    )
                if auth == "key":
                    op["security"] = [{"apiKey": []}]
                elif auth == "optional":
                    op["security"] = [{}, {"apiKey": []}]
                doc["paths"].setdefault(path, {})[method] = op
        for name, comp in schema.get("components", {}).get("schemas", {}).items():
            if name in ("HTTPValidationError", "ValidationError"):
                continue
            doc["components"]["schemas"].setdefault(name, comp)
    doc["paths"] = dict(sorted(doc["paths"].items()))
    return doc


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=False) + "\n"


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--check", action="store_true", help="fail if functions/openapi.json is stale")
    args = p.parse_args()
    text = render()
    if args.check:
        if not OUT.exists() or OUT.read_text() != text:
            print("functions/openapi.json is stale: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

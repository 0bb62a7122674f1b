"""The one way every service builds its HTTP resolver and maps errors to RFC 9457 problems.

- ``make_resolver()`` returns a Powertools ``APIGatewayHttpResolver`` with validation on and one
  exception handler per error family: domain faults (``functions.shared.faults``, mapped to a status by the one
  table in ``functions.shared.errors``), request validation (422, or 400 for malformed JSON), and a last-resort
  500 that logs the exception and answers only a request id.
- ``principal(app)`` gives the caller established by the authoriser; ``optional_principal(app)``
  authenticates a presented key on the few ``optional`` routes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from functions.shared.auth import Principal, bearer, principal_from_event, raise_pending, require_principal
from functions.shared.errors import PROBLEM_JSON, NotFound, Unauthorized, headers_of, problem_body, status_of
from functions.shared.faults import Fault
from functions.shared.jsontypes import LambdaEvent

logger = Logger()


def problem(
    status: int,
    title: str,
    detail: str,
    code: str,
    *,
    extra: LambdaEvent | None = None,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    return Response(
        status_code=status,
        content_type=PROBLEM_JSON,
        body=problem_body(status, title, detail, code, extra),
        headers=headers or {},
    )


def _field_errors(errors: Sequence[Mapping[str, object]]) -> list[dict[str, str | None]]:
    out: list[dict[str, str | None]] = []
    for err in errors:
        raw_loc = err.get("loc")
        loc_parts = [str(p) for p in raw_loc] if isinstance(raw_loc, (list, tuple)) else []
        loc = [p for p in loc_parts if p != "body"]
        out.append(
            {
                "field": ".".join(loc) or None,
                "location": loc_parts[0] if loc_parts else "body",
                "message": str(err.get("msg", "invalid value")),
                "type": str(err.get("type", "value_error")),
            }
        )
    return out


def make_resolver() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)

    @app.exception_handler(Fault)
    def _fault(exc: Fault) -> Response[str]:
        status, title = status_of(exc)
        if status >= 500:
            logger.exception("fault", extra={"code": exc.code})
        return problem(status, title, exc.detail, exc.code, extra=exc.extra, headers=headers_of(exc))

    @app.exception_handler(RequestValidationError)
    def _validation(exc: RequestValidationError) -> Response[str]:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return problem(400, "Malformed JSON", "The request body is not valid JSON.", "malformed_json")
        return problem(
            422,
            "Validation failed",
            "One or more fields are invalid.",
            "validation_failed",
            extra={"errors": _field_errors(errors)},
        )

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response[str]:
        # the last resort: log everything, answer nothing but a request id to quote to the operator
        request_id = _request_id(app)
        logger.exception("unexpected error", extra={"request_id": request_id})
        return problem(
            500,
            "Internal error",
            f"Something went wrong on our side. Quote request id {request_id} to the operator.",
            "internal_error",
            extra={"request_id": request_id},
        )

    @app.not_found
    def _not_found(_: Exception) -> Response[str]:
        return problem(404, "Not found", "No such route.", "route_not_found")

    return app


def _request_id(app: APIGatewayHttpResolver) -> str:
    try:
        ctx = app.current_event.raw_event.get("requestContext") or {}
        rid = ctx.get("requestId") or getattr(app.lambda_context, "aws_request_id", None)
    except Exception:
        rid = None
    return str(rid or "unknown")


def principal(app: BaseRouter, *, allow_pending: bool = False) -> Principal:
    return require_principal(app.current_event.raw_event, allow_pending=allow_pending)


def optional_principal(app: BaseRouter, authenticate: Callable[[str], Principal | None]) -> Principal | None:
    """On an ``optional`` route: None without a key; the caller for a valid key; 401 for a bad one.

    ``authenticate`` is the accounts service's key check, passed in by the route (shared code knows no service)."""
    event = app.current_event.raw_event
    found = principal_from_event(event)
    if found is not None:
        if found.pending:
            raise_pending()
        return found
    token = bearer(event.get("headers"))
    if token is None:
        if (event.get("headers") or {}).get("authorization"):
            raise Unauthorized("The Authorization header must be 'Bearer <api_key>'.")
        return None
    p = authenticate(token)
    if p is None:
        raise Unauthorized("The API key is not valid, revoked, or its account is suspended.")
    if p.pending:
        raise_pending()
    return p


def path_id(value: str, prefix: str) -> str:
    """A path id of the wrong shape cannot exist: answer 404 (not 422), as for any unknown id."""
    from functions.shared.ids import is_id

    if not is_id(value, prefix):
        raise NotFound(f"No {prefix} with id {value!r}.")
    return value


def json_response(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body, separators=(",", ":")),
        headers=headers or {},
    )

"""One error model (issue 15): domain faults raised anywhere, one table to HTTP at the edge, a last-resort 500."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from functions.shared import errors, faults
from functions.shared.api import make_resolver

FAMILIES = [
    (faults.InvalidInput, errors.BadRequest, 400),
    (faults.Unauthenticated, errors.Unauthorized, 401),
    (faults.PaymentNeeded, errors.PaymentRequired, 402),
    (faults.NotAllowed, errors.Forbidden, 403),
    (faults.Missing, errors.NotFound, 404),
    (faults.StateConflict, errors.Conflict, 409),
    (faults.Withdrawn, errors.Gone, 410),
    (faults.UnsupportedContent, errors.UnsupportedMediaType, 415),
    (faults.RuleViolated, errors.Unprocessable, 422),
    (faults.RateLimited, errors.TooManyRequests, 429),
]


def _event(path: str) -> dict[str, object]:
    return {
        "version": "2.0",
        "routeKey": f"GET {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {},
        "requestContext": {
            "requestId": "req-123",
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }


def _call(raise_: BaseException) -> dict[str, object]:
    app = make_resolver()

    @app.get("/boom")
    def boom() -> dict[str, str]:
        raise raise_

    out = app.resolve(_event("/boom"), SimpleNamespace(aws_request_id="lambda-req"))  # type: ignore[arg-type]
    assert isinstance(out, dict)
    return out


@pytest.mark.parametrize(("family", "http_name", "status"), FAMILIES)
def test_each_family_has_one_status_and_the_http_names_are_the_families(
    family: type[faults.Fault], http_name: type[errors.ApiError], status: int
) -> None:
    assert issubclass(http_name, family)
    assert errors.status_of(family("x"))[0] == status
    assert http_name("x").status == status
    assert http_name("x").code == family.code  # the HTTP name adds headers, never another code


def test_the_families_are_disjoint_so_the_table_is_unambiguous() -> None:
    for family, _, _ in FAMILIES:
        others = [f for f, _, _ in FAMILIES if f is not family]
        assert not any(issubclass(family, o) for o in others), family


@pytest.mark.parametrize(("family", "http_name", "status"), FAMILIES)
def test_a_fault_raised_by_logic_becomes_its_problem(
    family: type[faults.Fault], http_name: type[errors.ApiError], status: int
) -> None:
    out = _call(family("The thing is so.", code="thing_is_so", extra={"hint": 1}))
    assert out["statusCode"] == status
    assert out["headers"]["Content-Type"] == "application/problem+json"  # type: ignore[index]
    body = json.loads(str(out["body"]))
    assert body == {
        "type": "https://imprimatur.dev/problems/thing_is_so",
        "title": errors.HTTP[family][1],
        "status": status,
        "detail": "The thing is so.",
        "code": "thing_is_so",
        "hint": 1,
    }


def test_retry_after_is_a_domain_fact_the_edge_turns_into_a_header() -> None:
    out = _call(faults.StateConflict("Held by deliveries in flight.", code="budget_reserved", retry_after_s=60))
    assert out["statusCode"] == 409
    assert out["headers"]["Retry-After"] == "60"  # type: ignore[index]


def test_a_subclass_fault_keeps_its_family_status_and_own_code() -> None:
    from functions.licensing.models.exceptions import PayPerCrawlRace

    out = _call(PayPerCrawlRace("raced"))
    assert out["statusCode"] == 409 and json.loads(str(out["body"]))["code"] == "ppc_race"


def test_the_unexpected_is_a_500_problem_with_a_request_id_and_no_leak() -> None:
    out = _call(RuntimeError("secret table name imprimatur-prod-Ledger and a stack trace"))
    assert out["statusCode"] == 500
    assert out["headers"]["Content-Type"] == "application/problem+json"  # type: ignore[index]
    body = json.loads(str(out["body"]))
    assert body["code"] == "internal_error" and body["request_id"] == "req-123"
    assert "req-123" in body["detail"] and "secret" not in str(out["body"])


def test_the_delivery_route_answers_the_unexpected_the_same_way(monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.licensing.handlers import delivery

    def broken(event: object) -> object:
        raise KeyError("internal detail")

    monkeypatch.setattr(delivery, "deliver", broken)
    out = delivery.handler({"requestContext": {"requestId": "req-9"}}, SimpleNamespace(aws_request_id="x"))
    assert out["statusCode"] == 500
    body = json.loads(out["body"])
    assert body["request_id"] == "req-9" and "internal detail" not in out["body"]

    def refused(event: object) -> object:
        raise faults.Missing("No such asset.")

    monkeypatch.setattr(delivery, "deliver", refused)
    out = delivery.handler({}, SimpleNamespace(aws_request_id="x"))
    assert out["statusCode"] == 404 and json.loads(out["body"])["code"] == "not_found"

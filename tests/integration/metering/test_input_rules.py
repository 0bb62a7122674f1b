"""Issue 17, section 3, on the metering routes: bad input is a 4xx problem, never a 5xx nor silently accepted.

v1 answered ``occurred_at`` of 30 February with a 500 and accepted 1970, ``"3"`` and ``true`` as units, answered a
body nested 100,000 levels deep or with a 5,000-digit number with a 500, and copied any ``account_id`` (CR/LF
included) into the statement's ``Content-Disposition`` header.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from functions.shared import clock
from functions.shared.clock import iso, now_iso


def _event(lic: dict[str, Any], asset_id: str, **over: Any) -> dict[str, Any]:
    return {
        "event_id": "e1",
        "license_id": lic["id"],
        "asset_id": asset_id,
        "use": lic["use"],
        "units": 1,
        "occurred_at": now_iso(),
        **over,
    }


@pytest.fixture
def lic(market: dict[str, Any]) -> dict[str, Any]:
    r = market["buyer"].post("/v1/licenses", {"offer_id": market["per_access"]["id"], "use": "ai-input"})
    assert r.status == 201, r.body
    return dict(r.json["license"])


def _assert_problem(r: Any, status: int, field: str | None = None) -> None:
    assert r.status == status, r.body
    assert r.content_type == "application/problem+json"
    if field is not None:
        assert any(e["field"].endswith(field) for e in r.json["errors"]), r.json


@pytest.mark.parametrize(
    "occurred_at",
    [
        "2026-02-30T10:00:00Z",  # no such day
        "2025-02-29T10:00:00Z",  # not a leap year
        "2026-11-29T24:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-11-29T10:00:00+24:00",
        "1999-12-31T23:59:59Z",  # before 2000-01-01
        "1970-01-01T00:00:00Z",
        "0001-01-01T00:00:00Z",
        "2026-11-29 10:00:00Z",
    ],
)
def test_occurred_at_must_be_a_real_instant_in_the_window(
    market: dict[str, Any], lic: dict[str, Any], occurred_at: str
) -> None:
    r = market["buyer"].post("/v1/usage", {"events": [_event(lic, market["asset"]["id"], occurred_at=occurred_at)]})
    _assert_problem(r, 422, "events.0.occurred_at")


def test_occurred_at_after_the_clock_is_rejected_per_event(market: dict[str, Any], lic: dict[str, Any]) -> None:
    # more than 5 minutes after the marketplace's clock: that event is rejected (in_future), the request is not
    buyer, asset_id = market["buyer"], market["asset"]["id"]
    for n, ahead in enumerate(
        (iso(clock.now() + timedelta(minutes=6)), "2999-01-01T00:00:00Z", "9999-12-31T23:59:59Z")
    ):
        r = buyer.post("/v1/usage", {"events": [_event(lic, asset_id, event_id=f"ahead-{n}", occurred_at=ahead)]})
        assert r.status == 202, r.body
        assert r.json["rejected"] == [{"event_id": f"ahead-{n}", "code": "in_future"}]
    # within the 5 minutes of skew is not in the future; the first instant of 2000 passes validation (outside the term)
    r = buyer.post(
        "/v1/usage",
        {"events": [_event(lic, asset_id, event_id="skew", occurred_at=iso(clock.now() + timedelta(minutes=4)))]},
    )
    assert r.status == 202 and "in_future" not in {x["code"] for x in r.json["rejected"]}, r.body
    r = buyer.post("/v1/usage", {"events": [_event(lic, asset_id, event_id="y2k", occurred_at="2000-01-01T00:00:00Z")]})
    assert r.status == 202 and r.json["rejected"] == [{"event_id": "y2k", "code": "outside_term"}], r.body


@pytest.mark.parametrize("units", ["3", True, 1.0, "1e3", None])
def test_units_are_json_integers(market: dict[str, Any], lic: dict[str, Any], units: Any) -> None:
    r = market["buyer"].post("/v1/usage", {"events": [_event(lic, market["asset"]["id"], units=units)]})
    _assert_problem(r, 422, "events.0.units")


@pytest.mark.parametrize(
    "raw",
    [
        b'{"events":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"events":[' + b"[" * 64 + b"]" * 64 + b"]}",  # 66 levels
        b'{"events":[{"units":' + b"9" * 5_000 + b"}]}",
        b'{"events":[{"units":' + b"1" * 21 + b"}]}",
    ],
    ids=["100000-deep", "66-deep", "5000-digits", "21-digits"],
)
def test_too_deep_or_too_long_numbers_are_400_at_the_edge(market: dict[str, Any], raw: bytes) -> None:
    r = market["buyer"].call("POST", "/v1/usage", raw=raw)
    _assert_problem(r, 400)
    assert r.json["code"] == "json_limits"


def test_brackets_and_digits_inside_strings_do_not_count(market: dict[str, Any], lic: dict[str, Any]) -> None:
    ev = _event(lic, market["asset"]["id"], event_id="[" * 70 + "1" * 30)
    r = market["buyer"].post("/v1/usage", {"events": [ev]})
    assert r.status == 202, r.body


@pytest.mark.parametrize(
    "account_id",
    [
        "acct_x\r\nX-Injected: 1",
        'acct_01j"; filename="evil.csv',
        '=HYPERLINK("http://evil")',
        "acct_" + "0" * 25,
        "../../etc",
    ],
)
@pytest.mark.parametrize("route", ["/v1/statements/2026-11", "/v1/balance"])
def test_account_id_query_parameters_are_ids(admin: Any, account_id: str, route: str) -> None:
    r = admin.get(route, params={"account_id": account_id}, headers={"accept": "text/csv"})
    _assert_problem(r, 422, "account_id")


def test_valid_account_ids_still_read_books(admin: Any, market: dict[str, Any]) -> None:
    for account_id in (market["buyer_acct"]["id"], "platform"):
        r = admin.get("/v1/statements/2026-11", params={"account_id": account_id}, headers={"accept": "text/csv"})
        assert r.status == 200, r.body
        assert r.headers["content-disposition"] == f'attachment; filename="statement-{account_id}-2026-11.csv"'
    assert admin.get("/v1/balance", params={"account_id": "platform"}).status == 200


@pytest.mark.parametrize("currency", ["XXX", "ABC", "usd"])
def test_balance_currency_is_one_of_the_money_modules(admin: Any, currency: str) -> None:
    _assert_problem(admin.get("/v1/balance", params={"currency": currency}), 422)

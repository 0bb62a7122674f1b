"""Metering API: reported usage, usage reads, balances, statements (JSON/CSV), pool distributions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated, Literal

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from functions.catalog.dal import reader as catalog
from functions.catalog.dal.reader import AssetRecord
from functions.licensing.dal.budget import DynamoBudgetStore
from functions.licensing.dal.reader import get_licenses
from functions.metering.contracts import UsageMessage
from functions.metering.dal.store import MeteringStore, Reported
from functions.metering.env import env
from functions.metering.handlers.jobs import pool_members_at_end, send_messages
from functions.metering.logic import jobs
from functions.metering.logic.reads import group_usage, public_body, statement_csv
from functions.metering.logic.reporting import charge_of, message, triage
from functions.metering.models.input import PERIOD, DistributionRequest, ReportUsageRequest
from functions.metering.models.output import (
    Balance,
    Distribution,
    PeriodClose,
    ReportUsageResponse,
    Statement,
    UsageReport,
)
from functions.metering.models.records import PartyRecord, StatementRow
from functions.shared.api import json_response, make_resolver, path_id, principal
from functions.shared.auth import Principal
from functions.shared.clock import iso, now
from functions.shared.entry import http_entry
from functions.shared.errors import Forbidden, NotFound, Unprocessable
from functions.shared.idempotency import HEADER, IdempotencyStore
from functions.shared.money import CURRENCIES
from functions.shared.responses import answer

logger = Logger()
app = make_resolver()
DateQ = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}", max_length=40)]
IdQ = Annotated[str | None, Query(max_length=64)]
# An account whose books are read: an account id, a pool id or "platform" (it reaches a response header and a file
# name: nothing else may pass, issue 17).
AccountQ = Annotated[str | None, Query(pattern=r"^(platform|(acct|pool)_[0-9a-hjkmnp-tv-z]{26})$", max_length=64)]


def _store() -> MeteringStore:
    return MeteringStore(env().METERING_TABLE, env().LICENSING_TABLE)


def _parties(account_id: str, rows: Sequence[StatementRow]) -> list[PartyRecord]:
    """The names on a statement (its account, each licence's buyer and publisher)."""
    from functions.metering.dal.parties import parties

    return parties(env().ACCOUNTS_TABLE, account_id, rows)


@app.post(
    "/v1/usage",
    summary="Report usage against your licences (buyer; up to 500 events)",
    tags=["metering"],
    responses={202: answer(ReportUsageResponse, "Accepted for metering")},
)
def report_usage(body: Annotated[ReportUsageRequest, Body()]) -> Response[str]:
    caller = principal(app).require("buyer")

    def effect() -> tuple[object, int]:
        licences = get_licenses({ev.license_id for ev in body.events})
        assets: dict[str, AssetRecord | None] = {}

        def asset_of(asset_id: str) -> AssetRecord | None:
            if asset_id not in assets:
                assets[asset_id] = catalog.get_asset(asset_id) if asset_id.startswith("ast_") else None
            return assets[asset_id]

        store = _store()
        known = store.reported(caller.account_id, [ev.event_id for ev in body.events])
        accepted, duplicates, rejected = triage(caller.account_id, body.events, licences, asset_of, known)
        # Record every accepted id now (a resend is a duplicate from this moment) and reserve capped charges
        reports = [
            Reported(
                ev.event_id,
                ev.license_id,
                charge_of(ev, licences[ev.license_id]),
                licences[ev.license_id].get("budget_cap_micros") is not None,
            )
            for ev in accepted
        ]
        budgets = DynamoBudgetStore(env().LICENSING_TABLE)
        recorded, raced, exhausted = store.record_reported(
            caller.account_id, reports, lambda lic: _available(budgets, lic)
        )
        duplicates += len(raced)
        rejected += [{"event_id": r.event_id, "code": "budget_exhausted"} for r in reports if r.event_id in exhausted]
        kept = {r.event_id for r in recorded}
        msgs: list[UsageMessage] = []
        for ev in accepted:
            if ev.event_id not in kept:
                continue
            lic, asset = licences[ev.license_id], asset_of(ev.asset_id)
            pool = lic["scope"]["id"] if lic["scope"]["type"] == "pool" else None
            msgs.append(message(caller.account_id, ev, asset["publisher_id"] if asset else None, pool))
        try:
            if msgs:
                send_messages(env().USAGE_QUEUE_URL, msgs)
        except Exception:
            store.forget_reported(caller.account_id, recorded)  # not queued: not accepted (a retry can send them)
            raise
        out = ReportUsageResponse.model_validate(
            {"accepted": len(msgs), "duplicates": duplicates, "rejected": rejected}
        )
        return out.model_dump(), 202

    ev = app.current_event
    out, status = IdempotencyStore(env().METERING_TABLE).run(caller.account_id, ev.headers.get(HEADER), ev.body, effect)
    return json_response(out, status)


def _available(budgets: DynamoBudgetStore, license_id: str) -> int:
    got = budgets.get(license_id)
    return got.available if got is not None else 0


def _check_period(period: str) -> None:
    if not re.match(PERIOD, period):
        raise Unprocessable(
            "period must be YYYY-MM.",
            code="validation_failed",
            extra={"errors": [{"field": "period", "location": "path", "message": "YYYY-MM", "type": "pattern"}]},
        )


def _view(caller: Principal, as_: str | None) -> tuple[Literal["all", "buyer", "publisher"], str | None]:
    if caller.is_admin and as_ is None:
        return "all", None
    role = as_ or ("buyer" if "buyer" in caller.roles else "publisher")
    caller.require(role)  # type: ignore[arg-type]
    return ("buyer" if role == "buyer" else "publisher"), caller.account_id


@app.get(
    "/v1/usage", summary="Usage and amounts, grouped (buyer: own; publisher: its assets; admin: all)", tags=["metering"]
)
def get_usage(
    from_: Annotated[str | None, Query(alias="from", pattern=r"^\d{4}-\d{2}-\d{2}", max_length=40)] = None,
    to: DateQ = None,
    group_by: Annotated[Literal["day", "asset", "license", "buyer", "publisher"], Query()] = "day",
    license_id: IdQ = None,
    asset_id: IdQ = None,
    as_: Annotated[Literal["buyer", "publisher"] | None, Query(alias="as")] = None,
) -> UsageReport:
    caller = principal(app)
    start = (from_ or iso(now() - timedelta(days=30)))[:10]
    end = (to or iso(now()))[:10]
    if end < start:
        raise Unprocessable("'to' is before 'from'.", code="invalid_range")
    rows = _store().usage_rows(*_view(caller, as_), start, end)
    return UsageReport(items=group_usage(rows, group_by, license_id, asset_id), group_by=group_by, from_=start, to=end)


def _account(caller: Principal, account_id: str | None) -> str:
    if account_id and account_id != caller.account_id:
        if not caller.is_admin:
            raise Forbidden("Only an admin reads another account's books.", code="insufficient_role")
        return account_id
    return caller.account_id


@app.get(
    "/v1/balance",
    summary="What a buyer owes (negative) or a publisher has earned (admin: any account, 'platform' or a pool)",
    tags=["metering"],
)
def get_balance(
    currency: Annotated[str, Query(pattern=r"^[A-Z]{3}$")] = "USD",
    account_id: AccountQ = None,
) -> Balance:
    account = _account(principal(app), account_id)
    if currency not in CURRENCIES:
        raise Unprocessable(
            f"currency must be one of: {', '.join(sorted(CURRENCIES))}.",
            code="validation_failed",
            extra={"errors": [{"field": "currency", "location": "query", "message": "unknown", "type": "enum"}]},
        )
    return Balance(account_id=account, currency=currency, balance_micros=_store().balance(account, currency))


@app.get(
    "/v1/statements/<period>",
    summary="Monthly statement (JSON, or CSV with Accept: text/csv)",
    tags=["metering"],
    responses={
        200: {
            "description": "The statement",
            "content": {
                "application/json": {"model": Statement},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
def get_statement(period: str, account_id: AccountQ = None) -> Response[str]:
    _check_period(period)
    account = _account(principal(app), account_id)
    st = jobs.read_statement(_store(), account, period, env().PLATFORM_FEE_BPS, _parties)
    accept = app.current_event.headers.get("accept", "")
    if "text/csv" in accept:
        return Response(
            200,
            "text/csv",
            statement_csv(st),
            headers={"Content-Disposition": f'attachment; filename="statement-{account}-{period}.csv"'},
        )
    return json_response(public_body(st))


@app.post(
    "/v1/pools/<id>/distributions",
    summary="Split a pool's net revenue of a period between its members (admin)",
    tags=["pools"],
    responses={201: answer(Distribution, "Distributed")},
)
def create_distribution(id: str, body: Annotated[DistributionRequest, Body()]) -> Response[str]:
    caller = principal(app).require("admin")
    pool_id = path_id(id, "pool")
    if catalog.get_pool(pool_id) is None:
        raise NotFound("No such pool.")

    def effect() -> tuple[object, int]:
        return jobs.distribute(
            _store(), pool_id, body.period, lambda: pool_members_at_end(pool_id, body.period)
        ).model_dump(), 201

    ev = app.current_event  # the key is scoped by path: one key on two pools is two requests (API.md, Idempotency)
    out, status = IdempotencyStore(env().METERING_TABLE).run(
        f"{caller.account_id}#{ev.path}", ev.headers.get(HEADER), ev.body, effect
    )
    return json_response(out, status)


@app.post(
    "/v1/periods/<period>/close",
    summary="Close a past period for good: its statements never change again (admin)",
    tags=["metering"],
    responses={200: answer(PeriodClose, "Closed (again: closing a closed period answers the same)")},
)
def close_period(period: str) -> Response[str]:
    caller = principal(app).require("admin")
    _check_period(period)

    def effect() -> tuple[object, int]:
        return jobs.close_period(
            _store(), period, env().PLATFORM_FEE_BPS, caller.account_id, _parties
        ).model_dump(), 200

    ev = app.current_event
    out, status = IdempotencyStore(env().METERING_TABLE).run(
        f"{caller.account_id}#{ev.path}", ev.headers.get(HEADER), ev.body, effect
    )
    return json_response(out, status)


handler = http_entry(app, env, logger)

"""Licensing API: grant, list, read, budget caps, certificates, cancel, revoke, and the JWKS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from functions.accounts.dal.reader import names_by_id, suspended
from functions.catalog.dal import reader as catalog
from functions.licensing.dal import outbox, queue
from functions.licensing.dal.store import LicensingStore
from functions.licensing.env import env
from functions.licensing.handlers import certificates as certificate_routes
from functions.licensing.handlers.certificates import grant_certificate
from functions.licensing.logic import licenses as logic
from functions.licensing.models.domain import License
from functions.licensing.models.input import CreateLicenseRequest, RevokeRequest, UpdateLicenseRequest
from functions.licensing.models.output import GrantResponse, LicenseList, LicenseOut
from functions.metering.dal.reader import spent_by_license
from functions.shared.api import json_response, make_resolver, path_id, principal
from functions.shared.entry import http_entry
from functions.shared.errors import Conflict, NotFound
from functions.shared.idempotency import HEADER, Claim, IdempotencyStore, Stored
from functions.shared.ids import is_id
from functions.shared.jsontypes import TransactItem
from functions.shared.responses import answer

logger = Logger()
app = make_resolver()


def _store() -> LicensingStore:
    return LicensingStore(env().LICENSING_TABLE)


def _outs(lics: list[License]) -> list[LicenseOut]:
    """Licences as the API shows them, with what each has been charged (one read of metering's spend records) and
    the names of both parties (one batch read of accounts)."""
    spent = spent_by_license(env().METERING_TABLE, [lic.id for lic in lics]) if lics and env().METERING_TABLE else {}
    parties = [a for lic in lics for a in (lic.buyer_id, lic.publisher_id)]
    names = names_by_id(env().ACCOUNTS_TABLE, parties) if lics and env().ACCOUNTS_TABLE else {}
    out = []
    for lic in lics:
        s = spent.get(lic.id, 0)
        cap = lic.budget_cap_micros
        out.append(
            LicenseOut.model_validate(
                {
                    **lic.model_dump(),
                    "buyer_name": names.get(lic.buyer_id),
                    "publisher_name": names.get(lic.publisher_id),
                    "spent_micros": s,
                    "remaining_micros": None if cap is None else max(0, cap - s),
                }
            )
        )
    return out


def _out(lic: License) -> LicenseOut:
    return _outs([lic])[0]


def _send_charge(lic: License) -> None:
    msg = logic.charge_message(lic)
    if msg is not None:
        queue.send(env().USAGE_QUEUE_URL, msg)


def _outboxed(lic: License) -> list[TransactItem]:
    """The grant's charge as an outbox item of the grant's own transaction (issue 17: a charge is never lost)."""
    msg = logic.charge_message(lic)
    if msg is None:
        return []
    return [outbox.put_item(env().LICENSING_TABLE, msg, lic.created_at, msg["charge_id"])]


def _send_outboxed_charge(lic: License) -> None:
    """Send the charge now and empty its outbox item; on failure the relay sends it (the grant still answers 201)."""
    msg = logic.charge_message(lic)
    if msg is None:
        return
    try:
        outbox.relay(
            env().LICENSING_TABLE,
            env().USAGE_QUEUE_URL,
            outbox.Pending(outbox.sort_key(lic.created_at, msg["charge_id"]), msg),
        )
    except Exception:  # the licence and its outbox item are committed: the relay sends the charge
        logger.exception("charge left to the outbox relay", extra={"license_id": lic.id})


@app.post(
    "/v1/licenses",
    summary="Take a licence on an offer (buyer); returns the signed certificate",
    tags=["licences"],
    responses={201: answer(GrantResponse, "Granted")},
)
def create_license(body: Annotated[CreateLicenseRequest, Body()]) -> Response[str]:
    caller = principal(app).require("buyer")
    ev = app.current_event
    granted: list[License] = []

    def grant(claim: Claim) -> tuple[dict[str, object], int]:
        offer = catalog.get_offer(body.offer_id) if is_id(body.offer_id, "off") else None
        offer = logic.check_offer(offer, body.use)
        if env().ACCOUNTS_TABLE and suspended(env().ACCOUNTS_TABLE, [offer["publisher_id"]]):
            raise Conflict(
                "The publisher of this offer is suspended: it grants no new licence.", code="publisher_suspended"
            )
        lic = logic.build_license(caller.account_id, offer, body.use, body.budget_cap_micros)
        budget = logic.budget_record(env().LICENSING_TABLE, lic)
        lic.certificate, status_item = grant_certificate(lic)
        out = GrantResponse(license=_out(lic), certificate=lic.certificate).model_dump()
        # the stored answer joins the grant's own transaction: a retry after a crash replays, never grants twice
        extra = [*claim.completion(201, out), *budget, status_item, *_outboxed(lic)]
        _store().grant(lic, max_licenses=offer.get("max_licenses"), extra=extra)
        granted.append(lic)
        return out, 201

    def replayed(stored: Stored) -> None:
        if stored.status == 201:  # re-send the grant's charge: metering de-duplicates it by charge_id
            _send_charge(License.model_validate({**stored.body["license"], "certificate": ""}))

    out, status = IdempotencyStore(env().LICENSING_TABLE).run_in_transaction(
        caller.account_id, ev.headers.get(HEADER), ev.body, grant, on_replay=replayed
    )
    for lic in granted:
        _send_outboxed_charge(lic)
    return json_response(out, status)


@app.get("/v1/licenses", summary="The caller's licences, as buyer or as publisher", tags=["licences"])
def list_licenses(
    as_: Annotated[Literal["buyer", "publisher"], Query(alias="as")] = "buyer",
    status: Annotated[Literal["active", "cancelled", "revoked", "lapsed"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> LicenseList:
    caller = principal(app).require(as_)  # type: ignore[arg-type]
    found, nxt = _store().list_for(as_, caller.account_id, status, limit, cursor)
    return LicenseList(items=_outs(found), next_cursor=nxt)


@app.get("/v1/licenses/<id>", summary="A licence (its buyer or publisher only)", tags=["licences"])
def get_license(id: str) -> LicenseOut:
    return _out(logic.for_party(_store(), principal(app), path_id(id, "lic")))


@app.patch(
    "/v1/licenses/<id>",
    summary="Raise or lower a licence's budget cap (buyer); a licence lapsed by its cap becomes active again",
    tags=["licences"],
)
def update_license(id: str, body: Annotated[UpdateLicenseRequest, Body()]) -> LicenseOut:
    caller = principal(app).require("buyer")
    lic = logic.for_party(_store(), caller, path_id(id, "lic"))
    if lic.buyer_id != caller.account_id:
        raise NotFound("No such licence.")
    spent = spent_by_license(env().METERING_TABLE, [lic.id]).get(lic.id, 0) if env().METERING_TABLE else 0
    return _out(logic.set_cap(_store(), lic, body.budget_cap_micros, spent, env().USAGE_QUEUE_URL))


@app.post(
    "/v1/licenses/<id>/cancel",
    summary="Cancel a licence (buyer): delivery stops at the next request",
    tags=["licences"],
)
def cancel_license(id: str) -> LicenseOut:
    caller = principal(app)
    return _replayed(caller.account_id, lambda: _out(logic.cancel(_store(), caller, path_id(id, "lic"))))


@app.post(
    "/v1/licenses/<id>/revoke",
    summary="Revoke a licence (publisher): delivery stops at the next request",
    tags=["licences"],
)
def revoke_license(id: str, body: Annotated[RevokeRequest, Body()]) -> LicenseOut:
    caller = principal(app)
    return _replayed(caller.account_id, lambda: _out(logic.revoke(_store(), caller, path_id(id, "lic"), body.reason)))


def _replayed(scope: str, effect: Callable[[], LicenseOut]) -> LicenseOut:
    """Honour an Idempotency-Key on a POST that answers 200 with a licence (API.md, Idempotency)."""
    ev = app.current_event  # scoped by path too: one key on two licences is two requests
    return IdempotencyStore(env().LICENSING_TABLE).run_model(
        f"{scope}#{ev.path}", ev.headers.get(HEADER), ev.body, effect, LicenseOut
    )


app.include_router(certificate_routes.router)
handler = http_entry(app, env, logger)

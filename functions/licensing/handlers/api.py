"""Licensing API: grant, list, read, certificates, cancel, revoke, and the JWKS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from functions.catalog.dal import reader as catalog
from functions.licensing.dal import queue
from functions.licensing.dal.keys import Signer
from functions.licensing.dal.store import LicensingStore, set_certificate
from functions.licensing.env import env
from functions.licensing.logic import licenses as logic
from functions.licensing.models.domain import License
from functions.licensing.models.input import CreateLicenseRequest, RevokeRequest
from functions.licensing.models.output import CertificateOut, GrantResponse, Jwks, LicenseList, LicenseOut
from functions.shared.api import json_response, make_resolver, path_id, principal
from functions.shared.entry import http_entry
from functions.shared.idempotency import HEADER, IdempotencyStore, body_hash, validate_key
from functions.shared.ids import is_id
from functions.shared.urls import base_url

logger = Logger()
app = make_resolver()
OPENAPI_MODELS = (GrantResponse, Jwks)


def _store() -> LicensingStore:
    return LicensingStore(env().LICENSING_TABLE)


def _out(lic: License) -> LicenseOut:
    return LicenseOut.model_validate(lic.model_dump())


def _send_charge(lic: License) -> None:
    msg = logic.charge_message(lic)
    if msg is not None:
        queue.send(env().USAGE_QUEUE_URL, msg)


@app.post(
    "/v1/licenses",
    summary="Take a licence on an offer (buyer); returns the signed certificate",
    tags=["licences"],
    responses={
        201: {
            "description": "Granted",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/GrantResponse"}}},
        }
    },
)
def create_license(body: Annotated[CreateLicenseRequest, Body()]) -> Response[str]:
    caller = principal(app).require("buyer")
    ev = app.current_event
    key = validate_key(ev.headers.get(HEADER))
    idem = IdempotencyStore(env().LICENSING_TABLE)
    bhash = body_hash(ev.body)
    if key:
        stored = idem.begin(caller.account_id, key, bhash)
        if stored is not None:
            if stored.status == 201:  # re-send the grant's charge: metering de-duplicates it by charge_id
                _send_charge(License.model_validate({**stored.body["license"], "certificate": ""}))
            return json_response(stored.body, stored.status)
    try:
        offer = catalog.get_offer(body.offer_id) if is_id(body.offer_id, "off") else None
        offer = logic.check_offer(offer, body.use)
        lic = logic.build_license(caller.account_id, offer, body.use, body.budget_cap_micros)
        lic.certificate = logic.sign_certificate(
            lic, Signer(env().SIGNING_KEY_ID), base_url(app.current_event.raw_event)
        )
        out = GrantResponse(license=_out(lic), certificate=lic.certificate).model_dump()
        extra = [idem.completion_put(caller.account_id, key, bhash, 201, out)] if key else []
        _store().grant(lic, max_licenses=offer.get("max_licenses"), extra=extra)
    except BaseException:
        if key:
            idem.release(caller.account_id, key)
        raise
    _send_charge(lic)
    return json_response(out, 201)


@app.get("/v1/licenses", summary="The caller's licences, as buyer or as publisher", tags=["licences"])
def list_licenses(
    as_: Annotated[Literal["buyer", "publisher"], Query(alias="as")] = "buyer",
    status: Annotated[Literal["active", "cancelled", "revoked"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> LicenseList:
    caller = principal(app).require(as_)  # type: ignore[arg-type]
    found, nxt = _store().list_for(as_, caller.account_id, status, limit, cursor)
    return LicenseList(items=[_out(lic) for lic in found], next_cursor=nxt)


@app.get("/v1/licenses/<id>", summary="A licence (its buyer or publisher only)", tags=["licences"])
def get_license(id: str) -> LicenseOut:
    return _out(logic.for_party(_store(), principal(app), path_id(id, "lic")))


@app.get("/v1/licenses/<id>/certificate", summary="The licence certificate (compact JWS, ES256)", tags=["licences"])
def get_certificate(id: str) -> CertificateOut:
    lic = logic.for_party(_store(), principal(app), path_id(id, "lic"))
    cert = lic.certificate
    if not cert:  # a pay-per-crawl licence: granted on the delivery path, certified on first request here
        cert = logic.sign_certificate(lic, Signer(env().SIGNING_KEY_ID), base_url(app.current_event.raw_event))
        set_certificate(env().LICENSING_TABLE, lic.id, cert)
        cert = _store().get(lic.id, consistent=True).certificate or cert  # type: ignore[union-attr]
    return CertificateOut(
        license_id=lic.id, certificate=cert, jwks_url=f"{base_url(app.current_event.raw_event)}/.well-known/jwks.json"
    )


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


@app.get(
    "/.well-known/jwks.json",
    summary="Public keys that verify licence certificates",
    tags=["licences"],
    responses={
        200: {"description": "JWKS", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Jwks"}}}}
    },
)
def jwks() -> Response[str]:
    body = Jwks.model_validate({"keys": [Signer(env().SIGNING_KEY_ID).jwk()]}).model_dump_json()
    return Response(200, "application/json", body, headers={"Cache-Control": "public, max-age=3600"})


handler = http_entry(app, env, logger)

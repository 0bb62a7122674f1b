"""Certificates and what verifies them (API v1.1, "Certificates tell the truth"): a licence's certificate, the public
Token Status Lists, and the JWKS. A Powertools ``Router`` included by the licensing resolver
(``functions.licensing.handlers.api``), which owns the error mapping; ``grant_certificate`` signs the certificate
of a grant inside that module's transaction.

Every URL and the issuer come from ``PUBLIC_BASE_URL`` (``functions.shared.urls``), never from request headers.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from functions.licensing.dal.certificates import save_certificate
from functions.licensing.dal.keys import Signer, public_jwk_or_none
from functions.licensing.dal.statuslist import StatusLists
from functions.licensing.dal.store import LicensingStore
from functions.licensing.env import env
from functions.licensing.logic import certificates, statuslist
from functions.licensing.logic.licenses import for_party
from functions.licensing.models.domain import License
from functions.licensing.models.output import CertificateOut, Jwks
from functions.shared import clock
from functions.shared.api import path_id
from functions.shared.auth import require_principal
from functions.shared.errors import NotFound
from functions.shared.jsontypes import TransactItem
from functions.shared.responses import answer
from functions.shared.urls import base_url

logger = Logger()
router = Router()


def _signer() -> Signer:
    return Signer(env().SIGNING_KEY_ID)


def grant_certificate(lic: License) -> tuple[str, TransactItem]:
    """The certificate of a licence being granted, and the transaction item that gives the licence the status-list
    index the certificate names (added to the grant's own transaction, so the index belongs to the licence only if
    the grant happens)."""
    lists = StatusLists(env().LICENSING_TABLE)
    ref = lists.reserve()
    cert = certificates.sign(lic, _signer(), base_url(), ref, clock.parse_iso(lic.created_at))
    return cert, lists.assign_put(lic.id, ref)


@router.get(
    "/v1/licenses/<id>/certificate",
    summary="The licence certificate (compact JWS, ES256), renewed on each fetch; 409 unless the licence is active",
    tags=["licences"],
    responses={409: {"description": "license_not_active: the licence is cancelled, revoked, lapsed or past its end"}},
)
def get_certificate(id: str) -> CertificateOut:
    table = env().LICENSING_TABLE
    lic = for_party(LicensingStore(table), require_principal(router.current_event.raw_event), path_id(id, "lic"))
    at = clock.now()
    certificates.require_active(lic, at)
    signer, issuer = _signer(), base_url()
    if certificates.reusable(lic.certificate, kid=signer.kid, issuer=issuer, at=at):
        logger.debug("certificate reused", extra={"license_id": lic.id})
        cert = lic.certificate
    else:
        ref = StatusLists(table).allocate(lic.id)  # 409 license_not_active if it ended meanwhile
        cert = certificates.sign(lic, signer, issuer, ref, at)
        save_certificate(table, lic.id, cert)
        logger.debug("certificate signed", extra={"license_id": lic.id, "status_list": ref[0], "idx": ref[1]})
    return CertificateOut(license_id=lic.id, certificate=cert, jwks_url=f"{issuer}/.well-known/jwks.json")


@router.get(
    "/v1/status-lists/<n>",
    summary="A Token Status List (IETF draft-ietf-oauth-status-list): bit idx is 1 when that licence is not active",
    tags=["licences"],
    responses={
        200: {
            "description": "A signed Status List Token (JWT, typ statuslist+jwt; zlib-compressed 1-bit list)",
            "content": {statuslist.MEDIA_TYPE: {"schema": {"type": "string"}}},
        },
        404: {"description": "No such status list"},
    },
)
def get_status_list(n: str) -> Response[str]:
    number = statuslist.parse_list_number(n)
    signer = _signer()
    token = (
        None
        if number is None
        else statuslist.current_token(
            StatusLists(env().LICENSING_TABLE), signer.kid, signer.sign_digest, base_url(), number, clock.now()
        )
    )
    if token is None:
        raise NotFound("No such status list.")
    headers = {"Cache-Control": f"public, max-age={statuslist.RESIGN_AFTER_S}"}
    return Response(200, statuslist.MEDIA_TYPE, token, headers=headers)


@router.get(
    "/.well-known/jwks.json",
    summary="Public keys that verify licence certificates and status lists (retired keys until their certificates end)",
    tags=["licences"],
    responses={200: answer(Jwks, "JWKS")},
)
def jwks() -> Response[str]:
    e = env()
    ids = certificates.published_key_ids(e.SIGNING_KEY_ID, e.RETIRED_SIGNING_KEYS, clock.now())
    keys = [Signer(ids[0]).jwk(), *filter(None, (public_jwk_or_none(k) for k in ids[1:]))]
    body = Jwks.model_validate({"keys": keys}).model_dump_json()
    return Response(200, "application/json", body, headers={"Cache-Control": "public, max-age=3600"})

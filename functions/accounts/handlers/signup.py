"""Self sign-up routes (issue 19), a Powertools ``Router`` included by the accounts resolver
(``functions.accounts.handlers.api``), which owns the error mapping.

- ``POST /v1/signup`` (public): ``202`` with the same body for a known and a new address.
- ``GET /v1/signup/verify`` (public): the page the mail links to. It activates nothing (mail scanners pre-fetch
  links); its button POSTs the token from the link's fragment.
- ``POST /v1/signup/verify`` (public): consumes the token; ``201 {account, api_key}``, the key shown this once.
- ``POST /v1/accounts/{id}/approve`` (admin): a ``pending`` account becomes ``active`` (409 ``not_pending``
  otherwise); the rest of admin account management is ``functions.accounts.handlers.admin``.
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from functions.accounts.env import env
from functions.accounts.logic import signup as logic
from functions.accounts.logic.mail import choose_locale
from functions.accounts.models.exceptions import Unavailable
from functions.accounts.models.output import AccountOut, CreateAccountResponse
from functions.accounts.models.signup import ActivateRequest, SignupAccepted, SignupRequest
from functions.shared.api import json_response, path_id, problem
from functions.shared.auth import require_principal
from functions.shared.idempotency import HEADER, IdempotencyStore
from functions.shared.responses import answer
from functions.shared.urls import base_url

if TYPE_CHECKING:
    from functions.accounts.dal.signup import SignupStore

router = Router()
NO_STORE = {"Cache-Control": "no-store"}


def _store() -> SignupStore:
    from functions.accounts.dal.signup import SignupStore

    return SignupStore(env().ACCOUNTS_TABLE)


def _config() -> logic.SignupConfig:
    e = env()
    return logic.SignupConfig(
        base_url=base_url(),
        approval_roles=e.approval_roles,
        per_address_per_day=e.SIGNUP_MAILS_PER_ADDRESS_PER_DAY,
        per_day=e.SIGNUP_MAILS_PER_DAY,
    )


@router.exception_handler(Unavailable)
def _unavailable(exc: Unavailable) -> Response[str]:
    return problem(503, "Service unavailable", exc.detail, exc.code, headers={"Retry-After": "300"})


def _problem(description: str) -> OpenAPIResponse:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


@router.post(
    "/v1/signup",
    summary="Sign up as a publisher and/or buyer (public): a verification mail is sent; the same answer for every address",
    tags=["sign-up"],
    responses={
        202: answer(SignupAccepted, "Accepted (whether or not the address already has an account)"),
        429: _problem("rate_limited: the address's or the day's mail quota is used up (Retry-After)"),
        503: _problem("signup_unavailable (no mail sender configured) or mail_unavailable"),
    },
)
def signup(body: Annotated[SignupRequest, Body()]) -> Response[str]:
    from functions.accounts.dal.mail import sender_from_env

    mailer = sender_from_env(env())
    if mailer is None:
        raise Unavailable("Sign-up is not enabled on this marketplace.", code="signup_unavailable")
    locale = choose_locale(body.locale, router.current_event.headers.get("accept-language"))
    logic.signup(_store(), mailer, body, locale, _config())
    return json_response(SignupAccepted().model_dump(), 202, headers=NO_STORE)


_TEXT = {
    "en": {
        "title": "Activate your Imprimatur account",
        "intro": "Press the button to confirm your address and create your account. Your first API key is shown "
        "below, once: copy it and keep it safe.",
        "button": "Activate my account",
        "key": "Your API key (shown once):",
        "pending": "Your account awaits the operator's approval. Until then this key can read your account "
        "(GET /v1/me) and nothing else.",
        "active": "Your account is active.",
        "nojs": "This page needs JavaScript to activate your account.",
        "missing": "This link is incomplete: open the whole link from the mail.",
    },
    "fr": {
        "title": "Activez votre compte Imprimatur",
        "intro": "Appuyez sur le bouton pour confirmer votre adresse et créer votre compte. Votre première clé "
        "d\u2019API s\u2019affiche ci-dessous, une seule fois : copiez-la et gardez-la en lieu sûr.",
        "button": "Activer mon compte",
        "key": "Votre clé d\u2019API (affichée une seule fois) :",
        "pending": "Votre compte attend l\u2019approbation de l\u2019opérateur. D\u2019ici là, cette clé permet de lire votre "
        "compte (GET /v1/me) et rien d\u2019autre.",
        "active": "Votre compte est actif.",
        "nojs": "Cette page a besoin de JavaScript pour activer votre compte.",
        "missing": "Ce lien est incomplet : ouvrez le lien entier du message.",
    },
}

_SCRIPT = """
const msg = JSON.parse(document.getElementById('msg').textContent);
const token = new URLSearchParams(location.hash.slice(1)).get('token');
const out = document.getElementById('out');
const button = document.getElementById('activate');
if (!token) { out.textContent = msg.missing; button.disabled = true; }
button.addEventListener('click', async () => {
  button.disabled = true;
  const r = await fetch(location.pathname, {method: 'POST', headers: {'content-type': 'application/json'},
                                            body: JSON.stringify({token})});
  const body = await r.json();
  history.replaceState(null, '', location.pathname + location.search);
  if (r.status !== 201) { out.textContent = body.detail || body.title; return; }
  out.textContent = '';
  const p = document.createElement('p'); p.textContent = msg.key; out.appendChild(p);
  const code = document.createElement('code'); code.id = 'api-key'; code.textContent = body.api_key;
  out.appendChild(code);
  const s = document.createElement('p'); s.id = 'account-status';
  s.textContent = body.account.status === 'pending' ? msg.pending : msg.active; out.appendChild(s);
});
"""
_STYLE = "body{font-family:sans-serif;max-width:40em;margin:3em auto;line-height:1.5}code{word-break:break-all}"


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


PAGE_HEADERS = {
    **NO_STORE,
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": f"default-src 'none'; script-src {_sha256(_SCRIPT)}; style-src {_sha256(_STYLE)}; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
}


def page(lang: str) -> str:
    import json
    from html import escape

    t = _TEXT.get(lang, _TEXT["en"])
    msg = json.dumps(t).replace("<", "\\u003c")
    return (
        f'<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(t['title'])}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(t['title'])}</h1><p>{escape(t['intro'])}</p>"
        f'<button id="activate" type="button">{escape(t["button"])}</button>'
        f'<div id="out" aria-live="polite"></div><noscript>{escape(t["nojs"])}</noscript>'
        f'<script id="msg" type="application/json">{msg}</script><script>{_SCRIPT}</script></body></html>'
    )


@router.get(
    "/v1/signup/verify",
    summary="The page a verification mail links to (public). It activates nothing: its button POSTs the token",
    tags=["sign-up"],
    responses={200: {"description": "An HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}},
)
def verify_page(lang: Annotated[str | None, Query(pattern="^(en|fr)$")] = None) -> Response[str]:
    chosen = lang or choose_locale(None, router.current_event.headers.get("accept-language"))
    return Response(200, "text/html; charset=utf-8", page(chosen), headers=PAGE_HEADERS)


@router.post(
    "/v1/signup/verify",
    summary="Activate a signed-up account with its link's token (public); the first API key is shown once",
    tags=["sign-up"],
    responses={
        201: answer(
            CreateAccountResponse, "Created: the account (active, or pending an operator's approval) and its first key"
        ),
        410: _problem("link_invalid: the link was used, expired or mistyped"),
    },
)
def activate(body: Annotated[ActivateRequest, Body()]) -> Response[str]:
    account, secret = logic.activate(_store(), body.token, _config())
    out = CreateAccountResponse(account=AccountOut(**account.model_dump()), api_key=secret)
    return json_response(out.model_dump(), 201, headers=NO_STORE)


@router.post(
    "/v1/accounts/<id>/approve",
    summary="Approve a pending (signed-up) account: its key works for every call its roles allow (admin)",
    tags=["accounts"],
    responses={
        200: answer(AccountOut, "The account, now active"),
        409: {"description": "not_pending: the account is active or suspended, not pending"},
    },
)
def approve_account(id: str) -> AccountOut:
    caller = require_principal(router.current_event.raw_event).require("admin")
    ev = router.current_event
    return IdempotencyStore(env().ACCOUNTS_TABLE).run_model(
        f"{caller.account_id}#{ev.path}",
        ev.headers.get(HEADER),
        ev.body,
        lambda: AccountOut(**logic.approve(_store(), caller.account_id, path_id(id, "acct")).model_dump()),
        AccountOut,
    )

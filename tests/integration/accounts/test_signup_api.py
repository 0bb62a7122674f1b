"""Self sign-up through the handlers (issue 19): the local gateway in-process, the accounts function, moto's DynamoDB
and SES (the mails are read back from what SES was asked to send)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from email import message_from_string, policy
from typing import Any

import pytest

from functions.accounts.dal.signup import SignupStore
from functions.shared import clock
from functions.shared.config import clear_env_cache


def sent_mails() -> list[Any]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return [
        message_from_string(m.raw_data, policy=policy.default)
        for m in ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    ]


def mails_to(address: str) -> list[Any]:
    return [m for m in sent_mails() if m["To"] == address]


def link_in(mail: Any) -> str:
    text = mail.get_body(("plain",)).get_content()
    found = re.search(r"(http\S+/v1/signup/verify\S*#token=[A-Za-z0-9_-]+)", text)
    assert found, text
    return found.group(1)


def token_in(mail: Any) -> str:
    return link_in(mail).partition("#token=")[2]


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch, aws: dict[str, str]) -> Iterator[Any]:
    def set_env(**values: str) -> None:
        for k, v in values.items():
            monkeypatch.setenv(k, v)
        clear_env_cache()

    yield set_env
    clear_env_cache()


def body(email: str, *roles: str, **extra: Any) -> dict[str, Any]:
    return {"name": "Harbour Gazette", "email": email, "roles": list(roles) or ["publisher"], **extra}


def test_signup_sends_a_verification_mail_and_the_link_activates_once(api: Any) -> None:
    # Given
    r = api.post(
        "/v1/signup",
        body("news@harbour.example", organisation="Harbour Gazette Ltd", website="https://harbour.example"),
    )
    assert r.status == 202 and r.json["status"] == "accepted"
    (mail,) = mails_to("news@harbour.example")
    assert mail.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mail.iter_parts()] == ["text/plain", "text/html"]
    assert mail["From"] == "Imprimatur <no-reply@imprimatur.local>"
    token = token_in(mail)
    # When: the page is fetched (as a mail scanner would), twice
    for _ in range(2):
        page = api.get("/v1/signup/verify", params={"lang": "en"})
        assert page.status == 200 and page.headers["content-type"].startswith("text/html")
        assert b'id="activate"' in page.body and b"Activate my account" in page.body
        assert (
            "no-store" in page.headers["cache-control"]
            and "script-src 'sha256-" in page.headers["content-security-policy"]
        )
    # Then nothing was created yet: the token still activates, once
    got = api.post("/v1/signup/verify", {"token": token})
    assert got.status == 201, got.body
    key, account = got.json["api_key"], got.json["account"]
    assert (
        account["status"] == "active"
        and account["roles"] == ["publisher"]
        and account["email"] == "news@harbour.example"
    )
    me = api.as_(key).get("/v1/me")
    assert me.status == 200 and me.json["id"] == account["id"]
    again = api.post("/v1/signup/verify", {"token": token})
    assert again.status == 410 and again.json["code"] == "link_invalid"
    assert again.content_type == "application/problem+json"


def test_a_known_and_a_new_address_get_the_same_answer(api: Any, make_account: Any) -> None:
    # Given an address that has an account
    _, known = make_account("buyer")
    # When
    a = api.post("/v1/signup", body(known["email"], "buyer"))
    b = api.post("/v1/signup", body("fresh@example.org", "buyer"))
    # Then: same status, body and headers; each address got one mail, only the new one a link
    assert (a.status, a.body) == (b.status, b.body) == (202, a.body)
    assert {k: v for k, v in a.headers.items() if k != "x-request-id"} == {
        k: v for k, v in b.headers.items() if k != "x-request-id"
    }
    (to_known,) = mails_to(known["email"])
    (to_new,) = mails_to("fresh@example.org")
    assert "already has an account" in to_known.get_body(("plain",)).get_content()
    assert "#token=" not in to_known.as_string() and "#token=" in to_new.get_body(("plain",)).get_content()


def test_an_unknown_expired_or_malformed_token_is_410(api: Any) -> None:
    assert api.post("/v1/signup", body("late@example.org")).status == 202
    token = token_in(mails_to("late@example.org")[0])
    for bad in ("x" * 43, "short", token[:-1] + ("A" if token[-1] != "A" else "B")):
        r = api.post("/v1/signup/verify", {"token": bad})
        assert r.status == 410 and r.json["code"] == "link_invalid"
    clock.set_offset(24 * 3600 + 1)  # the link lives 24 hours
    r = api.post("/v1/signup/verify", {"token": token})
    assert r.status == 410 and r.json["code"] == "link_invalid"


def test_the_address_quota_then_429_with_retry_after(api: Any, make_account: Any) -> None:
    _, known = make_account("buyer")
    for address in ("quota@example.org", known["email"]):  # known and new addresses are limited alike
        for _ in range(3):
            assert api.post("/v1/signup", body(address)).status == 202
        r = api.post("/v1/signup", body(address))
        assert r.status == 429 and r.json["code"] == "rate_limited"
        assert r.content_type == "application/problem+json" and int(r.headers["retry-after"]) > 0
        assert len(mails_to(address)) == 3


def test_the_global_daily_cap(api: Any, configure: Any) -> None:
    configure(SIGNUP_MAILS_PER_DAY="2")
    assert api.post("/v1/signup", body("g1@example.org")).status == 202
    assert api.post("/v1/signup", body("g2@example.org")).status == 202
    r = api.post("/v1/signup", body("g3@example.org"))
    assert r.status == 429 and "retry-after" in r.headers
    assert mails_to("g3@example.org") == []


def test_pending_account_reads_itself_and_nothing_else_until_approved(api: Any, admin: Any, configure: Any) -> None:
    # Given publishers need approval, buyers do not
    configure(SIGNUP_APPROVAL="publisher")
    api.post("/v1/signup", body("pub@example.org", "publisher"))
    api.post("/v1/signup", body("buy@example.org", "buyer"))
    pub = api.post("/v1/signup/verify", {"token": token_in(mails_to("pub@example.org")[0])})
    buy = api.post("/v1/signup/verify", {"token": token_in(mails_to("buy@example.org")[0])})
    assert pub.json["account"]["status"] == "pending" and buy.json["account"]["status"] == "active"
    pub_api = api.as_(pub.json["api_key"])
    # Then: its own account, and nothing else (403 account_pending, in every service)
    me = pub_api.get("/v1/me")
    assert me.status == 200 and me.json["status"] == "pending"
    for method, path, payload in [
        ("GET", "/v1/me/keys", None),
        ("POST", "/v1/me/keys", {}),
        ("GET", "/v1/assets", None),
        ("POST", "/v1/offers", {}),
        ("GET", "/v1/licenses", None),
        ("GET", "/v1/balance", None),
    ]:
        r = pub_api.call(method, path, json_body=payload)
        assert r.status == 403 and r.json["code"] == "account_pending", (path, r.body)
    assert api.as_(buy.json["api_key"]).get("/v1/licenses").status == 200
    # When an admin approves it
    approved = admin.post(f"/v1/accounts/{pub.json['account']['id']}/approve")
    assert approved.status == 200 and approved.json["status"] == "active"
    # Then
    assert pub_api.get("/v1/assets").status == 200 and pub_api.get("/v1/me").json["status"] == "active"


def test_french_mail_from_accept_language_or_locale(api: Any) -> None:
    api.post("/v1/signup", body("fr1@example.org"), headers={"accept-language": "fr-FR,fr;q=0.9,en;q=0.5"})
    api.post("/v1/signup", body("fr2@example.org", locale="fr"))
    api.post("/v1/signup", body("en1@example.org"), headers={"accept-language": "de"})
    assert mails_to("fr1@example.org")[0]["Subject"] == "Confirmez votre compte Imprimatur"
    assert mails_to("fr2@example.org")[0]["Subject"] == "Confirmez votre compte Imprimatur"
    assert "lang=fr" in link_in(mails_to("fr2@example.org")[0])
    assert mails_to("en1@example.org")[0]["Subject"] == "Confirm your Imprimatur account"
    page = api.get("/v1/signup/verify", params={"lang": "fr"})
    assert b"Activer mon compte" in page.body


def test_signup_without_a_mail_sender_is_503_and_sends_nothing(api: Any, configure: Any) -> None:
    configure(MAIL_TRANSPORT="none")
    r = api.post("/v1/signup", body("none@example.org"))
    assert r.status == 503 and r.json["code"] == "signup_unavailable" and mails_to("none@example.org") == []


def test_an_ses_refusal_is_503_mail_unavailable(api: Any, configure: Any) -> None:
    configure(MAIL_FROM="no-reply@unverified.example")  # SES refuses an unverified sender (as in its sandbox)
    r = api.post("/v1/signup", body("refused@example.org"))
    assert r.status == 503 and r.json["code"] == "mail_unavailable"


@pytest.mark.parametrize(
    "payload",
    [
        {"name": "A", "email": "a@example.org", "roles": ["admin"]},
        {"name": "A", "email": "a@example.org", "roles": ["buyer"], "website": "ftp://x"},
        {"email": "a@example.org", "roles": ["buyer"]},
    ],
)
def test_invalid_signup_is_422_and_sends_nothing(api: Any, payload: dict[str, Any]) -> None:
    r = api.post("/v1/signup", payload)
    assert r.status == 422 and r.json["code"] == "validation_failed" and sent_mails() == []


def test_a_verification_is_consumed_once_even_by_two_activations(api: Any, aws: dict[str, str]) -> None:
    # Given one pending sign-up, read before either activation writes (two concurrent POSTs)
    from functions.accounts.logic.accounts import _new_key
    from functions.accounts.logic.signup import token_hash
    from functions.accounts.models.domain import Account

    api.post("/v1/signup", body("twice@example.org"))
    store = SignupStore(aws["ACCOUNTS_TABLE"])
    v = store.get_verification(token_hash(token_in(mails_to("twice@example.org")[0])))
    assert v is not None
    outcomes = []
    for _ in range(2):
        account = Account(
            id=__import__("functions.shared.ids", fromlist=["new_id"]).new_id("acct"),
            name=v.name,
            email=v.email,
            roles=v.roles,
            status="active",
            created_at=clock.now_iso(),
        )
        key, _ = _new_key(account.id)
        outcomes.append(store.activate(v, account, key, clock.now_iso(), {}))
    assert outcomes == ["created", "link_invalid"]


def test_counters_never_pass_their_limit_under_concurrency(aws: dict[str, str]) -> None:
    store = SignupStore(aws["ACCOUNTS_TABLE"])
    results: list[bool] = []
    lock = threading.Lock()

    def hit() -> None:
        ok = store.increment_below("test#race", 3, 2_000_000_000)
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=hit) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 9 + [True] * 3

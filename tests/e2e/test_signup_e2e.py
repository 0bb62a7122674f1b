"""Self sign-up end to end (issue 19), against a local stack of its own started as `make run` starts it, with
approval required for publishers and buyers and small mail quotas: a publisher and a buyer sign up through the public
API, read their verification mails from the local inbox (a real SMTP server), fetch the link as a mail scanner would
(nothing happens), activate with the page's POST, get their keys, are refused while pending, are approved by an admin
through the API, and then publish and buy; another publisher is approved by an operator in the console (Playwright). Enumeration (a known and a new address answer alike) and both rate limits
(per address, per day) are checked on the same server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e import test_console_e2e as console
from tests.e2e.conftest import Http, running_stack
from tests.e2e.helpers import publish

browser = console.browser  # the console tests' browser fixture (skipped without Chromium)
PER_ADDRESS = 3
PER_DAY = 12  # the tests before the rate-limit test send 5 mails; it needs 2 x PER_ADDRESS more


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    args = (
        "--signup-approval",
        "publisher,buyer",
        "--signup-mails-per-address",
        str(PER_ADDRESS),
        "--signup-mails-per-day",
        str(PER_DAY),
    )
    with running_stack(Path(tmp_path_factory.mktemp("signup-state")), seed=False, args=args) as state:
        yield state


def inbox(base: str, to: str | None = None) -> list[dict[str, Any]]:
    r = requests.get(f"{base}/local/inbox", params={"format": "json", **({"to": to} if to else {})}, timeout=30)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def link_of(mail: dict[str, Any]) -> str:
    found = re.search(r"(http\S+/v1/signup/verify\S*#token=[A-Za-z0-9_-]+)", mail["text"])
    assert found, mail["text"]
    return found.group(1)


def sign_up(http: Http, email: str, role: str, **extra: Any) -> requests.Response:
    return http.post("/v1/signup", json={"name": f"{role} {email}", "email": email, "roles": [role], **extra})


def test_publisher_and_buyer_sign_up_verify_wait_for_approval_then_publish_and_buy(stack: dict[str, Any]) -> None:
    base = stack["api_url"]
    http = Http(base)
    admin = Http(base, stack["admin_api_key"])
    # Given a publisher and a buyer sign up through the public API (French for the publisher)
    pub_mail, buyer_mail = "gazette@harbour.example", "lab@ai.example"
    assert sign_up(http, pub_mail, "publisher", locale="fr", website="https://harbour.example").status_code == 202
    assert sign_up(http, buyer_mail, "buyer").status_code == 202
    # When they read their mails in the local inbox (the local SMTP server received them)
    (pm,) = inbox(base, pub_mail)
    (bm,) = inbox(base, buyer_mail)
    assert pm["subject"] == "Confirmez votre compte Imprimatur" and bm["subject"] == "Confirm your Imprimatur account"
    for m in (pm, bm):
        assert m["content_type"] == "multipart/alternative" and m["text"] and "<a href=" in m["html"]
    keys: dict[str, str] = {}
    accounts: dict[str, dict[str, Any]] = {}
    for who, mail in (("pub", pm), ("buyer", bm)):
        link = link_of(mail)
        token = link.partition("#token=")[2]
        # And a mail scanner pre-fetches the link (requests drops the fragment, as browsers do), even with the token
        # moved into the query: the page has a button and activates nothing
        for url in (link, link.replace("#token=", "&token=")):
            page = requests.get(url, timeout=30)
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            assert 'id="activate"' in page.text
        # Then the POST the page's button makes activates the account, once, and shows the key
        got = http.post("/v1/signup/verify", json={"token": token})
        assert got.status_code == 201, got.text
        keys[who], accounts[who] = got.json()["api_key"], got.json()["account"]
        assert accounts[who]["status"] == "pending"
        again = http.post("/v1/signup/verify", json={"token": token})
        assert again.status_code == 410 and again.json()["code"] == "link_invalid"
    pub, buyer = http.as_(keys["pub"]), http.as_(keys["buyer"])
    # While approval is pending, each key reads its own account and nothing else
    for client, who in ((pub, "pub"), (buyer, "buyer")):
        me = client.get("/v1/me")
        assert me.status_code == 200 and me.json()["status"] == "pending" and me.json()["id"] == accounts[who]["id"]
        assert client.get("/v1/me/keys").json()["code"] == "account_pending"
    refused = pub.post("/v1/assets", json={"title": "x"})
    assert refused.status_code == 403 and refused.json()["code"] == "account_pending"
    assert refused.headers["content-type"] == "application/problem+json"
    assert buyer.get("/v1/licenses").json()["code"] == "account_pending"
    # When an admin approves both (through the API here; through the console below)
    for who in ("pub", "buyer"):
        ok = admin.post(f"/v1/accounts/{accounts[who]['id']}/approve")
        assert ok.status_code == 200 and ok.json()["status"] == "active"
    # Then the publisher publishes and offers, and the buyer buys and fetches
    asset = publish(pub, "Harbour wall: the council votes on Tuesday.", title="Harbour wall")
    offer = pub.post(
        "/v1/offers",
        json={
            "asset_id": asset["id"],
            "uses": ["ai-input"],
            "pricing": {"model": "per_access", "amount_micros": 10_000},
        },
    )
    assert offer.status_code == 201, offer.text
    lic = buyer.post("/v1/licenses", json={"offer_id": offer.json()["id"], "use": "ai-input"})
    assert lic.status_code == 201, lic.text
    content = buyer.get(f"/v1/assets/{asset['id']}/content", params={"use": "ai-input"})
    assert content.status_code == 200, content.text


def test_an_operator_approves_a_signed_up_publisher_in_the_console(stack: dict[str, Any], browser: Any) -> None:
    """The Playwright half of 'approved by an admin through the console' (the operator screen is issue 19 part B)."""
    base = stack["api_url"]
    http = Http(base)
    # Given a publisher that signed up and activated its account, pending approval
    assert sign_up(http, "quay@harbour.example", "publisher", website="https://quay.example").status_code == 202
    token = link_of(inbox(base, "quay@harbour.example")[0]).partition("#token=")[2]
    got = http.post("/v1/signup/verify", json={"token": token}).json()
    account, pub = got["account"], http.as_(got["api_key"])
    assert account["status"] == "pending"
    # When the operator lists the accounts pending approval in the console and approves it
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        console.sign_in(page, stack, stack["admin_api_key"])
        page.get_by_role("button", name="Accounts", exact=True).click()
        page.locator("#accounts-form select[name=status]").select_option("pending")
        page.get_by_label("Name or e-mail starts with").fill("quay@harbour.example")
        page.get_by_role("button", name="Search", exact=True).last.click()
        row = page.locator(f"#accounts-table tr[data-account='{account['id']}'][data-status='pending']")
        row.wait_for()
        row.get_by_role("button", name=f"Approve {account['name']}").click()
        page.get_by_text(f"{account['name']}: approved").wait_for()
    finally:
        context.close()
    # Then its key works for publishing
    assert pub.get("/v1/me").json()["status"] == "active"
    assert pub.get("/v1/assets").status_code == 200


def test_a_publisher_signs_up_in_a_browser_from_the_mail_to_its_key(stack: dict[str, Any], browser: Any) -> None:
    """The small publisher's path of docs/publishers.md in a real browser (and its screenshots): the mail in the
    local inbox, the verification page (opening it activates nothing), the button's POST, the key shown once."""
    base = stack["api_url"]
    http = Http(base)
    email = "editor@quayside-weekly.example"
    assert sign_up(http, email, "publisher", organisation="Quayside Weekly").status_code == 202
    link = link_of(inbox(base, email)[0])
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        # Given the mail in the local inbox page
        page.goto(f"{base}/local/inbox")
        page.get_by_text(email).first.wait_for()
        page.screenshot(path=str(console.SHOTS / "signup-inbox.png"), full_page=True)
        # When the publisher opens the link: a page with a button; nothing is activated by opening it
        page.goto(link)
        page.locator("#activate").wait_for()
        page.screenshot(path=str(console.SHOTS / "signup-verify.png"), full_page=True)
        token = link.partition("#token=")[2]
        again = http.post("/v1/signup/verify", json={"token": token})  # still unused: the GET did nothing
        assert again.status_code == 201
        # (that POST used the token: a second sign-up gives the browser a fresh one)
        assert sign_up(http, "desk@quayside-weekly.example", "publisher").status_code == 202
        page = context.new_page()  # a fresh page: the same URL with another fragment would not reload the first
        page.goto(link_of(inbox(base, "desk@quayside-weekly.example")[0]))
        page.locator("#activate").click()
        page.locator("#api-key").or_(page.locator("#out:not(:empty)")).first.wait_for()
        assert page.locator("#api-key").count() == 1, page.locator("#out").inner_text()
        key = page.locator("#api-key").inner_text()
        page.screenshot(path=str(console.SHOTS / "signup-key.png"), full_page=True)
    finally:
        context.close()
    # Then the key shown once is the account's key, pending the operator's approval (approval is required here)
    me = http.as_(key).get("/v1/me")
    assert me.status_code == 200 and me.json()["status"] == "pending"
    assert http.as_(key).get("/v1/assets").status_code == 403


def test_enumeration_and_both_rate_limits(stack: dict[str, Any]) -> None:
    base = stack["api_url"]
    http = Http(base)
    admin = Http(base, stack["admin_api_key"])
    before = len(inbox(base))
    # Given an address with an account, and one without
    known = "known@harbour.example"
    assert admin.post("/v1/accounts", json={"name": "Known", "email": known, "roles": ["buyer"]}).status_code == 201
    fresh = "fresh@harbour.example"
    # When both sign up
    a, b = sign_up(http, known, "buyer"), sign_up(http, fresh, "buyer")
    # Then the answers are the same (status and body); only the new address got a link
    assert a.status_code == b.status_code == 202 and a.content == b.content
    (to_known,) = inbox(base, known)
    (to_fresh,) = inbox(base, fresh)
    assert "#token=" not in to_known["text"] and "already has an account" in to_known["text"]
    assert "#token=" in to_fresh["text"]
    # When one address asks again and again: PER_ADDRESS mails, then 429 with Retry-After (known or not alike)
    for address in (fresh, known):
        for _ in range(PER_ADDRESS - 1):
            assert sign_up(http, address, "buyer").status_code == 202
        limited = sign_up(http, address, "buyer")
        assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"
        assert int(limited.headers["retry-after"]) > 0 and limited.headers["content-type"] == "application/problem+json"
        assert len(inbox(base, address)) == PER_ADDRESS
    # When the day's cap is reached, every address is refused
    sent = len(inbox(base))
    n = 0
    while sent < PER_DAY:
        n += 1
        assert sign_up(http, f"cap{n}@example.org", "buyer").status_code == 202
        sent += 1
    capped = sign_up(http, "one-more@example.org", "buyer")
    assert capped.status_code == 429 and "retry-after" in capped.headers
    assert len(inbox(base)) == PER_DAY and inbox(base, "one-more@example.org") == []
    assert before <= PER_DAY


def test_the_inbox_page_lists_mail_for_people(stack: dict[str, Any]) -> None:
    page = requests.get(f"{stack['api_url']}/local/inbox", timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Local inbox" in page.text and "Imprimatur" in page.text

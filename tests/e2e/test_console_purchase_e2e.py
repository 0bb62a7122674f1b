"""Issue 18, console: a purchase needs a confirmed summary; a double-click buys once; buying an offer already held asks
first; the buyer downloads certificates, cancels and reads statements; long lists paginate; tabs follow the roles;
the SHA-256 of a 1 GiB file is computed in a Worker over File.slice() chunks and matches Python's hashlib."""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import test_console_e2e as console
from tests.e2e.helpers import publish
from tests.e2e.test_console_e2e import sign_in, sync_api

browser, page = console.browser, console.page  # the same fixtures (and the same skip without Chromium)

GIB = 1024 * 1024 * 1024


@pytest.fixture
def shop(new_account: Any) -> dict[str, Any]:
    """A publisher with a subscription offer and a per-access offer on one asset, and a fresh buyer."""
    pub, pub_acct = new_account("publisher", name=f"Coastal Times {uuid.uuid4().hex[:6]}")
    buyer, _ = new_account("buyer")
    title = f"Tide report {uuid.uuid4().hex[:8]}"
    asset = publish(pub, f"{title}: high water at 6.", title=title)

    def offer(**pricing: Any) -> dict[str, Any]:
        got = pub.post("/v1/offers", json={"asset_id": asset["id"], "uses": ["ai-input"], "pricing": pricing})
        assert got.status_code == 201, got.text
        return dict(got.json())

    sub = offer(model="subscription", amount_micros=5_000_000_000, currency="USD", period_days=30)
    per_access = offer(model="per_access", amount_micros=20_000, currency="USD")
    return {
        "pub": pub,
        "pub_acct": pub_acct,
        "buyer": buyer,
        "asset": asset,
        "title": title,
        "sub": sub,
        "pa": per_access,
    }


def licences(buyer: Any, offer_id: str | None = None) -> list[dict[str, Any]]:
    items = buyer.get("/v1/licenses", params={"limit": 100}).json()["items"]
    return [x for x in items if offer_id is None or x["offer_id"] == offer_id]


def open_offer(page: Any, local_stack: dict[str, Any], shop: dict[str, Any], offer_id: str) -> Any:
    sign_in(page, local_stack, shop["buyer"].key)
    search = page.locator("#search-form")
    search.get_by_label("Words").fill(shop["title"])
    search.get_by_role("button", name="Search").click()
    page.locator(f"button.buy[data-offer='{offer_id}']").click()
    dialog = page.locator("#confirm")
    dialog.wait_for()
    return dialog


def test_a_purchase_shows_a_summary_and_needs_a_confirmation(
    page: Any, local_stack: dict[str, Any], shop: dict[str, Any]
) -> None:
    # When the buyer presses "Take licence" on a USD 5,000 subscription
    dialog = open_offer(page, local_stack, shop, shop["sub"]["id"])
    # Then nothing is bought yet, and the summary names price, model, what it covers and the budget cap
    text = dialog.inner_text()
    assert "USD 5,000.00 now and every 30 days until you cancel" in text
    assert "subscription" in text and shop["title"] in text and shop["pub_acct"]["name"] in text
    assert "Budget cap" in text and "ai-input" in text
    assert licences(shop["buyer"]) == []
    # And cancelling the dialog buys nothing
    dialog.get_by_role("button", name="Cancel").click()
    assert not dialog.is_visible() and licences(shop["buyer"]) == []
    # A budget cap below the price is refused by the marketplace and shown in the dialog; nothing is bought
    page.locator(f"button.buy[data-offer='{shop['sub']['id']}']").click()
    dialog.get_by_label("Budget cap").fill("abc")
    dialog.get_by_role("button", name="Confirm purchase").click()
    assert "not an amount" in dialog.locator("#confirm-error").inner_text()
    assert licences(shop["buyer"]) == []


def test_a_double_click_takes_one_licence(page: Any, local_stack: dict[str, Any], shop: dict[str, Any]) -> None:
    dialog = open_offer(page, local_stack, shop, shop["pa"]["id"])
    assert "USD 0.02 for each download" in dialog.inner_text()
    seen: list[str] = []
    page.on(
        "request",
        lambda r: r.method == "POST" and "/v1/licenses" in r.url and seen.append(r.headers.get("idempotency-key", "")),
    )
    dialog.get_by_role("button", name="Confirm purchase").dblclick()
    page.get_by_text("Licence lic_").wait_for()
    assert len(licences(shop["buyer"], shop["pa"]["id"])) == 1
    assert len(set(seen)) == 1 and seen[0]  # every request of this intent carried one key


@pytest.mark.parametrize("held", ["pa", "sub"])
def test_buying_an_offer_already_held_asks_first(
    page: Any, local_stack: dict[str, Any], shop: dict[str, Any], held: str
) -> None:
    # Given the buyer already holds a licence on the offer (per access, or the USD 5,000 subscription that the issue
    # saw charged twice)
    offer = shop[held]
    first = shop["buyer"].post("/v1/licenses", json={"offer_id": offer["id"], "use": "ai-input"}).json()
    # When it tries to take the same offer again
    dialog = open_offer(page, local_stack, shop, offer["id"])
    # Then the dialog says so, and the button stays disabled until the buyer ticks that it wants a second one
    warning = dialog.locator("#confirm-duplicate")
    assert first["license"]["id"] in warning.inner_text() and "charges again" in warning.inner_text()
    again = dialog.get_by_role("button", name="Buy another licence")
    assert again.is_disabled()
    dialog.get_by_role("button", name="Cancel").click()
    assert len(licences(shop["buyer"], offer["id"])) == 1
    page.locator(f"button.buy[data-offer='{offer['id']}']").click()
    dialog.get_by_label("Yes, take another licence").check()
    again.click()
    page.get_by_text("Licence lic_").wait_for()
    assert len(licences(shop["buyer"], offer["id"])) == 2


def test_buyer_certificates_cancel_statement_and_pagination(
    page: Any, local_stack: dict[str, Any], shop: dict[str, Any], new_account: Any
) -> None:
    # Given a buyer with 101 licences (one page is 100) on a free offer
    free = (
        shop["pub"]
        .post("/v1/offers", json={"asset_id": shop["asset"]["id"], "uses": ["search"], "pricing": {"model": "free"}})
        .json()
    )
    for _ in range(101):
        assert shop["buyer"].post("/v1/licenses", json={"offer_id": free["id"], "use": "search"}).status_code == 201
    sign_in(page, local_stack, shop["buyer"].key)
    page.get_by_role("button", name="Buyer").click()
    rows = page.locator("#buyer-licences tbody tr")
    page.get_by_role("button", name="Load more licences").wait_for()
    assert rows.count() == 100
    page.get_by_role("button", name="Load more licences").click()
    sync_api.expect(rows).to_have_count(101)
    assert page.get_by_role("button", name="Load more licences").is_hidden()
    # Names, not ids
    first = rows.first
    assert shop["title"] in first.inner_text() and shop["pub_acct"]["name"] in first.inner_text()
    lic_id = first.get_attribute("data-licence")
    # The certificate downloads as a file holding the token
    with page.expect_download() as got:
        first.get_by_role("button", name="Certificate", exact=False).click()
    token = Path(got.value.path()).read_text()
    assert got.value.suggested_filename == f"licence-{lic_id}.jwt" and token.count(".") == 2
    # Cancel asks first, then ends the licence
    first.get_by_role("button", name="Cancel", exact=False).click()
    page.locator("#confirm").get_by_role("button", name="Cancel licence").click()
    page.get_by_text(f"Licence {lic_id} cancelled.").wait_for()
    assert shop["buyer"].get(f"/v1/licenses/{lic_id}").json()["status"] == "cancelled"
    # The buyer's statement, on screen
    form = page.locator("#buyer-statement-form")
    form.get_by_role("button", name="Show").click()
    page.locator("#buyer-statement caption", has_text="Statement").wait_for()
    shown = page.locator("#buyer-statement").inner_text()
    period = form.locator("input[name=period]").input_value()
    totals = shop["buyer"].get(f"/v1/statements/{period}").json()["totals"]  # one per currency charged (API v1.1)
    assert all(f"Total {t['currency']}" in shown for t in totals)
    assert ("Nothing charged" in shown) == (totals == [])


def test_tabs_follow_the_roles(page: Any, local_stack: dict[str, Any]) -> None:
    sign_in(page, local_stack, local_stack["admin_api_key"])  # an admin without publisher or buyer role
    assert page.get_by_role("button", name="Catalogue").is_visible()
    assert not page.get_by_role("button", name="Publisher").is_visible()
    assert not page.get_by_role("button", name="Buyer").is_visible()


def test_a_1_gib_file_is_hashed_in_a_worker_like_hashlib(
    page: Any, local_stack: dict[str, Any], tmp_path: Path, new_account: Any
) -> None:
    # Given a 1 GiB file of random bytes
    big = tmp_path / "big.bin"
    digest = hashlib.sha256()
    block = os.urandom(1024 * 1024)
    with big.open("wb") as f:
        for i in range(1024):
            chunk = i.to_bytes(4, "big") + block[4:]  # every MiB differs
            f.write(chunk)
            digest.update(chunk)
    pub, _ = new_account("publisher")
    sign_in(page, local_stack, pub.key)
    page.get_by_role("button", name="Publisher").click()
    # When it is chosen in the upload form
    page.locator("#upload-form").get_by_label("File").set_input_files(str(big))
    # Then the console shows its SHA-256, equal to Python's, computed in a Worker
    sync_api.expect(page.locator("#file-sha256")).to_have_text(re.compile(r"^[0-9a-f]{64}$"), timeout=240_000)
    assert page.locator("#file-sha256").inner_text() == digest.hexdigest()
    assert big.stat().st_size == GIB

"""Issue 13, console: a buyer's licences show what is left of their budget cap (and what was spent), lapsed licences
are badged and can be filtered, and the buyer changes a cap through a confirmation that says what the new cap allows.

The first test runs against the local stack end to end (caps, deliveries, PATCH). A lapse needs a subscription renewal
to fall due, which no public call can bring forward, so the second test serves the buyer's licence calls from a small
stateful fake of the API 1.1 contract (list with the status filter, read, PATCH with its rules) through Playwright's
routing; everything else still comes from the local stack."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from tests.e2e import test_console_e2e as console
from tests.e2e.helpers import eventually, publish
from tests.e2e.test_console_e2e import sign_in, sync_api

browser = console.browser  # the same browser (and the same skip without Chromium)
EXPECTED = re.compile(r"status of (409|422)")


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """``test_console_e2e.page``, except that the 409 and 422 this module provokes on purpose are expected console
    lines (Chromium logs every 4xx answer to fetch); any other error or script failure still fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda m: m.type == "error" and not EXPECTED.search(m.text) and errors.append(m.text))
    yield pg
    context.close()
    assert errors == [], errors


@pytest.fixture
def capped(new_account: Any) -> dict[str, Any]:
    """A per-access offer at USD 0.02 and a buyer holding a licence on it capped at USD 0.05."""
    pub, _ = new_account("publisher", name=f"Budget Post {uuid.uuid4().hex[:6]}")
    buyer, _ = new_account("buyer")
    title = f"Harbour budget {uuid.uuid4().hex[:8]}"
    asset = publish(pub, f"{title}: the council met.", title=title)
    offer = pub.post(
        "/v1/offers",
        json={
            "asset_id": asset["id"],
            "uses": ["ai-input"],
            "pricing": {"model": "per_access", "amount_micros": 20_000, "currency": "USD"},
        },
    ).json()
    got = buyer.post("/v1/licenses", json={"offer_id": offer["id"], "use": "ai-input", "budget_cap_micros": 50_000})
    assert got.status_code == 201, got.text
    return {"buyer": buyer, "asset": asset, "title": title, "licence": got.json()["license"]}


def deliver(buyer: Any, asset_id: str, licence_id: str) -> Any:
    return buyer.get(f"/v1/assets/{asset_id}/content", params={"use": "ai-input", "license_id": licence_id})


def test_the_buyer_sees_what_is_left_and_raises_the_cap(
    page: Any, local_stack: dict[str, Any], capped: dict[str, Any]
) -> None:
    buyer, lic_id, asset_id = capped["buyer"], capped["licence"]["id"], capped["asset"]["id"]
    # Given two deliveries (USD 0.04 of the USD 0.05 cap) and a third that the cap refuses
    assert [deliver(buyer, asset_id, lic_id).status_code for _ in range(2)] == [200, 200]
    refused = deliver(buyer, asset_id, lic_id)
    assert refused.status_code == 403 and refused.json()["code"] == "budget_exhausted"
    settled = eventually(lambda: buyer.get(f"/v1/licenses/{lic_id}").json()["spent_micros"] == 40_000)
    assert settled and buyer.get(f"/v1/licenses/{lic_id}").json()["remaining_micros"] == 10_000
    # When the buyer opens its licences
    sign_in(page, local_stack, buyer.key)
    page.get_by_role("button", name="Buyer").click()
    row = page.locator(f"#buyer-licences tr[data-licence='{lic_id}']")
    row.wait_for()
    # Then the row shows what is left first, then what was spent of which cap, and a meter of the cap used
    assert "USD 0.01 left" in row.inner_text() and "USD 0.04 spent of USD 0.05" in row.inner_text()
    assert row.locator("meter").get_attribute("value") == "40000"
    assert "active" in row.locator(".badge").inner_text()
    console.SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(console.SHOTS / "buyer-budget.png"), full_page=True)
    # When it changes the cap: the dialog says what it is now, and refuses a cap below what was spent
    row.get_by_role("button", name="Change the budget cap").click()
    dialog = page.locator("#confirm")
    dialog.wait_for()
    assert "USD 0.05" in dialog.inner_text() and "USD 0.04" in dialog.inner_text()
    confirm = dialog.get_by_role("button", name="Set budget cap")
    assert confirm.is_disabled()
    dialog.get_by_label("New budget cap").fill("0.03")
    assert "Below what it has spent (USD 0.04)" in dialog.locator("#cap-effect").inner_text() and confirm.is_disabled()
    dialog.get_by_label("New budget cap").fill("0.25")
    assert "up to USD 0.21 more may be charged" in dialog.locator("#cap-effect").inner_text()
    seen: list[Any] = []
    page.on("request", lambda r: r.method == "PATCH" and seen.append(r))
    confirm.click()
    page.get_by_text("set to USD 0.25; USD 0.21 left").wait_for()
    # Then the marketplace has the new cap, the row shows it, and deliveries resume
    assert [json.loads(r.post_data or "{}") for r in seen] == [{"budget_cap_micros": 250_000}]
    assert buyer.get(f"/v1/licenses/{lic_id}").json()["budget_cap_micros"] == 250_000
    sync_api.expect(row).to_contain_text("USD 0.21 left")
    assert deliver(buyer, asset_id, lic_id).status_code == 200


class FakeLicences:
    """The licence calls of API 1.1 for one buyer, with the rules the console relies on: the ``status`` filter, and a
    PATCH that refuses a cap below spent, answers ``budget_reserved`` once when asked to, and revives a licence lapsed
    by its cap when the cap is raised."""

    def __init__(self, scope_id: str, publisher_id: str) -> None:
        def licence(n: int, **over: Any) -> dict[str, Any]:
            return {
                "id": f"lic_fake{n:022d}",
                "buyer_id": "acct_fake",
                "publisher_id": publisher_id,
                "offer_id": "off_fake",
                "scope": {"type": "asset", "id": scope_id},
                "use": "ai-input",
                "terms_sha256": "0" * 64,
                "starts_at": "2026-10-01T00:00:00Z",
                "created_at": "2026-10-01T00:00:00Z",
                "expires_at": None,
                **over,
            }

        sub = {"pricing": {"model": "subscription", "amount_micros": 5_000_000, "currency": "USD", "period_days": 30}}
        per_access = {"pricing": {"model": "per_access", "amount_micros": 20_000, "currency": "USD"}}
        self.items = [
            licence(
                1,
                terms=sub,
                status="lapsed",
                lapsed_at="2026-11-30T00:00:00Z",
                budget_cap_micros=10_000_000,
                spent_micros=10_000_000,
                remaining_micros=0,
            ),
            licence(
                2,
                terms=per_access,
                status="active",
                budget_cap_micros=1_000_000,
                spent_micros=300_000,
                remaining_micros=700_000,
            ),
        ]
        self.reserved_once = False
        self.patches: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, route: Any) -> None:
        req = route.request
        url = urlparse(req.url)
        parts = url.path.rstrip("/").split("/")
        if url.path.rstrip("/") == "/v1/licenses" and req.method == "GET":
            status = parse_qs(url.query).get("status", [""])[0]
            items = [x for x in self.items if not status or x["status"] == status]
            return route.fulfill(json={"items": items, "next_cursor": None})
        if len(parts) == 4 and parts[3].startswith("lic_fake"):
            lic = next(x for x in self.items if x["id"] == parts[3])
            if req.method == "GET":
                return route.fulfill(json=lic)
            if req.method == "PATCH":
                cap = int(json.loads(req.post_data)["budget_cap_micros"])
                self.patches.append(
                    (lic["id"], {"budget_cap_micros": cap, "idempotency": "idempotency-key" in req.headers})
                )
                if cap < lic["spent_micros"]:
                    return route.fulfill(status=422, json={"detail": "below spent", "code": "cap_below_spent"})
                if cap < lic["budget_cap_micros"] and not self.reserved_once:
                    self.reserved_once = True
                    body = {"detail": "Part of the budget is held by deliveries in flight.", "code": "budget_reserved"}
                    return route.fulfill(status=409, json=body, headers={"Retry-After": "60"})
                if lic["status"] == "lapsed" and cap > lic["budget_cap_micros"]:
                    lic.update(status="active", lapsed_at=None)
                lic.update(budget_cap_micros=cap, remaining_micros=cap - lic["spent_micros"])
                return route.fulfill(json=lic)
        return route.continue_()


def test_lapsed_licences_are_badged_filtered_and_revived_by_a_higher_cap(
    page: Any, local_stack: dict[str, Any], new_account: Any
) -> None:
    pub, pub_acct = new_account("publisher", name=f"Lapse Weekly {uuid.uuid4().hex[:6]}")
    buyer, _ = new_account("buyer")
    title = f"Ferry timetable subscription {uuid.uuid4().hex[:8]}"  # not "sea wall": other tests search for it
    asset = publish(pub, f"{title}: weekly.", title=title)
    fake = FakeLicences(asset["id"], pub_acct["id"])
    page.route("**/v1/licenses**", fake)
    sign_in(page, local_stack, buyer.key)
    page.get_by_role("button", name="Buyer").click()
    lapsed = page.locator(f"#buyer-licences tr[data-licence='{fake.items[0]['id']}']")
    lapsed.wait_for()
    # A lapsed licence is badged as such, says why, shows nothing left, and offers to raise the cap (no certificate)
    assert lapsed.locator(".badge.status-lapsed").inner_text() == "lapsed"
    assert "budget cap reached" in lapsed.inner_text() and "USD 0.00 left" in lapsed.inner_text()
    assert lapsed.get_by_role("button", name="Certificate").count() == 0
    assert title in lapsed.inner_text()  # names, not ids
    # The filter shows lapsed licences alone, or active ones alone
    rows = page.locator("#buyer-licences tbody tr")
    page.get_by_label("Show", exact=True).select_option("lapsed")
    sync_api.expect(rows).to_have_count(1)
    sync_api.expect(rows.first).to_have_attribute("data-status", "lapsed")
    page.get_by_label("Show", exact=True).select_option("active")
    sync_api.expect(rows.first).to_have_attribute("data-status", "active")
    sync_api.expect(rows).to_have_count(1)
    page.get_by_label("Show", exact=True).select_option("")
    sync_api.expect(rows).to_have_count(2)
    # Raising the cap asks first, explains that the licence comes back and what its renewal charges
    lapsed.get_by_role("button", name="Raise the budget cap").click()
    dialog = page.locator("#confirm")
    dialog.wait_for()
    assert "Raise the budget cap" in dialog.inner_text()
    assert "active again" in dialog.locator("#cap-lapsed").inner_text()
    assert "USD 5.00 every 30 days" in dialog.locator("#cap-lapsed").inner_text()
    page.screenshot(path=str(console.SHOTS / "raise-cap.png"))
    confirm = dialog.get_by_role("button", name="Set budget cap")
    dialog.get_by_label("New budget cap").fill("10")
    assert "That is the current cap" in dialog.locator("#cap-effect").inner_text() and confirm.is_disabled()
    dialog.get_by_label("New budget cap").fill("20")
    assert "up to USD 10.00 more may be charged" in dialog.locator("#cap-effect").inner_text()
    confirm.click()
    page.get_by_text("It is active again.").wait_for()
    assert fake.patches == [(fake.items[0]["id"], {"budget_cap_micros": 20_000_000, "idempotency": False})]
    sync_api.expect(lapsed).to_have_attribute("data-status", "active")
    sync_api.expect(lapsed).to_contain_text("USD 10.00 left")
    # Lowering a cap while deliveries hold budget: the dialog explains, stays open, and a second press succeeds
    active = page.locator(f"#buyer-licences tr[data-licence='{fake.items[1]['id']}']")
    active.get_by_role("button", name="Change the budget cap").click()
    dialog.get_by_label("New budget cap").fill("0.5")
    confirm.click()
    sync_api.expect(dialog.locator("#confirm-error")).to_contain_text("Try again then")
    assert dialog.is_visible()
    confirm.click()
    page.get_by_text("set to USD 0.50; USD 0.20 left").wait_for()
    assert not dialog.is_visible()


def test_a_cap_below_a_flat_price_is_refused_in_the_purchase_dialog(
    page: Any, local_stack: dict[str, Any], new_account: Any
) -> None:
    pub, _ = new_account("publisher")
    buyer, _ = new_account("buyer")
    title = f"Flat archive {uuid.uuid4().hex[:8]}"
    asset = publish(pub, f"{title}: ten years of minutes.", title=title)
    pricing = {"model": "flat", "amount_micros": 2_000_000, "currency": "USD"}
    offer = pub.post("/v1/offers", json={"asset_id": asset["id"], "uses": ["ai-train"], "pricing": pricing}).json()
    sign_in(page, local_stack, buyer.key)
    search = page.locator("#search-form")
    search.get_by_label("Words").fill(title)
    search.get_by_role("button", name="Search").click()
    page.locator(f"button.buy[data-offer='{offer['id']}']").click()
    dialog = page.locator("#confirm")
    dialog.get_by_label("Budget cap").fill("1")
    dialog.get_by_role("button", name="Confirm purchase").click()
    # The marketplace refuses (422 budget_below_price); the dialog says so and what to do, and nothing is bought
    error = dialog.locator("#confirm-error")
    sync_api.expect(error).to_contain_text("budget_below_price")
    assert "give a cap of at least its price" in error.inner_text() and dialog.is_visible()
    assert buyer.get("/v1/licenses").json()["items"] == []
    # With a cap that covers the price, the same dialog buys
    dialog.get_by_label("Budget cap").fill("2")
    dialog.get_by_role("button", name="Confirm purchase").click()
    page.get_by_text("Licence lic_").wait_for()
    (lic,) = buyer.get("/v1/licenses").json()["items"]
    assert lic["budget_cap_micros"] == 2_000_000 and lic["status"] == "active"

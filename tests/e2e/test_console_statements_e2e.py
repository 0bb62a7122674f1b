"""Issues 14 and 18, console: names instead of ids (a publisher sees its buyers by name in its licences and in usage
by buyer), and statements as API 1.1 shapes them: one total row per currency, open or closed (a closed one with its
badge and whole SHA-256), and the pool distributions booked in the period with the period they distribute and what
they carried.

The first test runs against the local stack end to end. A closed statement with pool distributions in two currencies
needs a month to pass on the shared server's clock (which would move it under every other test of the session), so
the second serves that one statement from an answer built with the server's own response model
(``tests/sdk/test_periods_and_pools.CLOSED_STATEMENT``) through Playwright's routing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from tests.e2e import test_console_e2e as console
from tests.e2e.helpers import eventually, publish
from tests.e2e.test_console_e2e import sign_in
from tests.sdk.test_periods_and_pools import CLOSED_STATEMENT, SHA

browser = console.browser  # the same browser (and the same skip without Chromium)
page = console.page


def test_the_publisher_sees_its_buyers_by_name_and_an_open_statement(
    page: Any, local_stack: dict[str, Any], new_account: Any
) -> None:
    # Given a licence taken by a named buyer, and one delivery on it
    tag = uuid.uuid4().hex[:6]
    pub, _ = new_account("publisher", name=f"Names Herald {tag}")
    buyer, buyer_acct = new_account("buyer", name=f"Lab {tag} Research")
    title = f"Lighthouse keepers {tag}"  # not "sea wall": other tests search for it
    asset = publish(pub, f"{title}: a history.", title=title)
    offer = pub.post(
        "/v1/offers",
        json={
            "asset_id": asset["id"],
            "uses": ["ai-input"],
            "pricing": {"model": "per_access", "amount_micros": 20_000, "currency": "USD"},
        },
    ).json()
    lic = buyer.post("/v1/licenses", json={"offer_id": offer["id"], "use": "ai-input"}).json()["license"]
    assert lic["buyer_name"] == buyer_acct["name"] and lic["publisher_name"] == f"Names Herald {tag}"
    got = buyer.get(f"/v1/assets/{asset['id']}/content", params={"use": "ai-input", "license_id": lic["id"]})
    assert got.status_code == 200
    usage = {"as": "publisher", "group_by": "buyer"}
    assert eventually(lambda: pub.get("/v1/usage", params=usage).json()["items"])
    # When the publisher opens its dashboard
    sign_in(page, local_stack, pub.key)
    page.get_by_role("button", name="Publisher").click()
    row = page.locator(f"#pub-licences tr[data-licence='{lic['id']}']")
    row.wait_for()
    # Then the licence and the usage by buyer name the buyer, never its account id
    assert buyer_acct["name"] in row.inner_text() and buyer_acct["id"] not in row.inner_text()
    by_buyer = page.locator("#pub-by-buyer tbody")
    assert buyer_acct["name"] in by_buyer.inner_text() and buyer_acct["id"] not in by_buyer.inner_text()
    # And this month's statement is open (it can still change), with one total row per currency
    page.locator("#statement-form button[type=submit]").click()
    page.locator("#statement caption", has_text="Statement").wait_for()
    seal = page.locator("#statement-seal")
    assert seal.locator(".badge.status-open").inner_text() == "open" and "sha" not in seal.inner_text().lower()
    totals = page.locator("#statement tr.total:not(.distributions)")
    assert totals.count() >= 1 and "Total USD" in totals.first.inner_text()
    month = datetime.now(UTC).strftime("%Y-%m")
    assert f"Statement {month} (open)" in page.locator("#statement caption").inner_text()


def test_a_closed_statement_shows_totals_per_currency_its_sha256_and_distributions(
    page: Any, local_stack: dict[str, Any], new_account: Any
) -> None:
    buyer, _ = new_account("buyer", "publisher")
    pool_id = CLOSED_STATEMENT["distributions"][0]["pool_id"]
    page.route(
        "**/v1/statements/2026-10", lambda route: route.fulfill(json=CLOSED_STATEMENT)
    )  # a closed month with pool distributions in two currencies (see the module docstring)
    page.route(f"**/v1/pools/{pool_id}", lambda route: route.fulfill(json={"id": pool_id, "name": "Small newsrooms"}))
    asset_id = CLOSED_STATEMENT["lines"][0]["asset_id"]
    page.route(f"**/v1/assets/{asset_id}", lambda route: route.fulfill(json={"id": asset_id, "title": "Tide tables"}))
    sign_in(page, local_stack, buyer.key)
    page.get_by_role("button", name="Buyer").click()
    form = page.locator("#buyer-statement-form")
    form.locator("input[name=period]").fill("2026-10")
    form.locator("button[type=submit]").click()
    page.locator("#buyer-statement caption", has_text="Statement 2026-10 (closed)").wait_for()
    # Lines name their content; one total row per currency, each in its own currency, never added together
    assert page.locator("#buyer-statement tbody tr").first.inner_text().startswith("Tide tables")
    usd = page.locator("#buyer-statement tr.total[data-currency='USD']:not(.distributions)").inner_text().split("\t")
    eur = page.locator("#buyer-statement tr.total[data-currency='EUR']:not(.distributions)").inner_text().split("\t")
    assert [c.strip() for c in usd] == ["Total USD", "", "USD 0.03", "USD 0.003", "USD 0.027"]
    assert [c.strip() for c in eur] == ["Total EUR", "", "EUR 25.00", "EUR 2.50", "EUR 22.50"]
    booked = page.locator("#buyer-statement tr.total.distributions").inner_text()
    assert "Pool distributions booked in 2026-10 (USD)" in booked and "USD 1.234567" in booked
    # The closed badge and the whole SHA-256
    seal = page.locator("#buyer-statement-seal")
    assert seal.locator(".badge.status-closed").inner_text() == "closed"
    assert "2026-11-01T00:05:00Z" in seal.inner_text() and seal.locator("code.sha").inner_text() == SHA
    # Distribution lines: the pool by name, the period each distributes, accesses, charges and carried revenue
    rows = page.locator("#buyer-statement table.distributions tbody tr")
    assert rows.count() == 2
    member = [c.strip() for c in rows.nth(0).inner_text().split("\t")]
    pool = [c.strip() for c in rows.nth(1).inner_text().split("\t")]
    assert member == ["Small newsrooms", "2026-09", "7", "USD 0.07", "USD 9.00", "USD 0.00", "USD 0.00", "USD 1.234567"]
    assert pool == ["Small newsrooms", "2026-09", "0", "USD 0.00", "USD 9.00", "USD 0.50", "USD 1.50", "USD -8.00"]
    headers = page.locator("#buyer-statement table.distributions thead").inner_text()
    assert "Carried in" in headers and "Carried forward" in headers and "Distributes" in headers

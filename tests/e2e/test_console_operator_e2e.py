"""Issue 19: the operator's screen of the console (Accounts, admin only) in headless Chromium against the local stack:
search an account, suspend and reinstate it, change its roles, issue a key to an account that lost its own (shown
once), and approve an account that awaits approval. Every action is checked through the API too. Screenshots go to
.build/screenshots/, and to docs/screenshots/ with IMPRIMATUR_UPDATE_SCREENSHOTS=1."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.e2e import test_console_e2e as console
from tests.e2e.test_console_e2e import SHOTS, sign_in

browser = console.browser  # the same browser (and the same skip without Chromium)
expect = console.sync_api.expect  # retries until the page shows it (or the default timeout)
EXPECTED = re.compile(r"status of 401")  # a suspended or keyless account's refused call, provoked on purpose


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda m: m.type == "error" and not EXPECTED.search(m.text) and errors.append(m.text))
    yield pg
    context.close()
    assert errors == [], errors


def open_accounts(page: Any, local_stack: dict[str, Any], q: str) -> None:
    sign_in(page, local_stack, local_stack["admin_api_key"])
    page.get_by_role("button", name="Accounts", exact=True).click()
    page.get_by_label("Name or e-mail starts with").fill(q)
    page.get_by_role("button", name="Search", exact=True).last.click()


def test_the_operator_finds_suspends_reinstates_changes_roles_and_issues_a_key(
    page: Any, local_stack: dict[str, Any], new_account: Any
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:6]
    pub, acct = new_account("publisher", name=f"Quay Courier {tag}")
    new_account("buyer", name=f"Quayside Labs {tag}")  # another match for "quay", to see a list
    # Given the publisher revoked its only key: it is locked out
    only = pub.get("/v1/me/keys").json()["items"][0]["key_id"]
    assert pub.delete(f"/v1/me/keys/{only}").status_code == 204
    assert pub.get("/v1/me").status_code == 401
    # When the operator searches for it by the start of a word of its name
    open_accounts(page, local_stack, f"courier {tag}")  # the name from its second word on
    row = page.locator(f"#accounts-table tr[data-account='{acct['id']}']")
    # (opening the tab lists every account, this one included: wait for the search's answer, not just the row)
    expect(page.locator("#accounts-table tbody tr")).to_have_count(1)
    row.wait_for()
    assert "publisher" in row.inner_text() and row.get_attribute("data-status") == "active"
    page.get_by_label("Name or e-mail starts with").fill("quay")
    page.get_by_role("button", name="Search", exact=True).last.click()
    expect(page.locator("#accounts-table tbody tr")).to_have_count(2)  # the publisher and "Quayside Labs"
    page.screenshot(path=str(SHOTS / "operator-accounts.png"), full_page=True)
    row = page.locator(f"#accounts-table tr[data-account='{acct['id']}']")
    # suspends it (with a confirmation)
    row.get_by_role("button", name=f"Suspend Quay Courier {tag}").click()
    page.get_by_role("dialog").get_by_role("button", name="Suspend").click()
    page.locator(f"#accounts-table tr[data-account='{acct['id']}'][data-status='suspended']").wait_for()
    admin = pub.as_(local_stack["admin_api_key"])
    assert admin.get(f"/v1/accounts/{acct['id']}").json()["status"] == "suspended"
    # reinstates it
    page.get_by_role("button", name=f"Reinstate Quay Courier {tag}").click()
    page.locator(f"#accounts-table tr[data-account='{acct['id']}'][data-status='active']").wait_for()
    got = admin.get(f"/v1/accounts/{acct['id']}").json()
    assert got["status"] == "active" and got["updated_by"] == admin.get("/v1/me").json()["id"]
    # makes it a buyer too
    page.get_by_role("button", name=f"Change the roles of Quay Courier {tag}").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("buyer").check()
    dialog.get_by_role("button", name="Save roles").click()
    page.get_by_text("roles are now buyer, publisher").wait_for()
    assert admin.get(f"/v1/accounts/{acct['id']}").json()["roles"] == ["buyer", "publisher"]
    # and issues it a key, shown once
    page.get_by_role("button", name=f"Issue a key for Quay Courier {tag}").click()
    page.get_by_role("dialog").get_by_role("button", name="Issue key").click()
    shown = page.locator("#issued-key-value")
    shown.wait_for()
    key = shown.inner_text().strip()
    assert key.startswith("imp_")
    page.screenshot(path=str(SHOTS / "operator-issued-key.png"), full_page=True)
    # Then the account is back in with that key, and the key leaves the page once acknowledged
    assert pub.as_(key).get("/v1/me").json()["id"] == acct["id"]
    page.get_by_role("button", name="I have copied it").click()
    assert page.locator("#issued-key-value").count() == 0
    assert key not in page.content()


def test_the_operator_approves_an_account_awaiting_approval(
    page: Any, local_stack: dict[str, Any], new_account: Any, http: Any
) -> None:
    if "/v1/accounts/{id}/approve" not in http.get("/v1/openapi.json").json()["paths"]:
        pytest.skip("this build has no POST /v1/accounts/{id}/approve (self sign-up, issue 19 part A)")
    tag = uuid.uuid4().hex[:6]
    client, acct = new_account("publisher", name=f"Pending Press {tag}")
    # Given an account awaiting approval (as a sign-up with approval required leaves it)
    res = local_stack["resources"]
    boto3.client(
        "dynamodb",
        endpoint_url=local_stack["s3_endpoint"],
        region_name=local_stack.get("region", "us-east-1"),
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ).update_item(
        TableName=res["ACCOUNTS_TABLE"],
        Key={"pk": {"S": f"ACCT#{acct['id']}"}, "sk": {"S": "ACCT"}},
        UpdateExpression="SET #s = :p",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":p": {"S": "pending"}},
    )
    # When the operator lists the accounts pending approval
    sign_in(page, local_stack, local_stack["admin_api_key"])
    page.get_by_role("button", name="Accounts", exact=True).click()
    page.locator("#accounts-form select[name=status]").select_option("pending")
    page.get_by_label("Name or e-mail starts with").fill(f"pending press {tag}")
    page.get_by_role("button", name="Search", exact=True).last.click()
    row = page.locator(f"#accounts-table tr[data-account='{acct['id']}'][data-status='pending']")
    expect(page.locator("#accounts-table tbody tr")).to_have_count(1)  # the search's answer, not the first listing
    row.wait_for()
    page.screenshot(path=str(SHOTS / "operator-pending.png"), full_page=True)
    # and approves it
    row.get_by_role("button", name=f"Approve Pending Press {tag}").click()
    page.get_by_text(f"Pending Press {tag}: approved").wait_for()
    # Then it is active
    assert client.get("/v1/me").json()["status"] == "active"

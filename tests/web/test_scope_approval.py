"""The scope of an auto-onboard schedule (accounts, organizational units, skipped regions, tag
rules, approval) in a connection's Auto-Onboard panel, and Review new APIs: the APIs a run in
approval mode held, approved into applications or dismissed.

The demo's organization keeps its accounts in the root; the OUs these tests need are made in
the demo's moto server (empty: no account moves, so the other tests' runs see the same
organization). The APIs to review are made in data-sandbox, which has none of its own, each
with a tag of this module's own that the schedule's tag rule asks for: no other test's API is
held, and no other test's run counts these APIs before this module made them."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.demo.running import Demo
from tests.web.conftest import (
    HAS_PLAYWRIGHT,
    assert_fits,
    demo_aws,
    new_rest_api,
    organization_connection,
    screenshot,
)

if TYPE_CHECKING or HAS_PLAYWRIGHT:
    from playwright.sync_api import Locator, Page, expect

RUN_TIMEOUT_MS = 60_000


# ----------------------------------------------------------------------------------- set-up


@pytest.fixture(scope="module")
def organization(console_demo: Demo) -> dict[str, Any]:
    """A central-role connection of this module's own, the accounts by name, and two OUs made
    for it: Workloads (under the root) with Sandbox nested in it."""
    suffix = uuid.uuid4().hex[:6]
    connection_id, accounts = organization_connection(console_demo, f"scope {suffix}")
    connection = console_demo.request("GET", f"/connections/{connection_id}").json()
    orgs = demo_aws(console_demo, "organizations")
    root = orgs.list_roots()["Roots"][0]["Id"]
    workloads = orgs.create_organizational_unit(ParentId=root, Name=f"Workloads {suffix}")
    sandbox = orgs.create_organizational_unit(
        ParentId=workloads["OrganizationalUnit"]["Id"], Name=f"Sandbox {suffix}"
    )
    return {
        "connection": connection,
        "accounts": accounts,
        "root": root,
        "workloads": workloads["OrganizationalUnit"],
        "sandbox": sandbox["OrganizationalUnit"],
    }


@pytest.fixture
def no_schedule(console_demo: Demo, organization: dict[str, Any]) -> Iterator[str]:
    """The module's connection without a schedule before and after a test: its path."""
    path = f"/connections/{organization['connection']['id']}/auto-onboard"
    console_demo.request("DELETE", path)
    yield path
    console_demo.request("DELETE", path)


def _panel(page: Page, connection: dict[str, Any]) -> Locator:
    card = page.locator(f'article[data-connection-id="{connection["id"]}"]')
    expect(card.get_by_role("heading", name=connection["name"])).to_be_visible()
    return card.locator("section.auto-onboard")


def _new_api(apigw: Any, name: str, tags: dict[str, str]) -> str:
    """A REST API with stages dev and prod deployed (a GET on / with a mock integration)."""
    return new_rest_api(apigw, name, tags=tags, stages=("prod", "dev"))


# ------------------------------------------------------------------------------------ scope


def test_a_scope_is_saved_shown_and_read_back_after_a_reload(
    page: Page, console_demo: Demo, organization: dict[str, Any], no_schedule: str
) -> None:
    connection = organization["connection"]
    workloads, sandbox = organization["workloads"], organization["sandbox"]
    payments = organization["accounts"]["payments-prod"]
    page.goto(f"{console_demo.base_url}/#/integrations")
    panel = _panel(page, connection)
    panel.get_by_role("button", name="Enable Auto-Onboard").click()
    form = panel.locator("form.schedule-form")
    form.get_by_label("Daily").check()
    form.get_by_label("Time", exact=True).fill("04:45")
    form.get_by_label("Time zone").select_option("UTC")

    scope = form.locator("section.scope-section")
    expect(scope.get_by_role("heading", name="Scope")).to_be_visible()
    # Accounts: picked by name, the id beside it.
    accounts = scope.locator('fieldset[name="accounts"]')
    expect(accounts.get_by_label("Account", exact=True)).to_contain_text(
        f"payments-prod · {payments}"
    )
    accounts.get_by_label("Account", exact=True).select_option(payments)
    accounts.get_by_role("button", name="Exclude").click()
    rule = accounts.locator(f'li[data-account-id="{payments}"]')
    expect(rule).to_contain_text("Excluded")
    expect(rule).to_contain_text("payments-prod")

    # The OU tree: the root, Workloads under it, Sandbox under Workloads.
    ous = scope.locator('fieldset[name="organizational_units"]')
    root_item = ous.locator(f'li[data-ou-id="{organization["root"]}"]')
    expect(root_item.locator(".ou-row").first).to_contain_text("Root")
    nested = root_item.locator(
        f'li[data-ou-id="{workloads["Id"]}"] li[data-ou-id="{sandbox["Id"]}"]'
    )
    expect(nested).to_contain_text(sandbox["Name"])
    expect(nested).to_contain_text("0 accounts")
    ous.get_by_label(workloads["Name"]).select_option("include")
    ous.get_by_label(sandbox["Name"]).select_option("exclude")

    regions = scope.locator('fieldset[name="exclude_regions"]')
    regions.get_by_label("Region to skip").select_option("eu-west-2")
    regions.get_by_role("button", name="Skip region").click()
    expect(regions.locator('li[data-region="eu-west-2"]')).to_contain_text("Europe (London)")

    tags = scope.locator('fieldset[name="tags"]')
    expect(tags).to_contain_text("No tag rule")
    tags.get_by_role("button", name="Add tag rule").click()
    first = tags.locator(".tag-rule").nth(0)
    expect(first.get_by_label("Tag key")).to_be_focused()
    first.get_by_label("Tag key").fill("env")
    expect(first.get_by_label("Any value")).to_be_checked()
    tags.get_by_role("button", name="Add tag rule").click()
    second = tags.locator(".tag-rule").nth(1)
    second.get_by_label("Rule").select_option("exclude")
    second.get_by_label("Tag key").fill("team")
    second.get_by_label("Any value").uncheck()
    second.get_by_label("Tag value", exact=True).fill("payments")
    # A third row, removed again.
    tags.get_by_role("button", name="Add tag rule").click()
    tags.locator(".tag-rule").nth(2).get_by_role("button", name="Remove").click()
    expect(tags.locator(".tag-rule")).to_have_count(2)

    approval = scope.get_by_label("Ask before onboarding")
    expect(approval).not_to_be_checked()
    expect(scope.locator(".scope-approval")).to_contain_text("instead of being onboarded")
    approval.check()
    screenshot(page, "80-scope-form")
    form.get_by_role("button", name="Save Schedule").click()

    expect(panel.locator(".alert-success")).to_contain_text("Auto-onboard enabled")
    saved = console_demo.request("GET", no_schedule).json()
    assert saved["accounts"]["exclude"] == [payments]
    assert not saved["accounts"]["include"]
    assert saved["organizational_units"]["include"] == [workloads["Id"]]
    assert saved["organizational_units"]["exclude"] == [sandbox["Id"]]
    assert saved["exclude_regions"] == ["eu-west-2"]
    assert saved["tags"]["include"] == {"env": "*"}
    assert saved["tags"]["exclude"] == {"team": "payments"}
    assert saved["approval"] is True

    def summary_is_shown() -> None:
        expect(panel.locator('dd[data-scope="accounts"]')).to_have_text(
            f"not payments-prod ({payments})"
        )
        expect(panel.locator('dd[data-scope="organizational-units"]')).to_have_text(
            f"only {workloads['Name']} ({workloads['Id']}); not {sandbox['Name']} ({sandbox['Id']})"
        )
        expect(panel.locator('dd[data-scope="skip-regions"]')).to_have_text("eu-west-2")
        expect(panel.locator('dd[data-scope="tags"]')).to_have_text(
            "must have env (any value); left out if tagged team=payments"
        )
        expect(panel.locator('dd[data-scope="approval"]')).to_contain_text("Held for review")
        expect(panel.get_by_role("link", name="Review new APIs")).to_have_attribute(
            "href", f"#/integrations/{connection['id']}/review"
        )

    summary_is_shown()
    screenshot(page, "81-scope-saved")

    page.reload()
    panel = _panel(page, connection)
    summary_is_shown()
    panel.get_by_role("button", name="Edit Schedule").click()
    form = panel.locator("form.schedule-form")
    expect(form.locator(f'li[data-account-id="{payments}"]')).to_contain_text("Excluded")
    expect(form.get_by_label(workloads["Name"])).to_have_value("include")
    expect(form.get_by_label(sandbox["Name"])).to_have_value("exclude")
    expect(form.locator('li[data-region="eu-west-2"]')).to_be_visible()
    rows = form.locator(".tag-rule")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).get_by_label("Tag key")).to_have_value("env")
    expect(rows.nth(0).get_by_label("Any value")).to_be_checked()
    expect(rows.nth(1).get_by_label("Rule")).to_have_value("exclude")
    expect(rows.nth(1).get_by_label("Tag value", exact=True)).to_have_value("payments")
    expect(form.get_by_label("Ask before onboarding")).to_be_checked()

    # An update that leaves rules out clears them.
    form.locator(f'li[data-account-id="{payments}"]').get_by_role("button", name="Remove").click()
    rows.nth(1).get_by_role("button", name="Remove").click()
    form.get_by_role("button", name="Update Schedule").click()
    expect(panel.locator(".alert-success")).to_contain_text("Schedule updated")
    expect(panel.locator('dd[data-scope="accounts"]')).to_have_count(0)
    expect(panel.locator('dd[data-scope="tags"]')).to_have_text("must have env (any value)")
    saved = console_demo.request("GET", no_schedule).json()
    assert saved["accounts"] is None or not any(saved["accounts"].values())
    assert saved["tags"]["include"] == {"env": "*"}
    assert not saved["tags"]["exclude"]
    assert saved["organizational_units"]["exclude"] == [sandbox["Id"]]


def test_a_refused_scope_is_shown_at_its_field(
    page: Page, console_demo: Demo, organization: dict[str, Any], no_schedule: str
) -> None:
    connection = organization["connection"]
    page.goto(f"{console_demo.base_url}/#/integrations")
    panel = _panel(page, connection)
    panel.get_by_role("button", name="Enable Auto-Onboard").click()
    form = panel.locator("form.schedule-form")
    tags = form.locator('fieldset[name="tags"]')
    tags.get_by_role("button", name="Add tag rule").click()
    row = tags.locator(".tag-rule").first
    # No key: the service refuses it (422) and names the tag rule.
    row.get_by_label("Any value").uncheck()
    row.get_by_label("Tag value", exact=True).fill("blue")
    form.get_by_role("button", name="Save Schedule").click()

    key = row.get_by_label("Tag key")
    expect(key).to_have_attribute("aria-invalid", "true")
    expect(row.locator(".field-error")).to_be_visible()
    expect(key).to_be_focused()
    expect(form.locator(".alert-error")).to_contain_text("Invalid input")
    screenshot(page, "82-scope-refused")
    assert console_demo.request("GET", no_schedule).status_code == 404

    # With the key, it is saved.
    key.fill("colour")
    form.get_by_role("button", name="Save Schedule").click()
    expect(panel.locator(".alert-success")).to_contain_text("Auto-onboard enabled")
    expect(panel.locator('dd[data-scope="tags"]')).to_have_text("must have colour=blue")
    expect(panel.locator('dd[data-scope="approval"]')).to_have_text("Onboarded right away")
    expect(panel.get_by_role("link", name="Review new APIs")).to_have_count(0)


# ------------------------------------------------------------------------------------ approval


def test_approval_mode_holds_new_apis_to_approve_or_dismiss(
    page: Page, console_demo: Demo, organization: dict[str, Any], no_schedule: str
) -> None:
    connection = organization["connection"]
    sandbox_account = organization["accounts"]["data-sandbox"]
    marker = uuid.uuid4().hex[:8]
    apigw = demo_aws(console_demo, "apigateway", sandbox_account)
    approved_name, dismissed_name = f"review-alpha-{marker}", f"review-beta-{marker}"
    for name in (approved_name, dismissed_name):
        _new_api(apigw, name, {"review": marker, "team": "sandbox"})
    put = console_demo.request(
        "PUT",
        no_schedule,
        json={
            "frequency": "daily",
            "hour": 3,
            "minute": 0,
            "timezone": "UTC",
            "regions": ["us-east-1"],
            "accounts": {"include": [sandbox_account]},
            "tags": {"include": {"review": marker}},
            "approval": True,
        },
    )
    assert put.status_code == 200, put.text

    page.goto(f"{console_demo.base_url}/#/integrations")
    panel = _panel(page, connection)
    expect(panel.locator('dd[data-scope="accounts"]')).to_have_text(
        f"only data-sandbox ({sandbox_account})"
    )
    panel.get_by_role("button", name="Run Now").click()
    outcome = panel.locator(".alert").filter(has_text="Run ")
    expect(outcome).to_contain_text("Discovered", timeout=RUN_TIMEOUT_MS)
    expect(outcome).to_contain_text("2 new APIs held for review.")
    # The accounts the scope left out, with why.
    excluded = outcome.locator("details.run-excluded")
    expect(excluded.locator("summary")).to_have_text("5 accounts left out by the scope")
    excluded.locator("summary").click()
    expect(excluded.locator("li").filter(has_text="payments-prod")).to_contain_text(
        organization["accounts"]["payments-prod"]
    )
    row = panel.locator("table.runs tbody tr").first
    expect(row.locator('td[data-label="Held for review"]')).to_have_text("2")
    expect(row.locator('td[data-label="Skipped"] details.run-excluded')).to_be_visible()
    expect(panel.locator(".review-link .badge")).to_have_text("2")
    screenshot(page, "83-approval-run")

    outcome.get_by_role("link", name="Review new APIs").click()
    expect(page.get_by_role("heading", name="Review new APIs", level=1)).to_be_visible()
    expect(page).to_have_url(re.compile(rf"#/integrations/{connection['id']}/review$"))
    nav = page.get_by_role("navigation", name="Main").get_by_role("link", name="Integrations")
    expect(nav).to_have_attribute("aria-current", "page")
    tabs = page.get_by_role("navigation", name="Which APIs")
    expect(tabs.get_by_role("link", name="To review")).to_have_attribute("aria-current", "page")
    cards = page.locator("li.candidate")
    expect(cards).to_have_count(2)
    alpha = cards.filter(has=page.get_by_role("heading", name=approved_name))
    beta = cards.filter(has=page.get_by_role("heading", name=dismissed_name))
    expect(alpha.locator(".candidate-account")).to_have_text(f"data-sandbox {sandbox_account}")
    expect(alpha).to_contain_text("us-east-1")
    expect(alpha).to_contain_text("REST")
    expect(alpha.locator(".candidate-tags")).to_contain_text(f"review={marker}")
    expect(alpha.get_by_label("prod")).to_be_checked()
    expect(alpha.get_by_label("dev")).to_be_checked()
    expect(alpha).to_contain_text(".execute-api.us-east-1.amazonaws.com/prod")
    screenshot(page, "84-review-pending")

    # Approve with one stage of two.
    alpha.get_by_label("dev").uncheck()
    alpha.get_by_role("button", name="Approve").click()
    expect(alpha.locator(".alert-success")).to_contain_text(f"{approved_name} onboarded")
    link = alpha.get_by_role("link", name="Open the application")
    expect(link).to_be_focused()
    href = link.get_attribute("href") or ""
    application_id = href.rsplit("/", 1)[-1]
    application = console_demo.request("GET", f"/applications/{application_id}")
    assert application.status_code == 200, application.text
    assert application.json()["name"] == approved_name
    urls = [i["url"] for i in application.json()["instances"]]
    assert len(urls) == 1, urls
    assert urls[0].endswith("/prod"), urls

    # Dismiss asks first, and says what it means.
    beta.get_by_role("button", name="Dismiss").click()
    dialog = page.get_by_role("dialog", name=f"Dismiss {dismissed_name}?")
    expect(dialog).to_contain_text("will not be offered again until its stages or deployments")
    screenshot(page, "85-review-dismiss-confirm")
    dialog.get_by_role("button", name="Dismiss").click()
    expect(beta).to_have_count(0)
    expect(page.locator(".alert-success").filter(has_text="dismissed")).to_contain_text(
        f"{dismissed_name} dismissed"
    )
    pending = console_demo.request("GET", f"/connections/{connection['id']}/candidates").json()
    assert [c["name"] for c in pending["items"]] == []

    tabs.get_by_role("link", name="Dismissed").click()
    expect(tabs.get_by_role("link", name="Dismissed")).to_have_attribute("aria-current", "page")
    expect(cards).to_have_count(1)
    expect(cards.first.get_by_role("heading", name=dismissed_name)).to_be_visible()
    expect(cards.first).to_contain_text("dismissed")
    expect(cards.first.get_by_role("button", name="Approve")).to_have_count(0)
    screenshot(page, "86-review-dismissed")

    tabs.get_by_role("link", name="Approved").click()
    expect(cards).to_have_count(1)
    cards.first.get_by_role("link", name="Open the application").click()
    expect(page).to_have_url(re.compile(rf"#/applications/{application_id}$"))
    expect(page.get_by_role("heading", name=approved_name, level=1)).to_be_visible()

    tabs_page = f"{console_demo.base_url}/#/integrations/{connection['id']}/review"
    page.goto(tabs_page)
    expect(page.get_by_text("Nothing waiting for review")).to_be_visible()


# ------------------------------------------------------------------------------------ phone


def test_the_scope_form_and_the_review_list_fit_a_phone(
    phone_page: Page, console_demo: Demo, organization: dict[str, Any], no_schedule: str
) -> None:
    page = phone_page
    connection = organization["connection"]
    sandbox_account = organization["accounts"]["data-sandbox"]
    marker = uuid.uuid4().hex[:8]
    _new_api(
        demo_aws(console_demo, "apigateway", sandbox_account),
        f"review-phone-with-a-long-name-{marker}",
        {"review": marker, "cost-center": "cc-0000-a-rather-long-tag-value"},
    )
    page.goto(f"{console_demo.base_url}/#/integrations")
    panel = _panel(page, connection)
    panel.get_by_role("button", name="Enable Auto-Onboard").click()
    form = panel.locator("form.schedule-form")
    form.get_by_label("Daily").check()
    form.get_by_label("Time zone").select_option("UTC")
    # The run looks where the API is.
    form.get_by_label("us-east-1").check()
    accounts = form.locator('fieldset[name="accounts"]')
    accounts.get_by_label("Account", exact=True).select_option(sandbox_account)
    accounts.get_by_role("button", name="Include").click()
    form.get_by_label(organization["sandbox"]["Name"]).select_option("exclude")
    form.get_by_role("button", name="Add tag rule").click()
    form.locator(".tag-rule").first.get_by_label("Tag key").fill("review")
    form.locator(".tag-rule").first.get_by_label("Any value").uncheck()
    form.locator(".tag-rule").first.get_by_label("Tag value", exact=True).fill(marker)
    form.get_by_label("Ask before onboarding").check()
    assert_fits(page)
    screenshot(page, "87-scope-form-phone")
    form.get_by_role("button", name="Save Schedule").click()
    expect(panel.locator(".alert-success")).to_contain_text("Auto-onboard enabled")
    assert_fits(page)

    page.reload()
    panel = _panel(page, connection)
    panel.get_by_role("button", name="Run Now").click()
    outcome = panel.locator(".alert").filter(has_text="Run ")
    expect(outcome).to_contain_text("1 new API held for review.", timeout=RUN_TIMEOUT_MS)
    assert_fits(page)
    screenshot(page, "88-approval-run-phone")

    panel.locator("a.review-link").click()
    card = page.locator("li.candidate").first
    expect(card.get_by_role("button", name="Approve")).to_be_visible()
    assert_fits(page)
    screenshot(page, "89-review-phone")
    card.get_by_role("button", name="Dismiss").click()
    page.get_by_role("dialog").get_by_role("button", name="Dismiss").click()
    expect(page.locator("li.candidate")).to_have_count(0)
    assert_fits(page)

"""Applications and finding APIs in the console: deleting an application, adding instances to
an onboarded API (from its page and from the wizard's already-onboarded row), the list's search
by name, region choice and account names, the wizard's "All accounts" and "APIs by region", the
"Unauthenticated" label at laptop widths, and the new panels at a phone's width.

The APIs these tests onboard are made here, in data-sandbox (which has none of its own) and in
ap-southeast-2 (where the demo seeds none), each with a name of its own: no other test's
application is deleted or changed."""

from __future__ import annotations

import re
import uuid
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
    signed_in_context,
    text_lines,
)

if TYPE_CHECKING or HAS_PLAYWRIGHT:
    from playwright.sync_api import Browser, Page, expect

ACCOUNT = "data-sandbox"
REGION = "ap-southeast-2"
# Counting every region of every account in the demo's simulated AWS takes a few seconds.
SUMMARY_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def organization(console_demo: Demo) -> dict[str, Any]:
    """A central-role connection of this module's own and the accounts' ids by name."""
    connection_id, accounts = organization_connection(console_demo, "applications console")
    return {"connection_id": connection_id, "accounts": accounts}


def _new_api(demo: Demo, account_id: str, name: str) -> str:
    """A REST API in ap-southeast-2 with stages prod and dev deployed (GET / on a mock)."""
    return new_rest_api(
        demo_aws(demo, "apigateway", account_id, region=REGION), name, stages=("prod", "dev")
    )


def _onboard_prod(demo: Demo, organization: dict[str, Any], api_id: str) -> str:
    """The API onboarded with its prod stage only (a schedule's run that took it first, with
    every stage, is undone so that dev is left to add)."""
    body = {
        "connection_id": organization["connection_id"],
        "account_id": organization["accounts"][ACCOUNT],
        "region": REGION,
        "api_id": api_id,
        "stages": ["prod"],
    }
    response = demo.request("POST", "/applications", json=body)
    if response.status_code == 409:
        demo.request("DELETE", f"/applications/{response.json()['application_id']}")
        response = demo.request("POST", "/applications", json=body)
    assert response.status_code == 201, response.text
    application_id: str = response.json()["id"]
    return application_id


def _wizard_to_region(page: Page, demo: Demo, organization: dict[str, Any], account: str) -> None:
    """The wizard walked to its Region step with the module's connection and `account` (an
    account's name, or "All accounts")."""
    connection = demo.request("GET", f"/connections/{organization['connection_id']}").json()
    page.goto(f"{demo.base_url}/#/applications/new")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label(connection["name"]).check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label(account).check()
    page.get_by_role("button", name="Continue").click()


def _url(api_id: str, stage: str) -> str:
    return f"https://{api_id}.execute-api.{REGION}.amazonaws.com/{stage}"


# --------------------------------------------------------------------------------- delete


def test_an_application_is_deleted_after_a_confirmation_and_leaves_the_list(
    page: Page, console_demo: Demo, organization: dict[str, Any]
) -> None:
    name = f"console-delete-{uuid.uuid4().hex[:6]}"
    application_id = _onboard_prod(
        console_demo, organization, _new_api(console_demo, organization["accounts"][ACCOUNT], name)
    )

    page.goto(f"{console_demo.base_url}/#/applications/{application_id}")
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    head = page.locator(".page-head")
    head.get_by_role("button", name="Delete Application").click()
    dialog = page.get_by_role("dialog", name=f"Delete {name}?")
    expect(dialog).to_be_visible()
    # It says what deleting means, and what it does not undo.
    expect(dialog).to_contain_text("the testing platform stops receiving it")
    expect(dialog).to_contain_text("Nothing changes in AWS")
    expect(dialog).to_contain_text("auto-onboard schedule")
    # Cancel keeps it.
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    assert console_demo.request("GET", f"/applications/{application_id}").status_code == 200

    head.get_by_role("button", name="Delete Application").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete Application").click()
    expect(page.get_by_role("heading", name="Applications", level=1)).to_be_visible()
    expect(page).to_have_url(f"{console_demo.base_url}/#/applications")
    expect(page.locator(".alert-success")).to_contain_text(f"{name} is no longer onboarded")
    expect(page.locator(f'tr[data-application-id="{application_id}"]')).to_have_count(0)
    assert console_demo.request("GET", f"/applications/{application_id}").status_code == 404


# ------------------------------------------------------------------------- add instances


def test_instances_are_added_on_the_application_page(
    page: Page, console_demo: Demo, organization: dict[str, Any]
) -> None:
    name = f"console-add-{uuid.uuid4().hex[:6]}"
    api_id = _new_api(console_demo, organization["accounts"][ACCOUNT], name)
    application_id = _onboard_prod(console_demo, organization, api_id)

    page.goto(f"{console_demo.base_url}/#/applications/{application_id}")
    instances = page.locator("section#instances")
    expect(instances.get_by_role("heading", name="Instances (1)")).to_be_visible()
    instances.get_by_role("button", name="Add Instances").click()
    panel = page.get_by_role("region", name="Add Instances")
    expect(panel).to_be_visible()
    # Only the URL that is not an instance yet is offered.
    dev = panel.get_by_label(_url(api_id, "dev"))
    expect(dev).to_be_visible()
    expect(panel.get_by_label(_url(api_id, "prod"))).to_have_count(0)
    # Nothing chosen: said, and nothing sent.
    panel.get_by_role("button", name="Add Instances").click()
    expect(panel.get_by_role("alert")).to_contain_text("Choose at least one URL")
    dev.check()
    screenshot(page, "B0-application-add-instances")
    panel.get_by_role("button", name="Add Instances").click()

    expect(instances.get_by_role("heading", name="Instances (2)")).to_be_visible()
    expect(instances.locator(".alert-success")).to_contain_text(_url(api_id, "dev"))
    expect(page.locator(".instance-list")).to_contain_text(_url(api_id, "dev"))
    stored = console_demo.request("GET", f"/applications/{application_id}").json()
    assert sorted(i["stage"] for i in stored["instances"]) == ["dev", "prod"]

    # Every URL is an instance now: the panel says there is nothing to add.
    instances.get_by_role("button", name="Add Instances").click()
    expect(page.get_by_role("region", name="Add Instances")).to_contain_text("Nothing to add")


def test_the_wizards_already_onboarded_row_leads_to_add_instances(
    page: Page, console_demo: Demo, organization: dict[str, Any]
) -> None:
    name = f"console-wizard-add-{uuid.uuid4().hex[:6]}"
    api_id = _new_api(console_demo, organization["accounts"][ACCOUNT], name)
    application_id = _onboard_prod(console_demo, organization, api_id)

    _wizard_to_region(page, console_demo, organization, ACCOUNT)
    page.get_by_label("Region", exact=True).select_option(REGION)
    page.get_by_role("button", name="Continue").click()
    # The listing may be one cached before this API was made: a person refreshes it.
    page.get_by_role("button", name="Refresh From AWS").click()

    row = page.locator(".choice", has_text=name)
    expect(row).to_contain_text("Onboarded")
    link = row.get_by_role("link", name=f"Add Instances to {name}")
    expect(link).to_have_attribute("href", f"#/applications/{application_id}?add=instances")
    link.click()

    # The application's page opens with the panel open, and the address forgets the ask.
    panel = page.get_by_role("region", name="Add Instances")
    expect(panel).to_be_visible()
    expect(page).to_have_url(f"{console_demo.base_url}/#/applications/{application_id}")
    panel.get_by_label(_url(api_id, "dev")).check()
    panel.get_by_role("button", name="Add Instances").click()
    expect(page.get_by_role("heading", name="Instances (2)")).to_be_visible()


# ------------------------------------------------------------------------------- the list


def test_the_list_searches_by_name_chooses_a_region_and_names_accounts(
    page: Page, console_demo: Demo, organization: dict[str, Any]
) -> None:
    marker = uuid.uuid4().hex[:6]
    name = f"Console-Search-{marker}"
    application_id = _onboard_prod(
        console_demo, organization, _new_api(console_demo, organization["accounts"][ACCOUNT], name)
    )

    page.goto(f"{console_demo.base_url}/#/applications")
    filters = page.get_by_role("search", name="Filter applications")
    # Any case, part of the name, on the server (the address keeps it).
    filters.get_by_label("Name").fill(f"search-{marker.upper()}")
    filters.get_by_label("Name").press("Enter")
    expect(page).to_have_url(f"{console_demo.base_url}/#/applications?q=search-{marker.upper()}")
    table = page.get_by_role("table", name="Applications")
    expect(table.locator("tbody tr")).to_have_count(1)
    row = table.locator(f'tr[data-application-id="{application_id}"]')
    expect(row).to_be_visible()
    # The account's name beside its id (the organization's accounts, read once).
    expect(row.locator('td[data-label="Account / region"]')).to_contain_text(ACCOUNT)

    # The region is a choice of the regions the tenant's applications are in.
    region = filters.get_by_label("Region")
    expect(region.locator("option", has_text=REGION)).to_have_count(1)
    expect(region.locator("option").first).to_have_text("Any region")
    values = region.locator("option").evaluate_all("(options) => options.map((o) => o.value)")
    assert values[0] == ""
    assert values[1:] == sorted(values[1:]), values
    region.select_option(REGION)
    filters.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(
        f"{console_demo.base_url}/#/applications?q=search-{marker.upper()}&region={REGION}"
    )
    expect(row).to_be_visible()
    expect(filters.get_by_label("Region")).to_have_value(REGION)

    filters.get_by_label("Name").fill("no application has this name")
    filters.get_by_label("Name").press("Enter")
    expect(page.get_by_text("No application matches these filters")).to_be_visible()


# ---------------------------------------------------------------------------- finding APIs


def test_all_accounts_and_the_region_summary_find_an_api_without_guessing(
    page: Page, console_demo: Demo, organization: dict[str, Any]
) -> None:
    name = f"console-find-{uuid.uuid4().hex[:6]}"
    _new_api(console_demo, organization["accounts"][ACCOUNT], name)

    _wizard_to_region(page, console_demo, organization, "All accounts")
    expect(page.locator(".selection")).to_contain_text("All accounts")

    summary = page.get_by_role("region", name="APIs by region").or_(
        page.locator("section.api-summary")
    )
    expect(summary.get_by_role("heading", name="APIs by region")).to_be_visible()
    regions = page.get_by_role("list", name="APIs by region")
    expect(regions).to_be_visible(timeout=SUMMARY_TIMEOUT_MS)
    # The demo's seeded regions and the one made here, each with its count.
    expect(regions.locator('li[data-region="us-east-1"]')).to_contain_text("APIs")
    expect(regions.locator('li[data-region="eu-west-1"]')).to_be_visible()
    sandbox = regions.locator(f'li[data-region="{REGION}"]')
    expect(sandbox).to_contain_text(ACCOUNT)
    screenshot(page, "B1-wizard-region-summary")

    # Choosing one account's count searches that account and region.
    sandbox.get_by_role("button", name=f"{ACCOUNT} ({organization['accounts'][ACCOUNT]})").click()
    expect(page.get_by_role("heading", name="Choose an API")).to_be_visible()
    expect(page.locator(".selection")).to_contain_text(REGION)
    expect(page.locator(".selection")).to_contain_text(ACCOUNT)
    # Another test's visit may have cached this listing before the API was made.
    page.get_by_role("button", name="Refresh From AWS").click()
    expect(page.locator(".choice", has_text=name)).to_be_visible()

    # All accounts, one region: every account's APIs there, each with its account.
    page.get_by_role("button", name="Back to step 3: Account").click()
    page.get_by_label("All accounts").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Region", exact=True).select_option("us-east-1")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Choose an API")).to_be_visible()
    expect(page.get_by_text("APIs found in every account, us-east-1.")).to_be_visible()
    expect(page.locator(".choice", has_text="shop-storefront-api-staging")).to_contain_text(
        "shop-staging"
    )
    expect(page.locator(".choice", has_text="shop-catalog-api").first).to_be_visible()
    storefront = page.locator(".choice", has_text=re.compile(r"^\s*shop-storefront-api\s+REST"))
    expect(storefront.first).to_contain_text("shop-prod")


# ------------------------------------------------------------------------------- wording


def test_unauthenticated_stays_on_one_line_from_tablet_to_laptop_widths(
    browser: Browser, console_demo: Demo, organization: dict[str, Any]
) -> None:
    name = f"console-words-{uuid.uuid4().hex[:6]}"
    application_id = _onboard_prod(
        console_demo, organization, _new_api(console_demo, organization["accounts"][ACCOUNT], name)
    )
    # From just wide enough for the table layout (and the two-column attack surface of
    # 900 px) to the laptops where it once broke mid-word (1024-1366 px).
    for width in (780, 900, 1024, 1100, 1200, 1280, 1366):
        context = signed_in_context(browser, console_demo, viewport={"width": width, "height": 900})
        page = context.new_page()
        try:
            page.goto(f"{console_demo.base_url}/#/applications")
            header = page.get_by_role("columnheader", name="Unauthenticated")
            expect(header).to_be_visible()
            assert text_lines(header) == 1, f"the header breaks at {width}px"
            page.goto(f"{console_demo.base_url}/#/applications/{application_id}")
            labels = [
                page.locator('[data-metric="unauthenticated"] .metric-label'),
                page.locator("article.stage-definition dt", has_text="Unauthenticated"),
            ]
            for label in labels:
                expect(label).to_be_visible()
                assert text_lines(label) == 1, f"{label} breaks at {width}px"
                box = label.bounding_box()
                assert box is not None
                line = label.evaluate("(node) => parseFloat(getComputedStyle(node).lineHeight)")
                assert box["height"] < 2 * line, f"{label} is two lines high at {width}px"
        finally:
            context.close()


# --------------------------------------------------------------------------------- phone


def test_the_new_panels_fit_a_phone(
    phone_page: Page, console_demo: Demo, organization: dict[str, Any]
) -> None:
    page = phone_page
    name = f"console-phone-{uuid.uuid4().hex[:6]}"
    api_id = _new_api(console_demo, organization["accounts"][ACCOUNT], name)
    application_id = _onboard_prod(console_demo, organization, api_id)

    page.goto(f"{console_demo.base_url}/#/applications/{application_id}?add=instances")
    panel = page.get_by_role("region", name="Add Instances")
    expect(panel.get_by_label(_url(api_id, "dev"))).to_be_visible()
    assert_fits(page)
    screenshot(page, "B2-phone-application-add-instances")

    page.goto(f"{console_demo.base_url}/#/applications?q={name}")
    expect(page.get_by_role("table", name="Applications")).to_be_visible()
    assert_fits(page)

    _wizard_to_region(page, console_demo, organization, "All accounts")
    expect(page.get_by_role("list", name="APIs by region")).to_be_visible(
        timeout=SUMMARY_TIMEOUT_MS
    )
    screenshot(page, "B3-phone-wizard-region-summary")
    assert_fits(page)

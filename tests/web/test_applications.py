"""The applications list and its filters, and the layout at a phone's width."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest

from tests.demo.running import Demo
from tests.web.conftest import HAS_PLAYWRIGHT, PHONE, screenshot

if TYPE_CHECKING or HAS_PLAYWRIGHT:
    from playwright.sync_api import Page, expect


def _onboarded(demo: Demo, connection_id: str, account_id: str, region: str, name: str) -> str:
    """The application of the named demo API (onboarded here unless a run already did)."""
    apis = demo.request(
        "GET",
        f"/connections/{connection_id}/apis",
        params={"region": region, "account_id": account_id},
    ).json()["items"]
    api = next(item for item in apis if item["name"] == name)
    response = demo.request(
        "POST",
        "/applications",
        json={
            "connection_id": connection_id,
            "account_id": account_id,
            "region": region,
            "api_id": api["api_id"],
            "stages": [api["stages"][0]["name"]],
        },
    )
    assert response.status_code in {201, 409}, response.text
    body: dict[str, Any] = response.json()
    application_id: str = body["id"] if response.status_code == 201 else body["application_id"]
    return application_id


@pytest.fixture(scope="module")
def shop_applications(console_demo: Demo) -> dict[str, str]:
    """shop-staging's REST and HTTP APIs (us-east-1), onboarded by hand through a connection
    of their own (no other browser test onboards in shop-staging)."""
    name = f"shop organization {uuid.uuid4().hex[:6]}"
    created = console_demo.request(
        "POST",
        "/connections",
        json={
            "name": name,
            "credential_type": "central_role",
            "central_role_arn": console_demo.central_role_arn,
        },
    )
    assert created.status_code == 201, created.text
    connection_id = created.json()["id"]
    accounts = console_demo.request("GET", f"/connections/{connection_id}/accounts").json()
    staging = next(a["account_id"] for a in accounts["items"] if a["name"] == "shop-staging")
    return {
        "connection_id": connection_id,
        "connection_name": name,
        "account_id": staging,
        "storefront": _onboarded(
            console_demo, connection_id, staging, "us-east-1", "shop-storefront-api-staging"
        ),
        "catalog": _onboarded(
            console_demo, connection_id, staging, "us-east-1", "shop-catalog-api-staging"
        ),
    }


def test_the_list_filters_by_protocol_region_account_and_origin(
    page: Page, console_demo: Demo, shop_applications: dict[str, str]
) -> None:
    page.goto(f"{console_demo.base_url}/#/applications")
    table = page.get_by_role("table", name="Applications")
    storefront = table.locator(f'tr[data-application-id="{shop_applications["storefront"]}"]')
    catalog = table.locator(f'tr[data-application-id="{shop_applications["catalog"]}"]')
    expect(storefront).to_be_visible()
    expect(catalog).to_be_visible()
    expect(storefront).to_contain_text("REST")
    expect(catalog).to_contain_text("HTTP")
    screenshot(page, "40-applications")

    filters = page.get_by_role("search", name="Filter applications")
    filters.get_by_label("Protocol").select_option("HTTP")
    filters.get_by_label("Region").fill("us-east-1")
    filters.get_by_label("Region").press("Enter")
    expect(page).to_have_url(
        f"{console_demo.base_url}/#/applications?region=us-east-1&protocol=HTTP"
    )
    expect(catalog).to_be_visible()
    expect(storefront).to_have_count(0)
    for protocol in table.locator('td[data-label="Protocol"]').all():
        expect(protocol).to_contain_text("HTTP")
    for region in table.locator('td[data-label="Account / region"]').all():
        expect(region).to_contain_text("us-east-1")
    screenshot(page, "41-applications-filtered")

    # The filters live in the address: a reload keeps them, and they combine.
    page.reload()
    filters = page.get_by_role("search", name="Filter applications")
    expect(filters.get_by_label("Protocol")).to_have_value("HTTP")
    filters.get_by_label("Protocol").select_option("")
    filters.get_by_label("Region").fill("")
    filters.get_by_label("Connection").select_option(shop_applications["connection_id"])
    filters.get_by_label("Account").fill(shop_applications["account_id"])
    filters.get_by_label("Onboarded via").select_option("manual")
    filters.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(
        f"{console_demo.base_url}/#/applications?connection_id="
        f"{shop_applications['connection_id']}&account_id={shop_applications['account_id']}"
        "&onboarded_via=manual"
    )
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(storefront).to_contain_text("manual")
    expect(catalog).to_contain_text("manual")

    filters.get_by_label("Onboarded via").select_option("auto_onboard")
    filters.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_text("No application matches these filters")).to_be_visible()
    page.get_by_role("link", name="Clear filters").click()
    expect(storefront).to_be_visible()
    expect(filters.get_by_label("Connection")).to_have_value("")

    # A malformed filter is the API's 422, shown with its hint.
    page.goto(f"{console_demo.base_url}/#/applications?account_id=12")
    expect(page.get_by_role("alert")).to_contain_text("What to do:")


def _assert_fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways: {width}px wide"


def test_every_screen_fits_a_phone(
    phone_page: Page, console_demo: Demo, shop_applications: dict[str, str]
) -> None:
    page = phone_page
    page.goto(f"{console_demo.base_url}/#/applications")
    expect(page.get_by_role("table", name="Applications")).to_be_visible()
    # The table turns into one card per application, labelled cell by cell.
    header = page.locator("table.table thead")
    expect(header).to_be_hidden()
    _assert_fits(page)
    screenshot(page, "50-phone-applications")

    page.goto(f"{console_demo.base_url}/#/applications/{shop_applications['storefront']}")
    expect(page.get_by_role("heading", name="Attack surface")).to_be_visible()
    expect(page.get_by_role("heading", name="Operations (3)")).to_be_visible()
    _assert_fits(page)
    screenshot(page, "51-phone-application")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Add application").click()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Choose a connection")).to_be_visible()
    page.get_by_label(shop_applications["connection_name"]).check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("shop-prod").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Region", exact=True).select_option("us-east-1")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_label("shop-storefront-api")).to_be_enabled()
    _assert_fits(page)
    screenshot(page, "52-phone-wizard-apis")
    page.get_by_label("shop-storefront-api").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("Custom domain → stage prod")).to_be_visible()
    _assert_fits(page)
    screenshot(page, "53-phone-wizard-instances")

    page.goto(f"{console_demo.base_url}/#/integrations")
    card = page.locator(f'article[data-connection-id="{shop_applications["connection_id"]}"]')
    card.get_by_role("button", name="Enable auto-onboard").click()
    expect(card.locator("form.schedule-form")).to_be_visible()
    _assert_fits(page)
    screenshot(page, "54-phone-integrations")

"""The whole Add Application wizard against the demo organization: sign in, a NEW central-role
connection, account, region, a PRIVATE API, a VPC-endpoint URL, Onboard, the application."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from tests.demo.running import Demo
from tests.web.conftest import HAS_PLAYWRIGHT, screenshot

if TYPE_CHECKING or HAS_PLAYWRIGHT:
    from playwright.sync_api import Page, expect

PAYMENTS_ACCOUNT = "payments-prod"
PRIVATE_API = "payments-internal-api"


def _sign_in(page: Page, demo: Demo) -> None:
    page.goto(f"{demo.base_url}/")
    expect(page.get_by_role("heading", name="Sign in to Onboarder")).to_be_visible()
    screenshot(page, "01-sign-in")
    key = page.get_by_label("Tenant API key")
    expect(key).to_be_focused()
    key.fill(demo.api_key)
    key.press("Enter")
    expect(page.get_by_role("heading", name="Applications", exact=True)).to_be_visible()
    expect(page.locator("#tenant-name")).to_have_text("demo")


def _continue(page: Page) -> None:
    page.get_by_role("button", name="Continue").click()


def test_a_private_api_is_onboarded_from_a_new_central_role_connection(
    anonymous_page: Page, console_demo: Demo
) -> None:
    page = anonymous_page
    _sign_in(page, console_demo)
    screenshot(page, "02-applications")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Add application").click()
    expect(page.get_by_role("heading", name="Choose a source")).to_be_visible()
    screenshot(page, "03-wizard-source")
    # Keyboard: the choice is already made; Enter in the form goes on.
    source = page.get_by_label("Amazon API Gateway")
    expect(source).to_be_checked()
    source.focus()
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Choose a connection")).to_be_visible()
    form = page.locator("form.connection-form")
    new_connection = page.get_by_role("button", name="+ New Connection")
    expect(form.or_(new_connection)).to_be_visible()
    if new_connection.is_visible():
        new_connection.click()
    name = f"Payments organization {uuid.uuid4().hex[:6]}"
    form.get_by_label("Connection name").fill(name)
    expect(form.get_by_label("Central role (AWS Organizations)")).to_be_checked()
    # Only the chosen type's fields show.
    expect(form.get_by_label("Role ARN", exact=True)).to_be_hidden()
    expect(form.get_by_label("Access key id")).to_be_hidden()
    form.get_by_label("Central role ARN").fill(console_demo.central_role_arn)
    screenshot(page, "04-wizard-new-connection")

    form.get_by_role("button", name="Test Connection").click()
    result = form.locator(".test-result")
    expect(result).to_contain_text("Connection works")
    for check in ("assume_role", "organizations:ListAccounts", "child_roles"):
        expect(result.locator(f'[data-check="{check}"]')).to_have_class("check check-ok")
    # The demo's legacy-archive account has a child role that trusts another role, and the
    # management account has none: the connection works, and says which two it cannot reach.
    expect(result.locator(".accounts-detail summary")).to_have_text("4 of 6 accounts reachable")
    screenshot(page, "05-wizard-connection-test-ok")

    form.get_by_role("button", name="Create Connection").click()
    expect(page.get_by_role("heading", name="Choose an account")).to_be_visible()
    expect(page.locator(".selection")).to_contain_text(name)
    page.get_by_label(PAYMENTS_ACCOUNT).check()
    screenshot(page, "06-wizard-account")
    _continue(page)

    expect(page.get_by_role("heading", name="Choose a region")).to_be_visible()
    region = page.get_by_label("Region", exact=True)
    expect(region).to_be_focused()
    region.select_option("eu-west-1")
    screenshot(page, "07-wizard-region")
    _continue(page)

    expect(page.get_by_role("heading", name="Choose an API")).to_be_visible()
    private = page.locator(".choice", has_text=PRIVATE_API)
    expect(private).to_contain_text("REST")
    expect(private).to_contain_text("PRIVATE")
    expect(private).to_contain_text("2 VPC endpoints")
    expect(private.locator(".badge", has_text="VPC only")).to_be_visible()
    expect(page.locator(".choice", has_text="payments-webhooks")).not_to_contain_text("VPC only")
    expect(private).to_contain_text("created ")
    expect(page.locator(".choice", has_text="payments-webhooks")).to_contain_text("HTTP")
    screenshot(page, "08-wizard-apis")
    page.get_by_label(PRIVATE_API).check()
    _continue(page)

    expect(page.get_by_role("heading", name=f"Choose instances of {PRIVATE_API}")).to_be_visible()
    prod = page.locator("fieldset", has_text="Stage prod")
    vpce_boxes = prod.locator('input[name="instance_urls"][value*="-vpce-"]')
    expect(vpce_boxes).to_have_count(2)
    vpce_url = vpce_boxes.first.get_attribute("value")
    assert vpce_url is not None
    assert vpce_url.endswith("/prod")
    expect(prod).to_contain_text("Private · through vpce-")
    # Said next to the URLs: a scanner outside the customer's VPC cannot reach any of them.
    note = page.get_by_role("note")
    expect(note).to_contain_text("reachable only from inside the customer's VPC")
    expect(note).to_contain_text("a scanner outside that VPC cannot reach these URLs")
    # Onboard without a URL: the form says what is missing and sends nothing.
    page.get_by_role("button", name="Onboard").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose at least one instance URL")
    vpce_boxes.first.check()
    screenshot(page, "09-wizard-instances")
    page.get_by_role("button", name="Onboard").click()

    expect(page.get_by_role("heading", name=PRIVATE_API, level=1)).to_be_visible()
    expect(page.locator(".alert-success")).to_contain_text("Application onboarded")
    application_id = page.url.split("#/applications/")[1].split("?")[0]
    surface = page.locator("section", has=page.get_by_role("heading", name="Attack surface"))
    expect(surface.locator('[data-metric="operations"] .metric-value')).to_have_text("3")
    expect(surface.locator('[data-metric="unauthenticated"] .metric-value')).to_have_text("1")
    expect(surface.locator('[data-metric="api_key"] .metric-value')).to_have_text("1")
    expect(surface.locator('[data-authorizer="AWS_IAM"]')).to_contain_text("IAM (SigV4): 1")
    expect(page.locator(".instance-list")).to_contain_text(vpce_url)
    expect(page.locator(".instance-list")).to_contain_text("VPC endpoint")
    expect(page.locator(".instance-list .badge", has_text="VPC only")).to_be_visible()
    prod_protections = page.get_by_role("table", name="Protections by stage").locator(
        'tr[data-stage="prod"]'
    )
    expect(prod_protections.locator('td[data-label="Reachable from"]')).to_contain_text("VPC only")
    expect(prod_protections).to_contain_text("A scanner outside the customer's VPC cannot reach it")
    prod_definition = page.locator('article.stage-definition[data-stage="prod"]')
    expect(prod_definition.get_by_role("heading", name="Stage prod")).to_be_visible()
    expect(page.get_by_role("heading", name="Operations (3)")).to_be_visible()
    screenshot(page, "10-application")

    application = console_demo.request("GET", f"/applications/{application_id}").json()
    assert [instance["url"] for instance in application["instances"]] == [vpce_url]
    assert application["source"]["endpoint_type"] == "PRIVATE"
    assert [instance["reachable_from"] for instance in application["instances"]] == ["vpc_only"]

    # The definition needs the bearer header: the console fetches it and hands over a file.
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download definition (JSON)").click()
    download = download_info.value
    assert download.suggested_filename == f"{PRIVATE_API}-prod-openapi.json"
    document = json.loads(Path(download.path()).read_text())
    assert document["host"] == vpce_url.split("/")[2]
    assert set(document["paths"]) >= {"/products", "/orders"}
    page.get_by_role("button", name="View definition").click()
    expect(page.locator("pre.code-block")).to_contain_text('"basePath": "/prod"')
    screenshot(page, "11-application-definition")

    # In the list, the application is marked as reachable only from inside the VPC.
    page.goto(f"{console_demo.base_url}/#/applications")
    row = page.locator(f'tr[data-application-id="{application_id}"]')
    expect(row.locator('td[data-label="Instances"]')).to_contain_text("VPC only")

    # Back in the wizard, the API is marked as onboarded and links to its application.
    page.goto(f"{console_demo.base_url}/#/applications/new")
    _continue(page)
    page.get_by_label(name).check()
    _continue(page)
    page.get_by_label(PAYMENTS_ACCOUNT).check()
    _continue(page)
    page.get_by_label("Region", exact=True).select_option("eu-west-1")
    _continue(page)
    onboarded = page.locator(".choice", has_text=PRIVATE_API)
    expect(onboarded).to_contain_text("Onboarded")
    expect(onboarded.locator('input[type="radio"]')).to_be_disabled()
    expect(onboarded.get_by_role("link", name="Open application")).to_have_attribute(
        "href", f"#/applications/{application_id}"
    )
    screenshot(page, "12-wizard-apis-onboarded")

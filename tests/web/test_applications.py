"""The applications list and its filters, and the layout at a phone's width."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest

from tests.demo.running import Demo
from tests.web.conftest import (
    HAS_PLAYWRIGHT,
    assert_fits,
    screenshot,
)

if TYPE_CHECKING or HAS_PLAYWRIGHT:
    from playwright.sync_api import Page, Route, expect


def _onboarded(
    demo: Demo,
    connection_id: str,
    account_id: str,
    region: str,
    name: str,
    *,
    every_stage: bool = False,
) -> str:
    """The application of the named demo API (onboarded here unless a run already did): its
    first stage, or every stage."""
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
            "stages": [stage["name"] for stage in api["stages"]][: None if every_stage else 1],
        },
    )
    assert response.status_code in {201, 409}, response.text
    body: dict[str, Any] = response.json()
    application_id: str = body["id"] if response.status_code == 201 else body["application_id"]
    return application_id


@pytest.fixture(scope="module")
def shop_applications(console_demo: Demo) -> dict[str, str]:
    """shop-staging's REST and HTTP APIs (us-east-1), onboarded by hand through a connection
    of their own (no other browser test onboards in shop-staging); the REST API with both its
    stages (staging, dev)."""
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
            console_demo,
            connection_id,
            staging,
            "us-east-1",
            "shop-storefront-api-staging",
            every_stage=True,
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
    filters.get_by_label("Region").select_option("us-east-1")
    filters.get_by_role("button", name="Apply filters").click()
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
    filters.get_by_label("Region").select_option("")
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


def test_every_screen_fits_a_phone(
    phone_page: Page, console_demo: Demo, shop_applications: dict[str, str]
) -> None:
    page = phone_page
    page.goto(f"{console_demo.base_url}/#/applications")
    expect(page.get_by_role("table", name="Applications")).to_be_visible()
    # The table turns into one card per application, labelled cell by cell.
    header = page.locator("table.table thead")
    expect(header).to_be_hidden()
    assert_fits(page)
    screenshot(page, "50-phone-applications")

    page.goto(f"{console_demo.base_url}/#/applications/{shop_applications['storefront']}")
    expect(page.get_by_role("heading", name="Attack surface")).to_be_visible()
    expect(page.get_by_role("heading", name="Operations (3)")).to_be_visible()
    assert_fits(page)
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
    assert_fits(page)
    screenshot(page, "52-phone-wizard-apis")
    page.get_by_label("shop-storefront-api").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("Custom domain → stage prod")).to_be_visible()
    # An EDGE API answers from the internet: no VPC-only note.
    expect(page.get_by_role("note")).to_have_count(0)
    assert_fits(page)
    screenshot(page, "53-phone-wizard-instances")

    page.goto(f"{console_demo.base_url}/#/integrations")
    card = page.locator(f'article[data-connection-id="{shop_applications["connection_id"]}"]')
    card.get_by_role("button", name="Enable Auto-Onboard").click()
    expect(card.locator("form.schedule-form")).to_be_visible()
    assert_fits(page)
    screenshot(page, "54-phone-integrations")


def test_the_wizard_says_which_regions_a_policy_denies_and_what_a_routing_rule_needs(
    page: Page, console_demo: Demo, shop_applications: dict[str, str]
) -> None:
    # moto has neither service control policies nor routing rules: the service's answers are
    # given as it gives them for those (tests/schedules/test_region_denials.py and
    # tests/discovery/test_custom_domains.py hold the service to them).
    rule_url = "https://api.example-shop.com/beta"

    def apis(route: Route) -> None:
        if "region=eu-west-1" in route.request.url:
            route.fulfill(
                json={
                    "items": [],
                    "next_cursor": None,
                    "errors": [],
                    "regions_not_enabled": [],
                    "regions_denied_by_policy": [
                        {
                            "account_id": "111122223333",
                            "region": "eu-west-1",
                            "message": "The organization's service control policy denies API "
                            "Gateway in region eu-west-1 for account 111122223333.",
                            "hint": "Regions denied by a service control policy are skipped.",
                        }
                    ],
                }
            )
            return
        response = route.fetch()
        body = response.json()
        for api in body["items"]:
            if api["name"] == "shop-storefront-api":
                api["custom_domain_urls"].append(rule_url)
                api["custom_domains"].append(
                    {
                        "url": rule_url,
                        "domain_name": "api.example-shop.com",
                        "base_path": "beta",
                        "stage": "prod",
                        "mutual_tls": False,
                        "reachable_from": "internet",
                        "routing_rule_id": "beta",
                        "priority": 5,
                        "required_headers": {"x-beta": "yes"},
                    }
                )
        route.fulfill(response=response, json=body)

    page.route(lambda url: "/apis?" in url, apis)
    page.goto(f"{console_demo.base_url}/#/applications")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Add application").click()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label(shop_applications["connection_name"]).check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("shop-prod").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Region", exact=True).select_option("eu-west-1")
    page.get_by_role("button", name="Continue").click()

    denied = page.locator(".alert", has_text="Region denied by your organization")
    expect(denied).to_contain_text("service control policy")
    expect(denied).to_contain_text("111122223333")
    expect(page.get_by_text("Some places could not be listed")).to_have_count(0)
    screenshot(page, "55-wizard-region-denied")

    page.get_by_role("button", name="Back", exact=True).click()
    page.get_by_label("Region", exact=True).select_option("us-east-1")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("shop-storefront-api").check()
    page.get_by_role("button", name="Continue").click()
    rule = page.locator(".choice", has_text=rule_url)
    expect(rule).to_contain_text("Custom domain → stage prod · routing rule · send x-beta: yes")
    screenshot(page, "56-wizard-routing-rule")


# Where a stage's operations were read, as the page says it (Definition.source).
OPERATIONS_READ = {
    "deployment": "Read from the deployment",
    "stage_export": "From the stage's export",
    "draft_resources": "From the API's undeployed draft (fallback)",
    "draft_routes": "From the API's current routes (fallback)",
}
RESOURCE_POLICY = {
    "none": "No resource policy",
    "restricts_callers": "Restricts callers",
    "allows_anyone": "Allows anyone",
}


def test_a_region_chosen_before_the_regions_arrive_stays_chosen(
    page: Page, console_demo: Demo, shop_applications: dict[str, str]
) -> None:
    """The region list (with counts) arrives after the form is on screen: what the person
    picked meanwhile is not put back to the address's region."""
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route("**/api/v1/applications/regions", hold)
    page.goto(f"{console_demo.base_url}/#/applications?region=us-east-1")
    filters = page.get_by_role("search", name="Filter applications")
    region = filters.get_by_label("Region")
    expect(region).to_have_value("us-east-1")
    page.wait_for_function("() => true")  # let the held request reach the route
    assert held, "the regions request was not made"
    region.select_option("")

    held[0].continue_()
    expect(region.locator("option", has_text="(")).not_to_have_count(0)  # counts arrived
    expect(region).to_have_value("")


def test_each_stage_shows_the_definition_it_serves(
    page: Page, console_demo: Demo, shop_applications: dict[str, str]
) -> None:
    application_id = shop_applications["storefront"]
    application = console_demo.request("GET", f"/applications/{application_id}").json()
    definitions = {d["stage"]: d for d in application["definitions"]}
    assert sorted(definitions) == ["dev", "staging"]
    assert application["definition"]["stage"] == application["instances"][0]["stage"]

    page.goto(f"{console_demo.base_url}/#/applications/{application_id}")
    expect(page.get_by_role("heading", name="Definitions by stage (2)")).to_be_visible()
    for stage, definition in definitions.items():
        card = page.locator(f'article.stage-definition[data-stage="{stage}"]')
        expect(card.get_by_role("heading", name=f"Stage {stage}")).to_be_visible()
        if definition["deployment_id"]:
            expect(card).to_contain_text(definition["deployment_id"])
        expect(card).to_contain_text(f"Version {definition['version']}")
        expect(card).to_contain_text(OPERATIONS_READ[definition["source"]])
        # Public and API-key-only operations are both unauthenticated; CORS preflights apart.
        exposure = definition["exposure"]
        expect(card).to_contain_text(
            f"{exposure['public']} public + {exposure['api_key_only']} API key only"
        )
        expect(card).to_contain_text("CORS preflight")
        if definition["valid"]:
            expect(card).to_contain_text("Valid")
            expect(card).not_to_contain_text("Invalid OpenAPI")
        else:
            # (moto's export of a REST API is not valid Swagger 2.0: upper-case methods.)
            invalid = card.get_by_role("alert").filter(has_text="Invalid OpenAPI")
            expect(invalid).to_contain_text("does not pass OpenAPI validation")
            expect(invalid.locator("li").first).to_have_text(definition["validation_errors"][0])

    protections = page.get_by_role("table", name="Protections by stage")
    for protection in application["protections"]:
        row = protections.locator(f'tr[data-stage="{protection["stage"]}"]')
        expect(row).to_contain_text(RESOURCE_POLICY[protection["resource_policy"]])
        expect(row.locator('td[data-label="Reachable from"]')).to_have_text("Internet")
    assert {p["stage"] for p in application["protections"]} == {"staging", "dev"}
    screenshot(page, "42-application-stages")

    # The operations of the first instance's stage first; another stage on request.
    operations = page.locator("section", has=page.locator("#operations-heading"))
    chooser = operations.get_by_label("Stage", exact=True)
    expect(chooser.locator("option:checked")).to_have_text(
        f"Stage {application['definition']['stage']}"
    )
    expect(
        page.get_by_role("heading", name=f"Operations ({definitions['staging']['operations']})")
    ).to_be_visible()
    table = operations.get_by_role("table", name="Operations")
    products = table.locator("tr", has_text="/products")
    expect(products.locator('td[data-label="Exposure"]')).to_have_text("Public")
    orders = table.locator("tr", has_text="/orders/{id}")
    expect(orders.locator('td[data-label="Exposure"]')).to_have_text("Authenticated")
    with page.expect_request(
        lambda request: "/operations?" in request.url and "stage=dev" in request.url
    ):
        chooser.select_option(label="Stage dev")
    expect(
        page.get_by_role("heading", name=f"Operations ({definitions['dev']['operations']})")
    ).to_be_visible()

    # Each stage's own document: the request names the stage, the file too.
    dev = page.locator('article.stage-definition[data-stage="dev"]')
    with (
        page.expect_request(
            lambda request: "/openapi?" in request.url and "stage=dev" in request.url
        ),
        page.expect_download() as download_info,
    ):
        dev.get_by_role("button", name="Download definition (JSON)").click()
    assert download_info.value.suggested_filename == "shop-storefront-api-staging-dev-openapi.json"


def test_an_invalid_definition_a_canary_and_every_exposure_are_said_plainly(
    page: Page, console_demo: Demo, shop_applications: dict[str, str]
) -> None:
    """What AWS can hold and the demo cannot (an invalid export, a canary, a WAF, an API key
    that is the only protection): the service's answers are changed on their way to the page."""
    application_id = shop_applications["storefront"]
    base = f"{console_demo.base_url}/api/v1/applications/{application_id}"
    errors = [f"paths./orders.post.responses: response {n} has no description" for n in range(7)]

    def application(route: Route) -> None:
        body = route.fetch().json()
        for definition in body["definitions"]:
            if definition["stage"] == "dev":
                definition.update(
                    valid=False,
                    validation_errors=errors,
                    export_error="BadRequestException: the stage has no deployment",
                )
            else:
                definition.update(valid=True, validation_errors=[], export_error=None)
                definition["canary"] = {
                    "deployment_id": "canary7",
                    "percent_traffic": 12.5,
                    "source": "deployment",
                    "operations": 4,
                    "unauthenticated_operations": 2,
                    "api_key_operations": 1,
                    "cors_preflight_operations": 1,
                }
        body["protections"] = [
            {
                "stage": "staging",
                "resource_policy": "allows_anyone",
                "waf_web_acl": True,
                "mutual_tls": False,
                "reachable_from": "internet",
            },
            {
                "stage": "dev",
                "resource_policy": "restricts_callers",
                "waf_web_acl": False,
                "mutual_tls": True,
                "reachable_from": "vpc_only",
            },
        ]
        # An instance reached through a routing rule that matches a header (moto has none).
        body["instances"][0]["required_headers"] = {"x-beta": "yes"}
        route.fulfill(json=body)

    def canary_operations(route: Route) -> None:
        def operation(method: str, path: str, exposure: str, **fields: Any) -> dict[str, Any]:
            return {
                "method": method,
                "path": path,
                "authorization": "NONE",
                "authorizer_type": None,
                "authorizer_name": None,
                "api_key_required": False,
                "integration_type": "HTTP_PROXY",
                "exposure": exposure,
                "unauthenticated": exposure in {"public", "api_key_only"},
                **fields,
            }

        route.fulfill(
            json={
                "items": [
                    operation("GET", "/products", "public"),
                    operation("POST", "/orders", "api_key_only", api_key_required=True),
                    operation(
                        "GET",
                        "/orders/{id}",
                        "authenticated",
                        authorization="CUSTOM",
                        authorizer_type="TOKEN",
                        authorizer_name="shop-token",
                    ),
                    operation("OPTIONS", "/orders", "cors_preflight"),
                ],
                "next_cursor": None,
            }
        )

    page.route(base, application)
    page.route(
        lambda url: url.startswith(f"{base}/operations?") and "canary=true" in url,
        canary_operations,
    )
    page.goto(f"{console_demo.base_url}/#/applications/{application_id}")

    dev = page.locator('article.stage-definition[data-stage="dev"]')
    expect(dev.locator(".badge", has_text="Invalid OpenAPI")).to_be_visible()
    invalid = dev.get_by_role("alert").filter(has_text="Invalid OpenAPI")
    expect(invalid).to_contain_text("does not pass OpenAPI validation")
    expect(invalid).to_contain_text("The first 5 of 7 problems")
    expect(invalid.locator("li")).to_have_count(5)
    expect(invalid.locator("li").first).to_have_text(errors[0])
    expect(dev).to_contain_text("AWS could not export this stage")
    expect(dev).to_contain_text("the stage has no deployment")
    staging = page.locator('article.stage-definition[data-stage="staging"]')
    expect(staging).not_to_contain_text("Invalid OpenAPI")
    canary = staging.locator(".canary")
    expect(canary).to_contain_text("Canary: 12.5% of traffic")
    expect(canary).to_contain_text("canary7")

    protections = page.get_by_role("table", name="Protections by stage")
    staging_row = protections.locator('tr[data-stage="staging"]')
    expect(staging_row.locator('td[data-label="Resource policy"]')).to_have_text("Allows anyone")
    expect(staging_row.locator('td[data-label="WAF web ACL"]')).to_have_text("Yes")
    expect(staging_row.locator('td[data-label="Mutual TLS"]')).to_have_text("No")
    dev_row = protections.locator('tr[data-stage="dev"]')
    expect(dev_row.locator('td[data-label="Resource policy"]')).to_have_text("Restricts callers")
    expect(dev_row.locator('td[data-label="Mutual TLS"]')).to_have_text("Yes")
    expect(dev_row.locator('td[data-label="Reachable from"]')).to_contain_text("VPC only")
    expect(dev_row).to_contain_text("A scanner outside the customer's VPC cannot reach it")
    expect(
        page.locator(".instance-list li").first.locator(".badge", has_text="send x-beta: yes")
    ).to_be_visible()
    screenshot(page, "43-application-invalid-and-canary")

    operations = page.locator("section", has=page.locator("#operations-heading"))
    operations.get_by_label("Stage", exact=True).select_option(
        label="Stage staging — canary (12.5% of traffic)"
    )
    expect(page.get_by_role("heading", name="Operations (4)")).to_be_visible()
    table = operations.get_by_role("table", name="Operations")
    exposures = table.locator('td[data-label="Exposure"]')
    expect(exposures).to_have_text(
        ["Public", "API key only — not authentication", "Authenticated", "CORS preflight"]
    )
    expect(table.locator("tr", has_text="/orders/{id}")).to_contain_text(
        "Lambda token · shop-token"
    )
    screenshot(page, "44-application-canary-operations")

"""The inventory's lifecycle in the console: each application's status in the list and its
filter, the application page's status, last sync, "Sync now" and its history of changes.

What the demo cannot produce (an API gone from AWS, a history of definition changes, an AWS
failure during a sync) is answered with `page.route`, in the shapes of the service's contract
(tests/applications and tests/lifecycle hold the service to them)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest

from tests.demo.running import Demo
from tests.web.conftest import (
    HAS_PLAYWRIGHT,
    PHONE,
    demo_aws,
    organization_connection,
    screenshot,
)

if TYPE_CHECKING or HAS_PLAYWRIGHT:
    from playwright.sync_api import Page, Route, expect

RETIRED_AT = "2026-03-03T09:30:00Z"
ORPHANED_AT = "2026-03-04T18:05:00Z"
# Applications the list's answer is given besides the demo's own.
ORPHAN_ID = "00000000-0000-4000-8000-00000000000a"
ACTIVE_ID = "00000000-0000-4000-8000-00000000000b"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def catalog(console_demo: Demo) -> dict[str, str]:
    """shop-prod's HTTP API shop-catalog-api (us-east-1, stage $default), onboarded through a
    connection of its own (no other browser test onboards it)."""
    connection_id, accounts = organization_connection(console_demo, "lifecycle")
    account_id = accounts["shop-prod"]
    apis = console_demo.request(
        "GET",
        f"/connections/{connection_id}/apis",
        params={"region": "us-east-1", "account_id": account_id},
    ).json()["items"]
    api = next(item for item in apis if item["name"] == "shop-catalog-api")
    response = console_demo.request(
        "POST",
        "/applications",
        json={
            "connection_id": connection_id,
            "account_id": account_id,
            "region": "us-east-1",
            "api_id": api["api_id"],
            "stages": [stage["name"] for stage in api["stages"]],
        },
    )
    assert response.status_code in {201, 409}, response.text
    body = response.json()
    return {
        "id": body["id"] if response.status_code == 201 else body["application_id"],
        "connection_id": connection_id,
        "account_id": account_id,
    }


def _lifecycle(
    application: dict[str, Any], status: str = "active", **fields: Any
) -> dict[str, Any]:
    """The application as the service answers it with the lifecycle fields set."""
    application.update(
        status=status,
        retired_at=RETIRED_AT if status == "retired" else None,
        orphaned_at=ORPHANED_AT if status == "orphaned" else None,
        last_synced_at=None,
    )
    for instance in application["instances"]:
        instance.setdefault("status", "active")
        instance.setdefault("retired_at", None)
    application.update(fields)
    return application


# ----------------------------------------------------------------------------------- the list


def test_the_list_shows_each_applications_status_and_filters_by_it(
    page: Page, console_demo: Demo, catalog: dict[str, str]
) -> None:
    """The catalog API is answered as retired (the demo's AWS still has it); the status filter
    is sent to the service, and the answer is filtered as the service filters it."""
    asked: list[str] = []

    def applications(route: Route) -> None:
        url = urlsplit(route.request.url)
        asked.append(route.request.url)
        query = parse_qs(url.query)
        wanted = query.pop("status", [None])[0]
        # The demo's own answer without the status filter (its AWS retires nothing), then
        # filtered by the statuses given here.
        body = route.fetch(url=urlunsplit(url._replace(query=urlencode(query, doseq=True)))).json()
        extra = []
        for item in body["items"]:
            _lifecycle(item, "retired" if item["id"] == catalog["id"] else "active")
            if item["id"] == catalog["id"]:
                # Two more like it, wherever the catalog is listed.
                for status, id_, name in (
                    ("orphaned", ORPHAN_ID, "shop-inventory-api"),
                    ("active", ACTIVE_ID, "shop-search-api"),
                ):
                    extra.append(_lifecycle(json.loads(json.dumps(item)), status))
                    extra[-1].update(id=id_, name=name)
        body["items"] += extra
        if wanted:
            body["items"] = [item for item in body["items"] if item["status"] == wanted]
        route.fulfill(json=body)

    page.route(
        lambda url: "/api/v1/applications?" in url,
        applications,
    )
    page.goto(f"{console_demo.base_url}/#/applications")
    table = page.get_by_role("table", name="Applications")
    row = table.locator(f'tr[data-application-id="{catalog["id"]}"]')
    expect(row).to_be_visible()
    expect(row.locator(".status-badge")).to_have_text("Retired Mar 3, 2026")
    expect(row).to_have_attribute("data-status", "retired")
    expect(table.locator(f'tr[data-application-id="{ACTIVE_ID}"] .status-badge')).to_have_text(
        "Active"
    )
    orphan = table.locator(f'tr[data-application-id="{ORPHAN_ID}"]')
    expect(orphan.locator(".status-badge")).to_have_text("Orphaned Mar 4, 2026")
    screenshot(page, "60-applications-status")

    filters = page.get_by_role("search", name="Filter applications")
    status = filters.get_by_label("Status")
    expect(status).to_have_value("")
    expect(status.locator("option")).to_have_text(["All", "Active", "Retired", "Orphaned"])
    status.select_option("retired")
    filters.get_by_label("Protocol").select_option("HTTP")
    with page.expect_request(lambda request: "status=retired" in request.url):
        filters.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(f"{console_demo.base_url}/#/applications?protocol=HTTP&status=retired")
    assert "protocol=HTTP" in asked[-1]
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(row).to_be_visible()
    screenshot(page, "61-applications-retired")

    # The filter is in the address: a reload keeps it.
    page.reload()
    expect(
        page.get_by_role("search", name="Filter applications").get_by_label("Status")
    ).to_have_value("retired")
    filters = page.get_by_role("search", name="Filter applications")
    filters.get_by_label("Status").select_option("orphaned")
    filters.get_by_role("button", name="Apply filters").click()
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(orphan).to_be_visible()
    # Combined with another filter that nothing matches: the empty state.
    filters.get_by_label("Onboarded via").select_option("auto_onboard")
    filters.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_text("No application matches these filters")).to_be_visible()
    filters.get_by_label("Onboarded via").select_option("")
    filters.get_by_label("Status").select_option("active")
    filters.get_by_label("Protocol").select_option("")
    filters.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(f"{console_demo.base_url}/#/applications?status=active")
    expect(table.locator("tbody tr").first).to_be_visible()
    expect(row).to_have_count(0)
    page.get_by_role("link", name="Clear", exact=True).click()
    expect(row).to_be_visible()
    assert "status=" not in asked[-1]


# ------------------------------------------------------------------------ the application page

OPERATION_ADDED = {
    "method": "DELETE",
    "path": "/items/{id}",
    "exposure": "public",
    "authorizer_type": None,
}
OPERATION_REMOVED = {
    "method": "GET",
    "path": "/legacy",
    "exposure": "authenticated",
    "authorizer_type": "JWT",
}


def _changes(application_id: str) -> list[dict[str, Any]]:
    now = datetime.now(UTC)

    def change(n: int, kind: str, summary: str, **fields: Any) -> dict[str, Any]:
        return {
            "id": str(uuid.UUID(int=n)),
            "kind": kind,
            "occurred_at": _iso(now - timedelta(hours=n)),
            "stage": "$default",
            "summary": summary,
            "details": {},
            **fields,
        }

    return [
        change(
            1,
            "exposure_increased",
            "GET /items lost its authorizer and is now public.",
            details={
                "operations": [
                    {
                        "method": "GET",
                        "path": "/items",
                        "before": "authenticated",
                        "after": "public",
                    },
                    {"method": "DELETE", "path": "/items/{id}", "before": None, "after": "public"},
                ]
            },
        ),
        change(
            2,
            "definition_changed",
            "The definition of stage $default changed: 1 operation added, 1 removed, 1 changed.",
            details={
                "version_before": 1,
                "version_after": 2,
                "operations_added": [OPERATION_ADDED],
                "operations_removed": [OPERATION_REMOVED],
                "operations_changed": [
                    {
                        "method": "GET",
                        "path": "/items",
                        "before": {"exposure": "authenticated", "authorizer_type": "JWT"},
                        "after": {"exposure": "public", "authorizer_type": None},
                    }
                ],
            },
        ),
        change(
            3,
            "instance_retired",
            "The URL https://old.example.com/ is gone from AWS.",
            details={"url": "https://old.example.com/"},
        ),
        change(
            4,
            "exposure_decreased",
            "POST /items now needs an authorizer.",
            details={
                "operations": [
                    {
                        "method": "POST",
                        "path": "/items",
                        "before": "api_key_only",
                        "after": "authenticated",
                    }
                ]
            },
        ),
        change(
            5,
            "orphaned",
            "No connection reaches account 111122223333 any more.",
            stage=None,
            details={"reason": "The connection's role cannot be assumed in the account."},
        ),
        change(6, "restored", "A connection reaches the account again.", stage=None),
        change(
            7,
            "onboarded",
            f"Onboarded application {application_id[:8]} manually.",
            stage=None,
        ),
    ]


def test_the_application_page_tells_its_status_its_retired_instances_and_its_history(
    page: Page, console_demo: Demo, catalog: dict[str, str]
) -> None:
    base = f"{console_demo.base_url}/api/v1/applications/{catalog['id']}"
    retired_url = "https://old.example.com/"
    synced_at = _iso(datetime.now(UTC) - timedelta(minutes=5))

    def application(route: Route) -> None:
        body = _lifecycle(route.fetch().json(), last_synced_at=synced_at)
        gone = {**body["instances"][0], "url": retired_url, "status": "retired"}
        gone["retired_at"] = RETIRED_AT
        body["instances"].append(gone)
        route.fulfill(json=body)

    history = _changes(catalog["id"])
    cursors: list[str | None] = []

    def changes(route: Route) -> None:
        cursor = "page2" if "cursor=page2" in route.request.url else None
        cursors.append(cursor)
        if cursor:
            route.fulfill(json={"items": history[5:], "next_cursor": None})
        else:
            route.fulfill(json={"items": history[:5], "next_cursor": "page2"})

    page.route(base, application)
    page.route(lambda url: url.startswith(f"{base}/changes"), changes)
    page.goto(f"{console_demo.base_url}/#/applications/{catalog['id']}")

    head = page.locator(".page-head")
    expect(head.get_by_role("heading", level=1)).to_have_text("shop-catalog-api")
    expect(head.locator(".status-badge")).to_have_text("Active")
    expect(head.locator(".last-synced")).to_have_text("Synced 5 minutes ago")
    expect(head.get_by_role("button", name="Sync now")).to_be_enabled()

    # A retired instance: struck through, with the day it went.
    instances = page.locator("section", has=page.locator("#instances-heading"))
    expect(page.get_by_role("heading", name="Instances (1 active · 1 retired)")).to_be_visible()
    retired = instances.locator('li[data-status="retired"]')
    expect(retired.locator("del")).to_have_text(retired_url)
    assert "line-through" in retired.locator("del").evaluate(
        "(node) => getComputedStyle(node).textDecorationLine"
    )
    expect(retired).to_contain_text("retired Mar 3, 2026")
    expect(instances.locator('li[data-status="active"] del')).to_have_count(0)

    # The history, newest first, each change said for a person.
    section = page.get_by_role("region", name="Changes")
    listed = section.get_by_role("list", name="Changes").locator(":scope > li")
    expect(listed).to_have_count(5)
    assert cursors == [None]
    increased = listed.nth(0)
    expect(increased).to_have_attribute("data-kind", "exposure_increased")
    expect(increased).to_have_class("change change-warning")
    expect(increased).to_contain_text("Exposure increased")
    expect(increased).to_contain_text("GET /items lost its authorizer and is now public.")
    items = increased.locator('li[data-method="GET"][data-path="/items"]')
    expect(items).to_contain_text("Authenticated")
    expect(items.locator(".badge").last).to_have_text("Public")
    expect(increased.locator('li[data-path="/items/{id}"]')).to_contain_text("new")
    expect(increased.locator("time")).to_have_attribute("datetime", history[0]["occurred_at"])

    changed = listed.nth(1)
    expect(changed).to_contain_text("Definition changed")
    expect(changed).to_contain_text("Version 1 → version 2")
    appeared = changed.locator('[data-group="appeared"]')
    expect(appeared).to_contain_text("Appeared (1)")
    expect(appeared).to_contain_text("DELETE /items/{id}")
    expect(appeared).to_contain_text("Public")
    disappeared = changed.locator('[data-group="disappeared"]')
    expect(disappeared.locator("del")).to_have_text("GET /legacy")
    expect(disappeared).to_contain_text("Authenticated · JWT")
    authorization = changed.locator('[data-group="authorization_changed"]')
    expect(authorization).to_contain_text("GET /items")
    expect(authorization).to_contain_text("lost its authorizer (JWT)")
    expect(listed.nth(2).locator("del")).to_have_text("https://old.example.com/")
    expect(listed.nth(3)).to_contain_text("Exposure decreased")
    expect(listed.nth(3)).not_to_have_class("change change-warning")
    expect(listed.nth(4)).to_contain_text("The connection's role cannot be assumed")
    screenshot(page, "62-application-changes")

    # Older changes on request; the list ends with the onboarding.
    section.get_by_role("button", name="Show more").click()
    expect(listed).to_have_count(7)
    assert cursors == [None, "page2"]
    expect(listed.last).to_have_attribute("data-kind", "onboarded")
    expect(section.get_by_role("button", name="Show more")).to_have_count(0)
    expect(listed.nth(5)).to_be_focused()


def test_the_history_fits_a_phone(
    phone_page: Page, console_demo: Demo, catalog: dict[str, str]
) -> None:
    page = phone_page
    base = f"{console_demo.base_url}/api/v1/applications/{catalog['id']}"
    page.route(
        base,
        lambda route: route.fulfill(json=_lifecycle(route.fetch().json(), "orphaned")),
    )
    page.route(
        lambda url: url.startswith(f"{base}/changes"),
        lambda route: route.fulfill(json={"items": _changes(catalog["id"]), "next_cursor": "more"}),
    )
    page.goto(f"{console_demo.base_url}/#/applications/{catalog['id']}")
    expect(page.locator(".change-list > li")).to_have_count(7)
    expect(page.get_by_role("button", name="Sync now")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways: {width}px wide"
    screenshot(page, "67-phone-application-changes")


def test_a_retired_or_orphaned_application_says_so_and_since_when(
    page: Page, console_demo: Demo, catalog: dict[str, str]
) -> None:
    base = f"{console_demo.base_url}/api/v1/applications/{catalog['id']}"
    answer = {"status": "retired"}

    def application(route: Route) -> None:
        route.fulfill(json=_lifecycle(route.fetch().json(), answer["status"]))

    page.route(base, application)
    page.goto(f"{console_demo.base_url}/#/applications/{catalog['id']}")
    expect(page.locator(".page-head .status-badge")).to_have_text("Retired Mar 3, 2026")
    expect(page.locator(".page-head .last-synced")).to_have_text("Never synced")
    expect(page.locator(".alert", has_text="Retired")).to_contain_text("The API is gone from AWS")
    screenshot(page, "63-application-retired")

    answer["status"] = "orphaned"
    page.reload()
    expect(page.locator(".page-head .status-badge")).to_have_text("Orphaned Mar 4, 2026")
    orphaned = page.locator(".alert", has_text="Orphaned")
    expect(orphaned).to_contain_text(f"account {catalog['account_id']}")
    expect(orphaned.get_by_role("link", name="Integrations")).to_be_visible()


# -------------------------------------------------------------------------------- sync now


def test_sync_now_shows_its_progress_then_the_answer_or_the_problem(
    page: Page, console_demo: Demo, catalog: dict[str, str]
) -> None:
    base = f"{console_demo.base_url}/api/v1/applications/{catalog['id']}"
    real = _lifecycle(console_demo.request("GET", f"/applications/{catalog['id']}").json())

    def application(route: Route) -> None:
        route.fulfill(json=_lifecycle(route.fetch().json(), "orphaned"))

    held: list[Route] = []
    page.route(base, application)
    page.route(f"{base}/sync", lambda route: held.append(route))
    page.goto(f"{console_demo.base_url}/#/applications/{catalog['id']}")
    head = page.locator(".page-head")
    expect(head.locator(".status-badge")).to_have_text("Orphaned Mar 4, 2026")
    expect(head.locator(".last-synced")).to_have_text("Never synced")

    button = head.get_by_role("button", name="Sync now")
    button.click()
    # While AWS is read: the button is busy and says so.
    busy = head.get_by_role("button", name="Syncing with AWS…")
    expect(busy).to_be_disabled()
    expect(busy).to_have_attribute("aria-busy", "true")
    expect(page.locator(".sync-output")).to_contain_text("Syncing with AWS…")
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    assert len(held) == 1
    assert held[0].request.method == "POST"
    screenshot(page, "64-application-syncing")

    synced = {**real, "last_synced_at": _iso(datetime.now(UTC))}
    with page.expect_request(lambda request: "/changes?" in request.url):
        held.pop().fulfill(json=synced)
    expect(head.locator(".status-badge")).to_have_text("Active")
    expect(head.locator(".last-synced")).to_have_text("Synced just now")
    expect(page.locator(".alert", has_text="Orphaned")).to_have_count(0)
    expect(page.locator(".sync-output")).to_contain_text("Synced with AWS")
    expect(head.get_by_role("button", name="Sync now")).to_be_focused()
    screenshot(page, "65-application-synced")

    # AWS fails: the problem and its hint, and the button is back.
    page.unroute(f"{base}/sync")
    page.route(
        f"{base}/sync",
        lambda route: route.fulfill(
            status=502,
            content_type="application/problem+json",
            body=json.dumps(
                {
                    "type": "about:blank",
                    "title": "AWS answered with an error",
                    "status": 502,
                    "detail": "API Gateway answered GetStages with ServiceUnavailable.",
                    "code": "aws_unavailable",
                    "hint": "AWS is having trouble; try again in a few minutes.",
                }
            ),
        ),
    )
    head.get_by_role("button", name="Sync now").click()
    problem = page.locator(".sync-output").get_by_role("alert")
    expect(problem).to_contain_text("The application could not be synced")
    expect(problem).to_contain_text("GetStages with ServiceUnavailable")
    expect(problem).to_contain_text(
        "What to do: AWS is having trouble; try again in a few minutes."
    )
    expect(problem).to_contain_text("code aws_unavailable")
    expect(head.get_by_role("button", name="Sync now")).to_be_enabled()
    # The page still shows the last answer.
    expect(head.locator(".last-synced")).to_have_text("Synced just now")
    screenshot(page, "66-application-sync-failed")


# ------------------------------------------------------------------ against the demo's AWS


def test_sync_now_against_aws_then_the_api_is_gone_and_the_application_retires(
    page: Page, console_demo: Demo, catalog: dict[str, str]
) -> None:
    """No route: the demo's service reads its simulated AWS. An HTTP API made for this test is
    onboarded, synced, deleted from AWS and synced again."""
    apigw = demo_aws(console_demo, "apigatewayv2", catalog["account_id"])
    name = f"lifecycle-gone-{uuid.uuid4().hex[:6]}"
    api_id = apigw.create_api(Name=name, ProtocolType="HTTP")["ApiId"]
    integration = apigw.create_integration(
        ApiId=api_id,
        IntegrationType="HTTP_PROXY",
        IntegrationMethod="ANY",
        IntegrationUri="https://backend.example.com/ping",
        PayloadFormatVersion="1.0",
    )["IntegrationId"]
    apigw.create_route(
        ApiId=api_id,
        RouteKey="GET /ping",
        AuthorizationType="NONE",
        Target=f"integrations/{integration}",
    )
    apigw.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    created = console_demo.request(
        "POST",
        "/applications",
        json={
            "connection_id": catalog["connection_id"],
            "account_id": catalog["account_id"],
            "region": "us-east-1",
            "api_id": api_id,
            "stages": ["$default"],
        },
    )
    assert created.status_code == 201, created.text
    application_id = created.json()["id"]

    page.goto(f"{console_demo.base_url}/#/applications/{application_id}")
    head = page.locator(".page-head")
    expect(head.get_by_role("heading", level=1)).to_have_text(name)
    expect(head.locator(".status-badge")).to_have_text("Active")
    changes = page.get_by_role("region", name="Changes")
    expect(changes.locator(".change-list > li").last).to_have_attribute("data-kind", "onboarded")

    head.get_by_role("button", name="Sync now").click()
    expect(page.locator(".sync-output")).to_contain_text("Synced with AWS")
    expect(head.locator(".last-synced")).to_have_text("Synced just now")
    synced = console_demo.request("GET", f"/applications/{application_id}").json()
    assert synced["status"] == "active"
    assert synced["last_synced_at"] is not None

    # The API is deleted in AWS: the next sync retires the application.
    apigw.delete_api(ApiId=api_id)
    with page.expect_response(lambda response: response.url.endswith("/sync")) as answer:
        head.get_by_role("button", name="Sync now").click()
    assert answer.value.status == 200, answer.value.text()
    retired = console_demo.request("GET", f"/applications/{application_id}").json()
    assert retired["status"] == "retired"
    expect(head.locator(".status-badge")).to_have_text(
        re.compile(r"^Retired [A-Z][a-z]{2} \d{1,2}, \d{4}$")
    )
    expect(page.locator(".sync-output")).to_contain_text("the application is retired")
    expect(page.locator(".alert-info", has_text="Retired")).to_contain_text("gone from AWS")
    expect(changes.locator(".change-list > li").first).to_have_attribute("data-kind", "retired")
    screenshot(page, "68-application-retired-by-sync")

    # The list's status filter, answered by the service itself.
    page.goto(f"{console_demo.base_url}/#/applications?status=retired")
    table = page.get_by_role("table", name="Applications")
    row = table.locator(f'tr[data-application-id="{application_id}"]')
    expect(row.locator(".status-badge")).to_contain_text("Retired")
    for status in table.locator("tbody tr").all():
        expect(status).to_have_attribute("data-status", "retired")
    page.goto(f"{console_demo.base_url}/#/applications?status=active")
    expect(table.locator(f'tr[data-application-id="{catalog["id"]}"]')).to_be_visible()
    expect(row).to_have_count(0)


def test_an_operation_that_loses_its_authorizer_in_aws_shows_as_a_warning_after_sync_now(
    page: Page, console_demo: Demo, catalog: dict[str, str]
) -> None:
    """A REST API made for this test: GET /items needs IAM, then is redeployed without it."""
    apigw = demo_aws(console_demo, "apigateway", catalog["account_id"])
    name = f"lifecycle-rest-{uuid.uuid4().hex[:6]}"
    api_id = apigw.create_rest_api(name=name, endpointConfiguration={"types": ["REGIONAL"]})["id"]
    root_id = next(
        item["id"] for item in apigw.get_resources(restApiId=api_id)["items"] if item["path"] == "/"
    )
    items_id = apigw.create_resource(restApiId=api_id, parentId=root_id, pathPart="items")["id"]
    apigw.put_method(
        restApiId=api_id, resourceId=items_id, httpMethod="GET", authorizationType="AWS_IAM"
    )
    apigw.put_integration(
        restApiId=api_id,
        resourceId=items_id,
        httpMethod="GET",
        type="HTTP_PROXY",
        integrationHttpMethod="GET",
        uri="https://backend.example.com/items",
    )
    apigw.create_deployment(restApiId=api_id, stageName="prod")
    created = console_demo.request(
        "POST",
        "/applications",
        json={
            "connection_id": catalog["connection_id"],
            "account_id": catalog["account_id"],
            "region": "us-east-1",
            "api_id": api_id,
            "stages": ["prod"],
        },
    )
    assert created.status_code == 201, created.text
    application_id = created.json()["id"]

    page.goto(f"{console_demo.base_url}/#/applications/{application_id}")
    head = page.locator(".page-head")
    expect(head.get_by_role("heading", level=1)).to_have_text(name)
    changes = page.get_by_role("region", name="Changes")
    expect(changes.locator(".change-list > li")).to_have_count(1)

    # (moto's UpdateMethod cannot patch the authorization: the method is put again.)
    apigw.delete_method(restApiId=api_id, resourceId=items_id, httpMethod="GET")
    apigw.put_method(
        restApiId=api_id, resourceId=items_id, httpMethod="GET", authorizationType="NONE"
    )
    apigw.put_integration(
        restApiId=api_id,
        resourceId=items_id,
        httpMethod="GET",
        type="HTTP_PROXY",
        integrationHttpMethod="GET",
        uri="https://backend.example.com/items",
    )
    apigw.create_deployment(restApiId=api_id, stageName="prod")
    head.get_by_role("button", name="Sync now").click()
    expect(page.locator(".sync-output")).to_contain_text("Synced with AWS")
    increased = changes.locator('.change-list > li[data-kind="exposure_increased"]')
    expect(increased).to_have_class("change change-warning")
    items = increased.locator('li[data-method="GET"][data-path="/items"]')
    expect(items).to_contain_text("Authenticated")
    expect(items.locator(".badge").last).to_have_text("Public")
    screenshot(page, "69-application-exposure-increased-by-sync")

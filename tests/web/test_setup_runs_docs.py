"""Setup (policies and templates to copy or download), a run's own page, the run history after
the schedule is disabled, and the API docs with no internet.

The run here is of a central-role connection of this module's own, scoped to data-sandbox and a
tag of this module's own: it onboards only the APIs this module made, so no other test's APIs
are onboarded by it."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

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
    from playwright.sync_api import Page, Route, expect

RUN_TIMEOUT_S = 60


# ------------------------------------------------------------------------------------ setup


def test_setup_shows_each_way_with_templates_to_copy_and_download(
    page: Page, console_demo: Demo
) -> None:
    setup = console_demo.request("GET", "/aws/setup").json()
    page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=console_demo.base_url
    )
    page.goto(f"{console_demo.base_url}/#/applications")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Setup").click()
    expect(page).to_have_url(re.compile(r"#/setup$"))
    expect(page.get_by_role("heading", name="Set Up AWS Access", level=1)).to_be_visible()
    nav = page.get_by_role("navigation", name="Main").get_by_role("link", name="Setup")
    expect(nav).to_have_attribute("aria-current", "page")

    values = page.locator("dl.setup-values")
    expect(values.locator('[data-value="platform_principal_arn"] code')).to_have_text(
        setup["platform_principal_arn"]
    )
    expect(values.locator('[data-value="external_id"] code')).to_have_text(setup["external_id"])
    for kind in ("aws_user", "assume_role", "central_role"):
        section = page.locator(f'section[data-credential-type="{kind}"]')
        expect(section.locator("ol.setup-steps li").first).to_be_visible()
    central = page.locator('section[data-credential-type="central_role"]')
    expect(central.locator("ol.setup-steps li").first).to_contain_text("management account")
    screenshot(page, "A0-setup")

    # Copy: what lands on the clipboard is the template the API gives, and it says so.
    block = central.locator('.copy-block[data-filename="onboarder-central-role.yaml"]')
    expect(block.locator("pre")).to_have_text(setup["central_role"]["cloudformation_template"])
    block.get_by_role("button", name="Copy").click()
    expect(block.locator(".copy-status")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == setup["central_role"]["cloudformation_template"]

    # The external id, too.
    values.locator('[data-value="external_id"]').get_by_role("button", name="Copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == setup["external_id"]

    # Download: a file with a sensible name and the template in it.
    with page.expect_download() as download_info:
        block.get_by_role("button", name="Download").click()
    download = download_info.value
    assert download.suggested_filename == "onboarder-central-role.yaml"
    path = download.path()
    assert path is not None
    with open(path, encoding="utf-8") as saved:
        assert saved.read() == setup["central_role"]["cloudformation_template"]

    policy = page.locator(
        'section[data-credential-type="assume_role"] '
        '.copy-block[data-filename="onboarder-assume-role-trust-policy.json"] pre'
    )
    assert json.loads(policy.inner_text()) == setup["trust_policy"]

    # The management account's id fills in the child template's default.
    central.get_by_label("Management account id").fill("111122223333")
    central.get_by_role("button", name="Fill In").click()
    child = page.locator('.copy-block[data-filename="onboarder-child-role-stackset.yaml"] pre')
    expect(child).to_contain_text("Default: '111122223333'")


def test_copy_selects_the_text_when_the_clipboard_is_refused(
    page: Page, console_demo: Demo
) -> None:
    page.add_init_script(
        "navigator.clipboard.writeText = () => Promise.reject(new DOMException('no', "
        "'NotAllowedError'));"
    )
    page.goto(f"{console_demo.base_url}/#/setup")
    block = page.locator('.copy-block[data-filename="onboarder-central-role.yaml"]')
    block.get_by_role("button", name="Copy").click()
    expect(block.locator(".copy-status")).to_contain_text("Selected")
    selected = page.evaluate("window.getSelection().toString()")
    # A selection's text leaves out the template's final line break.
    assert selected.rstrip("\n") == block.locator("pre").inner_text().rstrip("\n")
    assert "APIsecCentralRole" in selected


def test_setup_without_a_platform_identity_says_what_to_configure(
    page: Page, console_demo: Demo
) -> None:
    setup = console_demo.request("GET", "/aws/setup").json()
    problem = {
        "type": "about:blank",
        "title": "Platform identity unavailable",
        "status": 503,
        "code": "platform_identity_unavailable",
        "detail": "The service could not determine its own AWS identity: no AWS credentials.",
        "hint": "Configure AWS credentials for the service, or set "
        "ONBOARDER_PLATFORM_PRINCIPAL_ARN.",
        "external_id": setup["external_id"],
        "read_only_policy": setup["read_only_policy"],
        "instructions": {"aws_user": setup["instructions"]["aws_user"]},
    }
    page.route(
        "**/api/v1/aws/setup*",
        lambda route: route.fulfill(
            status=503, content_type="application/problem+json", body=json.dumps(problem)
        ),
    )
    page.goto(f"{console_demo.base_url}/#/setup")
    warning = page.locator(".alert-warn")
    expect(warning).to_contain_text("no AWS identity of its own")
    expect(warning).to_contain_text("ONBOARDER_PLATFORM_PRINCIPAL_ARN")
    expect(warning).to_contain_text("AWS_ACCESS_KEY_ID")
    # The IAM-user way needs no platform identity: still shown, with its policy.
    user = page.locator('section[data-credential-type="aws_user"]')
    expect(user.locator("pre")).to_contain_text("apigateway:GET")
    expect(page.locator('[data-value="external_id"] code')).to_have_text(setup["external_id"])
    expect(page.locator('section[data-credential-type="central_role"]')).to_have_count(0)


def test_setup_fits_a_phone(phone_page: Page, console_demo: Demo) -> None:
    phone_page.goto(f"{console_demo.base_url}/#/setup")
    expect(phone_page.locator(".copy-block pre").first).to_be_visible()
    assert_fits(phone_page)


# -------------------------------------------------------------------------------------- runs


def _new_api(apigw: Any, name: str, tags: dict[str, str], *, deployed: bool = True) -> str:
    return new_rest_api(apigw, name, tags=tags, stages=("prod",) if deployed else ())


@pytest.fixture(scope="module")
def finished_run(console_demo: Demo) -> dict[str, Any]:
    """A finished run of this module's own connection: one API onboarded, one skipped (no stage)."""
    marker = uuid.uuid4().hex[:8]
    connection_id, accounts = organization_connection(console_demo, f"runs {marker}")
    sandbox = accounts["data-sandbox"]
    apigw = demo_aws(console_demo, "apigateway", sandbox)
    onboarded = f"run-page-{marker}"
    undeployed = f"run-page-nostage-{marker}"
    _new_api(apigw, onboarded, {"runpage": marker})
    _new_api(apigw, undeployed, {"runpage": marker}, deployed=False)
    path = f"/connections/{connection_id}/auto-onboard"
    put = console_demo.request(
        "PUT",
        path,
        json={
            "frequency": "daily",
            "hour": 3,
            "minute": 0,
            "timezone": "UTC",
            "regions": ["us-east-1"],
            "accounts": {"include": [sandbox]},
            "tags": {"include": {"runpage": marker}},
        },
    )
    assert put.status_code == 200, put.text
    queued = console_demo.request("POST", f"{path}/runs")
    assert queued.status_code == 202, queued.text
    run: dict[str, Any] = queued.json()
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while run["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, run
        time.sleep(0.5)
        run = console_demo.request("GET", f"{path}/runs/{run['id']}").json()
    assert run["status"] == "succeeded", run
    assert run["onboarded"] == 1, run
    connection = console_demo.request("GET", f"/connections/{connection_id}").json()
    return {
        "connection": connection,
        "run": run,
        "sandbox": sandbox,
        "onboarded": onboarded,
        "undeployed": undeployed,
        "path": path,
    }


def test_the_run_page_shows_results_skips_and_the_applications(
    page: Page, console_demo: Demo, finished_run: dict[str, Any]
) -> None:
    run, connection = finished_run["run"], finished_run["connection"]
    page.goto(f"{console_demo.base_url}/#/integrations/{connection['id']}/runs/{run['id']}")
    expect(page.get_by_role("heading", name="Auto-Onboard Run", level=1)).to_be_visible()
    expect(page.locator(".run-status")).to_have_attribute("data-status", "succeeded")
    expect(page.locator(".run-status")).to_have_text("Succeeded")
    expect(page.locator('[data-fact="trigger"] dd')).to_have_text("Run Now (manual)")
    expect(page.locator('[data-fact="finished_at"] time')).to_have_attribute(
        "datetime", re.compile(r"^\d{4}-")
    )
    expect(page.locator('[data-counter="onboarded"] .metric-value')).to_have_text("1")
    expect(page.locator('[data-counter="skipped_no_stage"] .metric-value')).to_have_text("1")

    # Per account and region, with the account's name once the organization is listed.
    result = page.locator(
        f'table.run-results tr[data-account="{finished_run["sandbox"]}"][data-region="us-east-1"]'
    )
    expect(result.locator('td[data-label="Status"]')).to_have_text("OK")
    expect(result.locator('td[data-label="Onboarded"]')).to_have_text("1")
    expect(result.locator('td[data-label="Account"]')).to_contain_text("data-sandbox")

    skipped = page.locator("table.run-skipped tbody tr").filter(has_text=finished_run["undeployed"])
    expect(skipped.locator('td[data-label="Why"]')).to_contain_text("no deployed stage")

    link = page.locator(".run-applications a").filter(has_text=finished_run["onboarded"])
    [application_id] = run["application_ids"]
    expect(link).to_have_attribute("href", f"#/applications/{application_id}")
    screenshot(page, "A1-run-page")
    link.click()
    expect(page).to_have_url(re.compile(rf"#/applications/{application_id}$"))
    expect(page.get_by_role("heading", name=finished_run["onboarded"], level=1)).to_be_visible()


def test_the_run_page_fits_a_phone(
    phone_page: Page, console_demo: Demo, finished_run: dict[str, Any]
) -> None:
    run, connection = finished_run["run"], finished_run["connection"]
    phone_page.goto(f"{console_demo.base_url}/#/integrations/{connection['id']}/runs/{run['id']}")
    expect(phone_page.locator(".run-applications a")).to_be_visible()
    expect(phone_page.locator("table.run-skipped")).to_be_visible()
    assert_fits(phone_page)


def test_the_run_history_stays_after_disable_schedule(
    page: Page, console_demo: Demo, finished_run: dict[str, Any]
) -> None:
    run, connection = finished_run["run"], finished_run["connection"]
    page.goto(f"{console_demo.base_url}/#/integrations")
    card = page.locator(f'article[data-connection-id="{connection["id"]}"]')
    panel = card.locator("section.auto-onboard")
    row = panel.locator(f'table.runs tr[data-run-id="{run["id"]}"]')
    expect(row).to_be_visible()
    panel.get_by_role("button", name="Disable Schedule").click()
    page.get_by_role("dialog", name="Disable the schedule?").get_by_role(
        "button", name="Disable Schedule"
    ).click()
    expect(panel.locator(".badge").first).to_have_text("Off")
    assert console_demo.request("GET", finished_run["path"]).status_code == 404
    # The history is still there, and each run leads to its page.
    expect(row).to_be_visible()
    expect(panel.get_by_role("button", name="Enable Auto-Onboard")).to_be_visible()
    page.reload()
    row = panel.locator(f'table.runs tr[data-run-id="{run["id"]}"]')
    expect(row).to_be_visible()
    row.locator("a.run-link").click()
    expect(page).to_have_url(re.compile(rf"#/integrations/{connection['id']}/runs/{run['id']}$"))
    expect(page.get_by_role("heading", name="Auto-Onboard Run", level=1)).to_be_visible()


# -------------------------------------------------------------------------------------- docs


def test_the_api_docs_render_with_no_internet(page: Page, console_demo: Demo) -> None:
    own_host = urlsplit(console_demo.base_url).netloc
    blocked: list[str] = []

    def only_the_demo(route: Route) -> None:
        if urlsplit(route.request.url).netloc == own_host:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_demo)
    page.goto(f"{console_demo.base_url}/docs")
    expect(page).to_have_url(f"{console_demo.base_url}/api/v1/docs")
    operation = page.locator(".opblock").filter(
        has=page.locator('[data-path="/api/v1/connections"]')
    )
    expect(operation.first).to_be_visible()
    expect(page.locator(".information-container .title")).to_contain_text("Onboarder")
    screenshot(page, "A2-api-docs")
    assert not blocked, blocked

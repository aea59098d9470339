"""The Real-time updates panel of a connection's card (Integrations): turned on with its token
shown once, rotated and turned off after a confirmation, AWS's events and dropped triggers shown,
the AWS side's templates downloaded, a failed call's problem, and the panel at a phone's width,
a tablet's and a wide screen's.

Each test makes connections of its own. Events go to the demo's ingest endpoint as EventBridge
sends them; the demo's worker waits out its debounce window (15 s) before it syncs them, so
they are still pending while a test looks. Dropped triggers are written into the demo's own
database, as its worker writes them, rather than waited for."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from app.core.db import Database
from app.models import Connection, IngestTrigger
from app.models.base import utcnow
from tests.demo.running import Demo
from tests.ingest.conftest import TOKEN_HEADER, deployment_event
from tests.web.conftest import HAS_PLAYWRIGHT, SCREENSHOTS, assert_fits, screenshot

if TYPE_CHECKING or HAS_PLAYWRIGHT:
    from playwright.sync_api import Locator, Page, expect

REGION = "us-east-1"
# A phone; the narrowest width at which the recent triggers are a table rather than cards; a
# wide screen.
WIDTHS = (390, 780, 1440)


@pytest.fixture(scope="module")
def demo_database(console_demo: Demo) -> Iterator[Database]:
    """The demo's own SQLite database (its banner names the directory)."""
    found = re.search(r"data directory:\s+(\S+)", console_demo.banner)
    assert found, console_demo.banner
    database = Database(f"sqlite:///{Path(found.group(1)) / 'onboarder.db'}")
    yield database
    database.dispose()


def _connection(demo: Demo, kind: str = "assume_role") -> dict[str, Any]:
    role = {"role_arn": demo.assume_role_arn}
    if kind == "central_role":
        role = {"central_role_arn": demo.central_role_arn}
    response = demo.request(
        "POST",
        "/connections",
        json={"name": f"realtime {uuid.uuid4().hex[:6]}", "credential_type": kind, **role},
    )
    assert response.status_code == 201, response.text
    connection: dict[str, Any] = response.json()
    return connection


def _account(demo: Demo) -> str:
    """The account of the demo's assume_role role (what such a connection reaches)."""
    return demo.assume_role_arn.split(":")[4]


def _turn_on(demo: Demo, connection_id: str) -> str:
    response = demo.request("POST", f"/connections/{connection_id}/ingest-token")
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


def _send(demo: Demo, connection_id: str, token: str, api_id: str = "a1b2c3d4e5") -> int:
    """What AWS's EventBridge API destination does: one API Gateway deployment, posted."""
    response = httpx.post(
        f"{demo.base_url}/api/v1/aws/events/{connection_id}",
        json=deployment_event(_account(demo), REGION, api_id),
        headers={TOKEN_HEADER: token},
        timeout=30,
    )
    return response.status_code


def _panel(page: Page, demo: Demo, connection: dict[str, Any]) -> Locator:
    """The connection's Real-time updates panel, loaded (the Integrations page opened again)."""
    url = f"{demo.base_url}/#/integrations"
    if page.url == url:
        page.reload()
    else:
        page.goto(url)
    card = page.locator(f'article[data-connection-id="{connection["id"]}"]')
    panel = card.get_by_role("region", name="Real-time updates")
    expect(panel.locator(".realtime-state .badge")).to_be_visible()
    return panel


def _fact(panel: Locator, key: str) -> Locator:
    return panel.locator(f'.realtime-facts [data-fact="{key}"] dd')


def _token_kept_nowhere(page: Page, token: str, requested: list[str]) -> None:
    """Not in either storage, the address, any request's URL or the page's markup."""
    stored = page.evaluate("JSON.stringify([{...localStorage}, {...sessionStorage}])")
    assert token not in stored
    assert token not in page.url
    assert not [url for url in requested if token in url]
    assert token not in page.content()


# ------------------------------------------------------------------------------------ on


def test_turning_on_shows_the_token_once_and_the_ingest_url(page: Page, console_demo: Demo) -> None:
    connection = _connection(console_demo)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=console_demo.base_url
    )
    panel = _panel(page, console_demo, connection)
    ingest_url = f"{console_demo.base_url}/api/v1/aws/events/{connection['id']}"
    expect(panel.locator(".realtime-state")).to_have_text("Off")
    expect(panel.locator(".realtime-summary")).to_contain_text("Off: changes in AWS are found")
    expect(_fact(panel, "ingest_url").locator("code")).to_have_text(ingest_url)
    expect(_fact(panel, "token_header")).to_have_text("X-Onboarder-Ingest-Token")
    expect(panel.get_by_role("button", name="Rotate Token")).to_have_count(0)

    with page.expect_response(lambda r: r.url.endswith("/ingest-token")) as answer:
        panel.get_by_role("button", name="Turn On").click()
    assert answer.value.status == 201
    token = answer.value.json()["token"]

    shown = panel.get_by_role("region", name="Ingest token")
    expect(shown.get_by_role("textbox")).to_have_value(token)
    expect(shown.get_by_role("textbox")).to_be_focused()
    expect(shown).to_contain_text("Copy it now: it will not be shown again.")
    expect(shown).to_contain_text("IngestToken parameter when you deploy the AWS side")
    expect(shown).to_contain_text(ingest_url)
    shown.get_by_role("button", name="Copy").click()
    expect(shown.get_by_role("status")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == token

    expect(panel.locator(".realtime-state")).to_have_text("On")
    expect(_fact(panel, "last_event")).to_have_text("No event received yet")
    expect(_fact(panel, "events_24h")).to_have_text("0")
    expect(_fact(panel, "pending")).to_have_text("0")
    expect(panel.locator(".realtime-recent-empty")).to_contain_text("No trigger yet")
    expect(_fact(panel, "ingest_url").locator("code")).to_have_text(ingest_url)
    _fact(panel, "ingest_url").get_by_role("button", name="Copy ingest URL").click()
    assert page.evaluate("navigator.clipboard.readText()") == ingest_url
    expect(panel.get_by_role("button", name="Turn On")).to_have_count(0)
    _token_kept_nowhere(page, token, requested)
    screenshot(page, "R0-realtime-turned-on")

    # Gone once the page is left and come back to, and after a reload: the status remains.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Applications").click()
    expect(page.get_by_role("heading", name="Applications", level=1)).to_be_visible()
    page.go_back()
    card = page.locator(f'article[data-connection-id="{connection["id"]}"]')
    expect(card.locator(".realtime-state")).to_have_text("On")
    expect(card.get_by_role("region", name="Ingest token")).to_have_count(0)
    panel = _panel(page, console_demo, connection)
    expect(panel.locator(".realtime-state")).to_have_text("On")
    expect(panel.locator(".realtime-summary")).to_contain_text("On: AWS's events")
    expect(panel.get_by_role("region", name="Ingest token")).to_have_count(0)
    expect(panel.get_by_role("button", name="Rotate Token")).to_be_visible()
    values = page.evaluate("[...document.querySelectorAll('input')].map((input) => input.value)")
    assert token not in values
    _token_kept_nowhere(page, token, requested)
    # It was the real one.
    assert _send(console_demo, connection["id"], token) == 202


# ------------------------------------------------------------------------------------ rotate


def test_rotating_asks_first_and_then_only_the_new_token_works(
    page: Page, console_demo: Demo
) -> None:
    connection = _connection(console_demo)
    old = _turn_on(console_demo, connection["id"])
    panel = _panel(page, console_demo, connection)
    expect(panel.locator(".realtime-state")).to_have_text("On")

    panel.get_by_role("button", name="Rotate Token").click()
    dialog = page.get_by_role("dialog", name="Rotate the ingest token?")
    expect(dialog).to_contain_text("The current token stops working at once")
    expect(dialog).to_contain_text("IngestToken parameter of the AWS stack")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    screenshot(page, "R1-realtime-rotate-confirm")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(panel.get_by_role("region", name="New ingest token")).to_have_count(0)
    assert _send(console_demo, connection["id"], old) == 202

    panel.get_by_role("button", name="Rotate Token").click()
    with page.expect_response(lambda r: r.url.endswith("/ingest-token")) as answer:
        dialog.get_by_role("button", name="Rotate Token").click()
    new = answer.value.json()["token"]
    assert new != old
    shown = panel.get_by_role("region", name="New ingest token")
    expect(shown.get_by_role("textbox")).to_have_value(new)
    expect(shown).to_contain_text("it will not be shown again")
    expect(shown).to_contain_text("The old token stopped working: update the IngestToken")
    screenshot(page, "R2-realtime-rotated")

    assert _send(console_demo, connection["id"], old) == 401
    assert _send(console_demo, connection["id"], new) == 202

    shown.get_by_role("button", name="Done, I kept it").click()
    expect(shown).to_have_count(0)
    expect(panel.get_by_role("button", name="Refresh")).to_be_focused()
    assert new not in page.content()


# ------------------------------------------------------------------------------------ events


def test_an_event_shows_as_the_last_event_and_a_recent_trigger(
    page: Page, console_demo: Demo
) -> None:
    connection = _connection(console_demo)
    token = _turn_on(console_demo, connection["id"])
    panel = _panel(page, console_demo, connection)
    expect(_fact(panel, "last_event")).to_have_text("No event received yet")

    api_id = uuid.uuid4().hex[:10]
    assert _send(console_demo, connection["id"], token, api_id) == 202
    panel.get_by_role("button", name="Refresh").click()

    expect(_fact(panel, "last_event")).to_contain_text("just now")
    # The exact moment beside it, in the browser's zone.
    expect(_fact(panel, "last_event").locator("time")).to_have_text(re.compile(r"\(.+\d{4}.+\)"))
    expect(_fact(panel, "events_24h")).to_have_text("1")
    expect(panel.get_by_role("button", name="Refresh")).to_be_focused()
    expect(_fact(panel, "pending")).to_have_text("1")
    table = panel.get_by_role("table", name=f"Recent triggers of {connection['name']}")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row.locator('td[data-label="Event"]')).to_have_text("CreateDeployment")
    expect(row.locator('td[data-label="Account / region"]')).to_have_text(
        f"{_account(console_demo)} / {REGION}"
    )
    expect(row.locator('td[data-label="Target"]')).to_have_text(f"API {api_id}")
    expect(row.locator('td[data-label="Result"]')).to_have_text("Pending")
    expect(row.locator('td[data-label="Reason"]')).to_have_text("—")
    screenshot(page, "R3-realtime-event")

    # More than a few: the newest first, the rest behind "Show all".
    for index in range(6):
        assert _send(console_demo, connection["id"], token, f"api{index:07d}") == 202
    panel.get_by_role("button", name="Refresh").click()
    expect(_fact(panel, "events_24h")).to_have_text("7")
    expect(rows).to_have_count(5)
    panel.get_by_role("button", name="Show all 7").click()
    expect(rows).to_have_count(7)
    expect(panel.get_by_role("button", name="Show fewer")).to_be_focused()


def _dropped(
    database: Database, connection_id: str, code: str, reason: str, *, status: str = "dropped"
) -> None:
    """A trigger the worker dropped (or whose sync AWS refused), as the worker records it."""
    now = utcnow()
    with database.session() as session:
        owner = session.get_one(Connection, uuid.UUID(connection_id))
        session.add(
            IngestTrigger(
                tenant_id=owner.tenant_id,
                connection_id=owner.id,
                event_id=str(uuid.uuid4()),
                event_name="CreateDeployment",
                received_at=now - timedelta(minutes=5),
                account_id="111122223333",
                region=REGION,
                target="api:x9y8z7w6v5",
                status=status,
                finished_at=now - timedelta(minutes=4),
                reason_code=code,
                reason=reason,
            )
        )


def test_dropped_triggers_say_why(page: Page, console_demo: Demo, demo_database: Database) -> None:
    connection = _connection(console_demo, "central_role")
    _turn_on(console_demo, connection["id"])
    scope = "API x9y8z7w6v5 is out of the schedule's scope: its tags do not match team=payments."
    _dropped(demo_database, connection["id"], "out_of_scope", "An older reason.")
    _dropped(demo_database, connection["id"], "out_of_scope", scope)
    denied = "AWS denied apigateway:GET to the role in account 111122223333."
    _dropped(demo_database, connection["id"], "access_denied", denied, status="failed")
    panel = _panel(page, console_demo, connection)

    dropped = panel.get_by_role("list", name="Dropped in the last 24 h")
    expect(dropped.get_by_role("listitem")).to_have_count(2)
    scoped = dropped.locator('li[data-reason="out_of_scope"]')
    expect(scoped).to_contain_text("Out of the schedule's scope")
    expect(scoped).to_contain_text("2 triggers")
    expect(scoped.locator(".realtime-dropped-detail")).to_have_text(scope)
    refused = dropped.locator('li[data-reason="access_denied"]')
    expect(refused).to_contain_text("AWS denied access")
    expect(refused).to_contain_text("1 trigger")
    expect(refused.locator(".realtime-dropped-detail")).to_have_text(denied)

    rows = panel.locator("table.realtime-triggers tbody tr")
    expect(rows).to_have_count(3)
    dropped_row = panel.locator('tr[data-status="dropped"]').first
    expect(dropped_row.locator('td[data-label="Result"]')).to_have_text("Dropped")
    expect(dropped_row.locator('td[data-label="Reason"]')).to_contain_text(
        "Out of the schedule's scope"
    )
    failed_row = panel.locator('tr[data-status="failed"]')
    expect(failed_row.locator('td[data-label="Result"]')).to_have_text("Failed")
    expect(failed_row.locator('td[data-label="Reason"]')).to_contain_text(denied)
    screenshot(page, "R4-realtime-dropped")


# ------------------------------------------------------------------------------------ AWS side


def _download(page: Page, block: Locator) -> tuple[str, str]:
    with page.expect_download() as download_info:
        block.get_by_role("button", name=re.compile("^Download")).click()
    download = download_info.value
    path = download.path()
    assert path is not None
    return download.suggested_filename, Path(path).read_text(encoding="utf-8")


def test_the_aws_setup_offers_the_templates_to_download(page: Page, console_demo: Demo) -> None:
    organization = _connection(console_demo, "central_role")
    setup = console_demo.request("GET", f"/connections/{organization['id']}/ingest/setup").json()
    assert setup["template_kind"] == "stackset"
    panel = _panel(page, console_demo, organization)
    toggle = panel.get_by_role("button", name="Set Up AWS")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    section = panel.get_by_role("region", name="Set up AWS")
    steps = section.locator("ol.realtime-steps li")
    expect(steps).to_have_count(len(setup["instructions"]))
    expect(steps).to_have_text(setup["instructions"])
    regions = section.locator('[data-fact="regions"] li')
    expect(regions).to_have_text(setup["regions"])
    expect(section).to_contain_text("X-Onboarder-Ingest-Token header")
    screenshot(page, "R5-realtime-setup-stackset")

    organization_template = section.locator(
        '.copy-block[data-filename="onboarder-events-org.yaml"]'
    )
    assert _download(page, organization_template) == (
        "onboarder-events-org.yaml",
        setup["cloudformation_template"],
    )
    account_template = section.locator('.copy-block[data-filename="onboarder-events.yaml"]')
    assert _download(page, account_template) == (
        "onboarder-events.yaml",
        setup["account_template"],
    )
    toggle.click()
    expect(section).to_be_hidden()

    # One account: one stack per region, one template.
    single = _connection(console_demo)
    setup = console_demo.request("GET", f"/connections/{single['id']}/ingest/setup").json()
    panel = _panel(page, console_demo, single)
    panel.get_by_role("button", name="Set Up AWS").click()
    section = panel.get_by_role("region", name="Set up AWS")
    expect(section.locator(".copy-block")).to_have_count(1)
    expect(section.locator("ol.realtime-steps li")).to_have_count(len(setup["instructions"]))
    assert _download(page, section.locator(".copy-block")) == (
        "onboarder-events.yaml",
        setup["cloudformation_template"],
    )


# ------------------------------------------------------------------------------------ off


def test_turning_off_asks_first_and_then_shows_off(page: Page, console_demo: Demo) -> None:
    connection = _connection(console_demo)
    token = _turn_on(console_demo, connection["id"])
    panel = _panel(page, console_demo, connection)

    panel.get_by_role("button", name="Turn Off").click()
    dialog = page.get_by_role("dialog", name="Turn off real-time updates?")
    expect(dialog).to_contain_text("The ingest token stops working at once")
    expect(dialog).to_contain_text("scheduled discovery only")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(panel.locator(".realtime-state")).to_have_text("On")
    assert _send(console_demo, connection["id"], token) == 202

    panel.get_by_role("button", name="Turn Off").click()
    dialog.get_by_role("button", name="Turn Off").click()
    expect(panel.locator(".realtime-state")).to_have_text("Off")
    expect(
        panel.get_by_role("status").filter(has_text="Real-time updates turned off")
    ).to_be_visible()
    expect(panel.get_by_role("button", name="Turn On")).to_be_focused()
    expect(_fact(panel, "events_24h")).to_have_count(0)
    # The event received while it was on stays listed.
    expect(panel.locator("table.realtime-triggers tbody tr")).to_have_count(1)
    assert _send(console_demo, connection["id"], token) == 401
    screenshot(page, "R6-realtime-off")


def test_a_failed_call_shows_the_service_s_problem(page: Page, console_demo: Demo) -> None:
    connection = _connection(console_demo)
    _turn_on(console_demo, connection["id"])
    panel = _panel(page, console_demo, connection)
    # Turned off elsewhere (another tab, the API) while this page still says On.
    assert (
        console_demo.request("DELETE", f"/connections/{connection['id']}/ingest-token").status_code
        == 204
    )

    panel.get_by_role("button", name="Turn Off").click()
    page.get_by_role("dialog").get_by_role("button", name="Turn Off").click()
    problem = panel.get_by_role("alert")
    expect(problem).to_contain_text("Real-time updates could not be turned off")
    expect(problem).to_contain_text("Real-time updates are not on for this connection")
    expect(problem).to_contain_text("What to do:")
    expect(problem).to_contain_text("code not_found")
    # The panel read the status again: it says what is true now.
    expect(panel.locator(".realtime-state")).to_have_text("Off")
    screenshot(page, "R7-realtime-problem")


# ------------------------------------------------------------------------------------ layout


@pytest.mark.parametrize("width", WIDTHS, ids=[f"{width}px" for width in WIDTHS])
def test_the_panel_fits_narrow_and_wide(
    page: Page, console_demo: Demo, demo_database: Database, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    connection = _connection(console_demo, "central_role")
    token = _turn_on(console_demo, connection["id"])
    assert _send(console_demo, connection["id"], token) == 202
    detail = "API x9y8z7w6v5 is out of the schedule's scope: its tags do not match team=payments."
    _dropped(demo_database, connection["id"], "out_of_scope", detail)
    panel = _panel(page, console_demo, connection)
    # Everything the panel can show at once: the token, the status, the AWS side.
    panel.get_by_role("button", name="Rotate Token").click()
    page.get_by_role("dialog").get_by_role("button", name="Rotate Token").click()
    expect(panel.get_by_role("region", name="New ingest token")).to_be_visible()
    panel.get_by_role("button", name="Set Up AWS").click()
    expect(panel.locator(".copy-block")).to_have_count(2)
    expect(panel.locator("table.realtime-triggers tbody tr")).to_have_count(2)

    panel.scroll_into_view_if_needed()
    assert_fits(page)
    for part in (
        panel,
        panel.get_by_role("region", name="New ingest token"),
        panel.locator("table.realtime-triggers"),
        panel.get_by_role("list", name="Dropped in the last 24 h"),
        _fact(panel, "ingest_url"),
        panel.locator(".realtime-actions"),
    ):
        box = part.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= width, part
    # Nothing inside the panel scrolls sideways either (a text field and the templates' code
    # blocks may: that is how they show a long line).
    overflowing = panel.evaluate(
        """(node) => [...node.querySelectorAll('*')]
            .filter((el) => !el.closest('pre, input') && el.scrollWidth > el.clientWidth + 1
                && getComputedStyle(el).overflowX !== 'visible')
            .map((el) => el.outerHTML.slice(0, 80))"""
    )
    assert overflowing == []
    name = f"R8-realtime-{width}"
    panel.screenshot(path=str(SCREENSHOTS / f"{name}-panel.png"), animations="disabled")
    screenshot(page, name)

"""The Integrations page: a connection edited (name, session name, child role name, a rotated
access key), a name clash shown at the field, a connection deleted after a confirmation, a
connection created after a successful test stored as tested, and the edit form on a phone.

Each test makes connections of its own; the one deleted has an application of its own, in
data-sandbox and ap-southeast-2 (where no other connection of the demo reaches)."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from tests.demo.running import Demo
from tests.web.conftest import (
    HAS_PLAYWRIGHT,
    PHONE,
    SCREENSHOTS,
    assert_fits,
    demo_aws,
    new_rest_api,
    organization_connection,
    screenshot,
)

if TYPE_CHECKING or HAS_PLAYWRIGHT:
    from playwright.sync_api import Locator, Page, Request, expect

REGION = "ap-southeast-2"
ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def _unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


def _create(demo: Demo, **fields: Any) -> dict[str, Any]:
    response = demo.request("POST", "/connections", json={"name": _unique("conn"), **fields})
    assert response.status_code == 201, response.text
    connection: dict[str, Any] = response.json()
    return connection


def _read(demo: Demo, connection_id: str) -> dict[str, Any]:
    response = demo.request("GET", f"/connections/{connection_id}")
    assert response.status_code == 200, response.text
    connection: dict[str, Any] = response.json()
    return connection


def _card(page: Page, demo: Demo, connection: dict[str, Any]) -> Locator:
    url = f"{demo.base_url}/#/integrations"
    if page.url == url:
        page.reload()  # the same address again would not load the list again
    else:
        page.goto(url)
    card = page.locator(f'article[data-connection-id="{connection["id"]}"]')
    expect(card.get_by_role("heading", name=connection["name"], exact=True)).to_be_visible()
    return card


# ------------------------------------------------------------------------------------ edit


def test_a_connection_s_name_and_session_name_are_edited(page: Page, console_demo: Demo) -> None:
    connection = _create(
        console_demo, credential_type="assume_role", role_arn=console_demo.assume_role_arn
    )
    card = _card(page, console_demo, connection)
    expect(card.locator('[data-fact="session_name"]')).to_have_text("APIsec-Onboarder (default)")
    card.get_by_role("button", name="Edit", exact=True).click()

    form = card.locator("form.connection-edit")
    name = form.get_by_label("Connection name")
    expect(name).to_be_focused()
    expect(name).to_have_value(connection["name"])
    # An assume_role connection has no child role and no key to rotate.
    expect(form.get_by_label("Child role name")).to_have_count(0)
    expect(form.get_by_label("New access key id")).to_have_count(0)
    # While the form is open the card's own actions step aside.
    expect(card.get_by_role("button", name="Delete Connection")).to_be_hidden()
    renamed = _unique("Shop production")
    name.fill(renamed)
    form.get_by_label("Session name").fill("console-edit@shop")
    screenshot(page, "90-connection-edit")
    form.get_by_role("button", name="Save Changes").click()

    expect(form).to_have_count(0)
    expect(card.get_by_role("heading", name=renamed, exact=True)).to_be_visible()
    expect(card.locator('[data-fact="session_name"]')).to_have_text("console-edit@shop")
    saved = card.get_by_role("status").filter(has_text="Changes saved")
    expect(saved).to_contain_text("Test the connection")
    # The next step is offered: the card's Test button, focused.
    test_button = card.get_by_role("button", name="Test Connection")
    expect(test_button).to_be_focused()
    stored = _read(console_demo, connection["id"])
    assert stored["name"] == renamed
    assert stored["session_name"] == "console-edit@shop"
    screenshot(page, "91-connection-edited")

    test_button.click()
    expect(card.locator(".test-result")).to_contain_text("Connection works")
    expect(card.locator(".connection-status .badge")).to_have_text("Connected")
    assert _read(console_demo, connection["id"])["status"] == "ok"

    # Emptied, the session name goes back to the default.
    card.get_by_role("button", name="Edit", exact=True).click()
    form.get_by_label("Session name").fill("")
    form.get_by_label("Session name").press("Enter")
    expect(card.locator('[data-fact="session_name"]')).to_have_text("APIsec-Onboarder (default)")
    assert _read(console_demo, connection["id"])["session_name"] is None


def test_a_child_role_name_error_is_shown_at_its_field(page: Page, console_demo: Demo) -> None:
    connection = _create(
        console_demo, credential_type="central_role", central_role_arn=console_demo.central_role_arn
    )
    card = _card(page, console_demo, connection)
    expect(card.locator('[data-fact="child_role_name"]')).to_have_text("APIsecChildRole")
    card.get_by_role("button", name="Edit", exact=True).click()
    form = card.locator("form.connection-edit")
    child = form.get_by_label("Child role name")
    expect(child).to_have_value("APIsecChildRole")
    child.fill("not a role name")
    form.get_by_role("button", name="Save Changes").click()

    # The service's 422, at the field it names.
    expect(form.locator('.field[data-field="child_role_name"] .field-error')).to_be_visible()
    expect(child).to_have_attribute("aria-invalid", "true")
    expect(child).to_be_focused()
    expect(form.get_by_role("alert")).to_contain_text("child_role_name")
    assert _read(console_demo, connection["id"])["child_role_name"] == "APIsecChildRole"

    child.fill("OnboarderReader")
    form.get_by_role("button", name="Save Changes").click()
    expect(card.locator('[data-fact="child_role_name"]')).to_have_text("OnboarderReader")
    assert _read(console_demo, connection["id"])["child_role_name"] == "OnboarderReader"

    card.get_by_role("button", name="Edit", exact=True).click()
    form.get_by_label("Child role name").fill("")
    form.get_by_role("button", name="Save Changes").click()
    expect(card.locator('[data-fact="child_role_name"]')).to_have_text("APIsecChildRole")
    assert _read(console_demo, connection["id"])["child_role_name"] == "APIsecChildRole"


def test_an_access_key_is_rotated_and_its_secret_never_shown(
    page: Page, console_demo: Demo
) -> None:
    connection = _create(
        console_demo,
        credential_type="aws_user",
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET_ACCESS_KEY,
    )
    new_key_id = f"AKIA{uuid.uuid4().hex[:16].upper()}"
    new_secret = f"{uuid.uuid4().hex}{uuid.uuid4().hex[:8]}"
    patches: list[dict[str, Any]] = []

    def record(request: Request) -> None:
        if request.method == "PATCH":
            patches.append(json.loads(request.post_data or "{}"))

    page.on("request", record)
    card = _card(page, console_demo, connection)
    expect(card.locator('[data-fact="access_key"]')).to_have_text(
        connection["access_key_id_masked"]
    )
    card.get_by_role("button", name="Edit", exact=True).click()
    form = card.locator("form.connection-edit")
    rotate = form.get_by_role("group", name="Rotate the access key")
    expect(rotate).to_contain_text(connection["access_key_id_masked"])
    expect(form.get_by_label("New secret access key")).to_have_attribute("type", "password")
    expect(form.get_by_label("Session name")).to_have_count(0)

    # A key id alone is not a key: said at the secret's field before anything is sent.
    form.get_by_label("New access key id").fill(new_key_id)
    form.get_by_role("button", name="Save Changes").click()
    expect(form.locator('.field[data-field="secret_access_key"] .field-error')).to_contain_text(
        "is required"
    )
    assert patches == []

    form.get_by_label("New secret access key").fill(new_secret)
    screenshot(page, "92-connection-rotate-key")
    form.get_by_role("button", name="Save Changes").click()
    expect(form).to_have_count(0)
    masked = f"AKIA{'*' * 12}{new_key_id[-4:]}"
    expect(card.locator('[data-fact="access_key"]')).to_have_text(masked)
    expect(card.get_by_role("status").filter(has_text="Changes saved")).to_contain_text(
        "The new access key has not been tested yet"
    )
    expect(card.get_by_role("button", name="Test Connection")).to_be_focused()
    expect(card.locator(".connection-status .badge")).to_have_text("Untested")
    assert patches == [{"access_key_id": new_key_id, "secret_access_key": new_secret}]
    stored = _read(console_demo, connection["id"])
    assert stored["access_key_id_masked"] == masked
    assert stored["status"] == "untested"
    # The secret is nowhere in the page: not in its markup, not in any field.
    assert new_secret not in page.content()
    values = page.evaluate("[...document.querySelectorAll('input')].map((input) => input.value)")
    assert new_secret not in values
    screenshot(page, "93-connection-key-rotated")

    # Opened again, the form starts empty: nothing of the secret was kept.
    card.get_by_role("button", name="Edit", exact=True).click()
    expect(form.get_by_label("New secret access key")).to_have_value("")
    expect(form.get_by_label("New access key id")).to_have_value("")
    form.get_by_role("button", name="Cancel").click()
    expect(card.get_by_role("button", name="Edit", exact=True)).to_be_focused()


def test_a_name_taken_by_another_connection_is_said_at_the_name(
    page: Page, console_demo: Demo
) -> None:
    taken = _create(
        console_demo, credential_type="assume_role", role_arn=console_demo.assume_role_arn
    )
    connection = _create(
        console_demo, credential_type="assume_role", role_arn=console_demo.assume_role_arn
    )
    card = _card(page, console_demo, connection)
    card.get_by_role("button", name="Edit", exact=True).click()
    form = card.locator("form.connection-edit")
    name = form.get_by_label("Connection name")
    name.fill(taken["name"])
    name.press("Enter")

    expect(form.locator('.field[data-field="name"] .field-error')).to_have_text(
        "is already taken by another connection"
    )
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_be_focused()
    expect(form.get_by_role("alert")).to_be_visible()
    screenshot(page, "94-connection-name-taken")
    assert _read(console_demo, connection["id"])["name"] == connection["name"]

    # Cancel leaves the card as it was.
    form.get_by_role("button", name="Cancel").click()
    expect(form).to_have_count(0)
    expect(card.get_by_role("heading", name=connection["name"], exact=True)).to_be_visible()


# ------------------------------------------------------------------------------------ delete


def _new_api(demo: Demo, account_id: str, name: str) -> str:
    """A REST API with a prod stage deployed (GET / on a mock)."""
    return new_rest_api(demo_aws(demo, "apigateway", account_id, region=REGION), name)


def _onboard(demo: Demo, connection_id: str, account_id: str, api_id: str) -> str:
    body = {
        "connection_id": connection_id,
        "account_id": account_id,
        "region": REGION,
        "api_id": api_id,
        "stages": ["prod"],
    }
    response = demo.request("POST", "/applications", json=body)
    if response.status_code == 409:  # a schedule's run took it first
        demo.request("DELETE", f"/applications/{response.json()['application_id']}")
        response = demo.request("POST", "/applications", json=body)
    assert response.status_code == 201, response.text
    application_id: str = response.json()["id"]
    return application_id


def test_a_connection_is_deleted_after_a_confirmation_and_its_application_stays(
    page: Page, console_demo: Demo
) -> None:
    connection_id, accounts = organization_connection(console_demo, "connections console delete")
    sandbox = accounts["data-sandbox"]
    # A second organization connection with an application of its own in data-sandbox.
    other_id, _ = organization_connection(console_demo, "connections console keeper")
    other_name = _read(console_demo, other_id)["name"]
    kept = f"connection-keeper-{uuid.uuid4().hex[:6]}"
    _onboard(console_demo, other_id, sandbox, _new_api(console_demo, sandbox, kept))
    api_name = f"connection-delete-{uuid.uuid4().hex[:6]}"
    application_id = _onboard(
        console_demo, connection_id, sandbox, _new_api(console_demo, sandbox, api_name)
    )
    schedule = console_demo.request(
        "PUT",
        f"/connections/{connection_id}/auto-onboard",
        json={
            "frequency": "daily",
            "hour": 3,
            "minute": 0,
            "timezone": "UTC",
            "regions": [REGION],
            "accounts": {"include": [sandbox]},
            "tags": {"include": {"connection-delete": api_name}},
        },
    )
    assert schedule.status_code == 200, schedule.text
    connection = _read(console_demo, connection_id)
    card = _card(page, console_demo, connection)

    card.get_by_role("button", name="Delete Connection").click()
    dialog = page.get_by_role("dialog", name=f"Delete {connection['name']}?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    # What goes, and what becomes of its one application.
    expect(dialog).to_contain_text("auto-onboard schedule, run history")
    expect(dialog).to_contain_text("Its application is kept")
    expect(dialog).to_contain_text("moves to another of your connections that reaches its AWS")
    expect(dialog).to_contain_text("marked orphaned")
    expect(dialog).to_contain_text("Nothing changes in AWS")
    screenshot(page, "95-connection-delete-confirm")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(card.get_by_role("button", name="Delete Connection")).to_be_focused()
    assert console_demo.request("GET", f"/connections/{connection_id}").status_code == 200

    card.get_by_role("button", name="Delete Connection").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete Connection").click()
    expect(card).to_have_count(0)
    outcome = page.locator(".connections-outcome")
    expect(outcome).to_contain_text(f"Connection {connection['name']} deleted")
    expect(outcome).to_be_focused()
    assert console_demo.request("GET", f"/connections/{connection_id}").status_code == 404
    # Another connection is known to reach data-sandbox (it onboarded an API there): the
    # application moves to it and stays active. (The orphaned case: tests/lifecycle.)
    application = console_demo.request("GET", f"/applications/{application_id}").json()
    assert application["status"] == "active"
    # Any connection known to reach the account will do (other tests' may too).
    moved_to = application["source"]["connection_id"]
    assert moved_to not in (None, connection_id)
    other_name = _read(console_demo, moved_to)["name"]
    screenshot(page, "96-connection-deleted")

    page.goto(f"{console_demo.base_url}/#/applications/{application_id}")
    source = page.get_by_role("region", name="Source")
    expect(source.get_by_role("link", name=other_name)).to_be_visible()


# ------------------------------------------------------------------------------------ create


def test_a_connection_created_after_a_green_test_is_stored_tested(
    page: Page, console_demo: Demo
) -> None:
    created: list[dict[str, Any]] = []

    def record(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/api/v1/connections"):
            created.append(json.loads(request.post_data or "{}"))

    page.on("request", record)
    page.goto(f"{console_demo.base_url}/#/integrations")
    page.get_by_role("button", name="New Connection").click()
    form = page.locator("form.connection-form")
    expect(form.get_by_role("heading", name="New Connection")).to_be_visible()
    # Test comes before Create.
    expect(form.locator(".actions button")).to_have_text(
        ["Test Connection", "Create Connection", "Cancel"]
    )
    form.get_by_label("Connection name").fill(_unique("Tested first"))
    form.get_by_label("Assume role (one account)").check()
    form.get_by_label("Role ARN", exact=True).fill(console_demo.assume_role_arn)
    form.get_by_role("button", name="Test Connection").click()
    expect(form.locator(".test-result")).to_contain_text("Connection works")
    # The name is not part of what was tested: changing it keeps the test.
    name = _unique("Tested shop")
    form.get_by_label("Connection name").fill(name)
    expect(form.locator(".test-result")).to_be_visible()
    form.get_by_role("button", name="Create Connection").click()

    expect(form).to_have_count(0)
    outcome = page.locator(".connections-outcome")
    expect(outcome).to_contain_text(f"Connection {name} created")
    expect(outcome).to_contain_text("It was tested before it was created")
    assert len(created) == 1
    assert created[0]["test_token"]
    connection = next(
        item
        for item in console_demo.request("GET", "/connections", params={"limit": 500}).json()[
            "items"
        ]
        if item["name"] == name
    )
    card = page.locator(f'article[data-connection-id="{connection["id"]}"]')
    expect(card.get_by_role("heading", name=name)).to_be_focused()
    expect(card.locator(".connection-status .badge")).to_have_text("Connected")
    expect(card.locator('[data-fact="last_tested"]')).to_contain_text("just now")
    stored = _read(console_demo, connection["id"])
    assert stored["status"] == "ok"
    assert stored["last_tested_at"] is not None
    screenshot(page, "97-connection-created-tested")

    # A credential field changed after the test: the test no longer speaks for it.
    page.get_by_role("button", name="New Connection").click()
    untested_name = _unique("Changed after test")
    form.get_by_label("Connection name").fill(untested_name)
    form.get_by_label("Assume role (one account)").check()
    form.get_by_label("Role ARN", exact=True).fill(console_demo.assume_role_arn)
    form.get_by_role("button", name="Test Connection").click()
    expect(form.locator(".test-result")).to_contain_text("Connection works")
    form.locator("details.advanced summary").locator("visible=true").click()
    form.get_by_label("Session name").locator("visible=true").fill("changed-after-test")
    expect(form.locator(".test-stale")).to_contain_text("The fields changed since the test")
    expect(form.locator(".test-result")).to_have_count(0)
    form.get_by_role("button", name="Create Connection").click()
    expect(outcome).to_contain_text(f"Connection {untested_name} created")
    expect(outcome).to_contain_text("It has not been tested yet")
    assert "test_token" not in created[1]
    untested = next(
        item
        for item in console_demo.request("GET", "/connections", params={"limit": 500}).json()[
            "items"
        ]
        if item["name"] == untested_name
    )
    assert untested["status"] == "untested"
    assert untested["last_tested_at"] is None


# ------------------------------------------------------------------------------------ phone


def test_the_edit_form_fits_a_phone(phone_page: Page, console_demo: Demo) -> None:
    page = phone_page
    for fields in (
        {"credential_type": "central_role", "central_role_arn": console_demo.central_role_arn},
        {
            "credential_type": "aws_user",
            "access_key_id": ACCESS_KEY_ID,
            "secret_access_key": SECRET_ACCESS_KEY,
        },
    ):
        connection = _create(console_demo, **fields)
        card = _card(page, console_demo, connection)
        card.scroll_into_view_if_needed()
        assert_fits(page)
        card.get_by_role("button", name="Edit", exact=True).click()
        form = card.locator("form.connection-edit")
        expect(form.get_by_role("button", name="Save Changes")).to_be_visible()
        assert_fits(page)
        box = form.get_by_label("Connection name").bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"]
        form.scroll_into_view_if_needed()
        name = f"98-phone-connection-edit-{fields['credential_type']}"
        screenshot(page, name)
        # The whole page holds every connection of the demo: the card alone, to look at.
        card.screenshot(path=str(SCREENSHOTS / f"{name}-card.png"), animations="disabled")

    # The delete confirmation fits too; Escape keeps the connection.
    form.get_by_role("button", name="Cancel").click()
    card.get_by_role("button", name="Delete Connection").click()
    dialog = page.get_by_role("dialog", name=f"Delete {connection['name']}?")
    expect(dialog).to_be_visible()
    assert_fits(page)
    box = dialog.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= PHONE["width"]
    screenshot(page, "99-phone-connection-delete-confirm")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    assert console_demo.request("GET", f"/connections/{connection['id']}").status_code == 200

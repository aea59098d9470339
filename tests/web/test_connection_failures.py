"""What the console shows when things fail: a refused key, a malformed field, a failed
connection test with each check and the hint."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from app.connections.schemas import AwsFailureRead, CheckRead, ConnectionTestRead
from app.integrations.aws.errors import CallContext, classify
from tests.demo.running import Demo
from tests.web.conftest import HAS_PLAYWRIGHT, screenshot

if TYPE_CHECKING or HAS_PLAYWRIGHT:
    from playwright.sync_api import Page, Route, expect


def test_a_wrong_api_key_is_refused_with_the_hint(anonymous_page: Page, console_demo: Demo) -> None:
    page = anonymous_page
    page.goto(f"{console_demo.base_url}/#/integrations")
    key = page.get_by_label("Tenant API key")
    key.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Paste an API key first.")
    key.fill("onb_0000000000000000_not-a-key")
    page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("That key was not accepted")
    expect(alert).to_contain_text("What to do: Send 'Authorization: Bearer <API key>'")
    screenshot(page, "20-sign-in-refused")
    # The key that works opens the page that was asked for.
    key.fill(console_demo.api_key)
    key.press("Enter")
    expect(page.get_by_role("heading", name="Integrations", level=1)).to_be_visible()


def _open_new_connection_form(page: Page, demo: Demo) -> None:
    page.goto(f"{demo.base_url}/#/integrations")
    page.get_by_role("button", name="New Connection").click()
    expect(page.get_by_label("Connection name")).to_be_focused()


def test_each_credential_type_shows_only_its_fields(page: Page, console_demo: Demo) -> None:
    _open_new_connection_form(page, console_demo)
    form = page.locator("form.connection-form")
    visible = {
        "Central role (AWS Organizations)": ["Central role ARN"],
        "Assume role (one account)": ["Role ARN"],
        "IAM user access key (one account)": ["Access key id", "Secret access key"],
    }
    every = {label for labels in visible.values() for label in labels}
    for credential_type, labels in visible.items():
        form.get_by_label(credential_type).check()
        for label in every:
            control = form.get_by_label(label, exact=True)
            if label in labels:
                expect(control).to_be_visible()
            else:
                expect(control).to_be_hidden()
    expect(form.get_by_label("Secret access key")).to_have_attribute("type", "password")
    screenshot(page, "21-new-connection-aws-user")


def test_a_malformed_field_is_shown_next_to_it_with_the_hint(
    page: Page, console_demo: Demo
) -> None:
    _open_new_connection_form(page, console_demo)
    form = page.locator("form.connection-form")
    form.get_by_label("Assume role (one account)").check()
    # Enter submits (Create Connection); empty required fields are named before any request.
    form.get_by_label("Connection name").press("Enter")
    expect(form.locator('.field[data-field="name"] .field-error')).to_have_text("is required")
    expect(form.locator('.field[data-field="role_arn"] .field-error')).to_have_text("is required")

    form.get_by_label("Connection name").fill("typo")
    form.get_by_label("Role ARN", exact=True).fill("arn:aws:iam::123:role/APIGatewayAccessRole")
    form.get_by_role("button", name="Test Connection").click()
    # The demo's own 422: the field, its message and the hint.
    error = form.locator('.field[data-field="role_arn"] .field-error')
    expect(error).to_contain_text("must be an IAM role ARN")
    expect(form.get_by_label("Role ARN", exact=True)).to_have_attribute("aria-invalid", "true")
    alert = form.get_by_role("alert")
    expect(alert).to_contain_text("Invalid input")
    expect(alert).to_contain_text("What to do: Correct the fields listed")
    screenshot(page, "22-connection-invalid-field")


def _failed_test_answer(role_arn: str, platform_principal_arn: str) -> str:
    """A failed test as the service answers it, built by the service's own error mapping.

    moto lets any principal assume any role, so the demo never fails a connection test
    itself; the browser is handed what AWS's AccessDenied on sts:AssumeRole becomes."""
    failure = classify(
        ClientError(
            {
                "Error": {
                    "Code": "AccessDenied",
                    "Message": f"User: {platform_principal_arn} is not authorized to perform: "
                    f"sts:AssumeRole on resource: {role_arn}",
                },
                "ResponseMetadata": {"HTTPStatusCode": 403},
            },
            "AssumeRole",
        ),
        CallContext(
            action="sts:AssumeRole",
            role_arn=role_arn,
            external_id_sent=True,
            principal_arn=platform_principal_arn,
        ),
    )
    answer = ConnectionTestRead(
        ok=False,
        account_id=None,
        arn=None,
        checks=[CheckRead(name="assume_role", ok=False, detail=failure.message)],
        accounts=None,
        error=AwsFailureRead.of(failure),
    )
    return answer.model_dump_json()


def test_a_failed_connection_test_shows_its_checks_and_hint(page: Page, console_demo: Demo) -> None:
    setup = console_demo.request("GET", "/aws/setup").json()
    role_arn = "arn:aws:iam::210987654321:role/APIGatewayAccessRole"
    answer = _failed_test_answer(role_arn, setup["platform_principal_arn"])
    sent: list[dict[str, object]] = []

    def fail_the_test(route: Route) -> None:
        sent.append(json.loads(route.request.post_data or "{}"))
        route.fulfill(status=200, content_type="application/json", body=answer)

    page.route("**/api/v1/connections/test", fail_the_test)
    _open_new_connection_form(page, console_demo)
    form = page.locator("form.connection-form")
    form.get_by_label("Connection name").fill(f"Shop account {uuid.uuid4().hex[:6]}")
    form.get_by_label("Assume role (one account)").check()
    form.get_by_label("Role ARN", exact=True).fill(role_arn)
    form.get_by_role("button", name="Test Connection").click()

    result = form.locator(".test-result")
    expect(result).to_contain_text("Connection test failed")
    check = result.locator('[data-check="assume_role"]')
    expect(check).to_have_class("check check-failed")
    expect(check).to_contain_text("failed")
    expect(check).to_contain_text(f"{role_arn} could not be assumed")
    alert = result.get_by_role("alert")
    expect(alert).to_contain_text(
        f"What to do: Check that {role_arn} exists, and that its trust policy allows "
        f"sts:AssumeRole to {setup['platform_principal_arn']}"
    )
    expect(alert).to_contain_text("sts:ExternalId")
    expect(alert).to_contain_text("code role_not_assumable")
    screenshot(page, "23-connection-test-failed")
    assert sent == [
        {
            "credential_type": "assume_role",
            "name": sent[0]["name"],
            "role_arn": role_arn,
        }
    ]


def test_a_central_role_the_demo_does_not_have_fails_its_test_in_the_demo(
    page: Page, console_demo: Demo
) -> None:
    # Not intercepted: the demo itself answers, and like AWS it refuses AssumeRole of a role
    # that does not exist (or does not trust the caller). The organization case
    # (organizations_not_in_use) is tested through the HTTP API in tests/connections.
    role_arn = "arn:aws:iam::210987654321:role/APIsecCentralRole"
    _open_new_connection_form(page, console_demo)
    form = page.locator("form.connection-form")
    form.get_by_label("Connection name").fill(f"Wrong account {uuid.uuid4().hex[:6]}")
    form.get_by_label("Central role (AWS Organizations)").check()
    form.get_by_label("Central role ARN", exact=True).fill(role_arn)
    form.get_by_role("button", name="Test Connection").click()

    result = form.locator(".test-result")
    expect(result).to_contain_text("Connection test failed")
    expect(result.locator('[data-check="assume_role"]')).to_have_class("check check-failed")
    alert = result.get_by_role("alert")
    expect(alert).to_contain_text("code role_not_assumable")
    expect(alert).to_contain_text("trust policy")
    # No token: a failed test cannot mark the connection as tested.
    expect(form.get_by_role("button", name="Create Connection")).to_be_visible()
    screenshot(page, "24-connection-test-role-not-assumable")

"""The Activity page (the event feed, followed while it is open) and the Webhooks page (the
endpoints, their secrets shown once, and each one's delivery log).

The demo runs the scheduler in its own process, delivery worker included: a webhook's
deliveries are attempted there within a second or two, to receivers these tests run (the
`standardwebhooks` library verifies each one). What the demo cannot produce in a test's time
(a delivery failed after a day of retries, an endpoint disabled after five days of failures)
is answered with `page.route`, in the shapes of the service's contract."""

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
    organization_connection,
    screenshot,
)
from tests.webhooks.conftest import Receiver, make_receiver, receiver  # noqa: F401 - fixtures

if TYPE_CHECKING or HAS_PLAYWRIGHT:
    from playwright.sync_api import Locator, Page, Route, expect

# The activity page asks for new events this often (activity.js POLL_MS).
POLL_MS = 5000


# ----------------------------------------------------------------------------------- set-up


@pytest.fixture(scope="module")
def organization(console_demo: Demo) -> dict[str, str]:
    """A connection of this module's own to the demo's organization, and shop-prod's id."""
    connection_id, accounts = organization_connection(console_demo, "activity")
    return {"connection_id": connection_id, "account_id": accounts["shop-prod"]}


def _deploy_open_method(apigw: Any, api_id: str, path: str) -> None:
    """What an owner does: a GET with no authorization, and stage prod deployed again."""
    root = next(
        item["id"] for item in apigw.get_resources(restApiId=api_id)["items"] if item["path"] == "/"
    )
    resource = apigw.create_resource(restApiId=api_id, parentId=root, pathPart=path)["id"]
    apigw.put_method(
        restApiId=api_id, resourceId=resource, httpMethod="GET", authorizationType="NONE"
    )
    apigw.put_integration(restApiId=api_id, resourceId=resource, httpMethod="GET", type="MOCK")
    apigw.create_deployment(restApiId=api_id, stageName="prod")


def _onboard_new_api(demo: Demo, organization: dict[str, str]) -> tuple[dict[str, Any], str]:
    """A REST API made in AWS for this test, onboarded: the application and the API's id."""
    apigw = demo_aws(demo, "apigateway", organization["account_id"])
    name = f"activity-{uuid.uuid4().hex[:6]}"
    api_id = apigw.create_rest_api(name=name, endpointConfiguration={"types": ["REGIONAL"]})["id"]
    _deploy_open_method(apigw, api_id, "ping")
    created = demo.request(
        "POST",
        "/applications",
        json={
            "connection_id": organization["connection_id"],
            "account_id": organization["account_id"],
            "region": "us-east-1",
            "api_id": api_id,
            "stages": ["prod"],
        },
    )
    assert created.status_code == 201, created.text
    application: dict[str, Any] = created.json()
    return application, api_id


@pytest.fixture(autouse=True)
def _remove_new_webhooks(console_demo: Demo) -> Iterator[None]:
    """The webhooks a test adds are deleted after it: the demo's worker would otherwise go on
    posting to receivers that are gone."""

    def ids() -> set[str]:
        return {w["id"] for w in console_demo.request("GET", "/webhooks").json()["items"]}

    before = ids()
    yield
    for webhook_id in ids() - before:
        console_demo.request("DELETE", f"/webhooks/{webhook_id}")


def _add_webhook(demo: Demo, target: Receiver, **body: Any) -> dict[str, Any]:
    created = demo.request(
        "POST", "/webhooks", json={"url": target.url, "event_types": ["webhook.test"], **body}
    )
    assert created.status_code == 201, created.text
    webhook: dict[str, Any] = created.json()
    target.secret = webhook["secret"]
    return webhook


def _card(page: Page, webhook_id: str) -> Locator:
    return page.locator(f'article[data-webhook-id="{webhook_id}"]')


# ----------------------------------------------------------------------------------- activity


def test_the_activity_page_shows_the_feed_newest_first_and_follows_it(
    page: Page, console_demo: Demo, organization: dict[str, str]
) -> None:
    application, api_id = _onboard_new_api(console_demo, organization)
    page.clock.install()
    page.goto(f"{console_demo.base_url}/#/activity")
    nav = page.get_by_role("navigation", name="Main").get_by_role("link", name="Activity")
    expect(nav).to_have_attribute("aria-current", "page")
    events = page.get_by_role("list", name="Events").locator(":scope > li")
    link = page.locator(f'a[href="#/applications/{application["id"]}"]')
    onboarded = events.filter(has=link)
    expect(onboarded).to_have_count(1)
    expect(onboarded).to_have_attribute("data-type", "application.onboarded")
    expect(onboarded.locator(".badge").first).to_have_text("Application onboarded")
    expect(onboarded).to_contain_text("Onboarded with 1 instance URL.")
    expect(onboarded.locator("time")).to_have_attribute("datetime", re.compile(r"^\d{4}-"))
    expect(onboarded.get_by_role("link")).to_have_text(f"Open {application['name']}")
    # The newest is on top: nothing happened since this onboarding.
    expect(events.first).to_have_attribute("data-type", "application.onboarded")
    expect(events.first).to_contain_text(application["name"])
    expect(page.locator(".feed-status")).to_contain_text("Following the feed")
    screenshot(page, "70-activity")

    # While the page is open, an open route appears in AWS and a sync finds it: its events
    # come on top at the next poll, without a reload.
    page.evaluate("window.__notReloaded = true")
    shown = events.count()
    _deploy_open_method(
        demo_aws(console_demo, "apigateway", organization["account_id"]), api_id, "debug"
    )
    synced = console_demo.request("POST", f"/applications/{application['id']}/sync")
    assert synced.status_code == 200, synced.text
    page.clock.fast_forward(POLL_MS + 100)
    increased = page.locator('li[data-type="application.exposure_increased"]').filter(has=link)
    expect(increased).to_have_count(1)
    expect(increased).to_contain_text("GET /debug on stage prod is now reachable")
    expect(increased).to_have_class(re.compile(r"\bchange-warning\b"))
    expect(increased).to_contain_text("Exposure increased")
    expect(increased).to_contain_text("Warning:")
    assert (
        increased.evaluate("(node) => getComputedStyle(node).backgroundColor")
        == "rgb(253, 243, 225)"
    )
    expect(events.first).not_to_have_attribute("data-type", "application.onboarded")
    expect(events.filter(has=link)).to_have_count(3)
    assert events.count() == shown + 2
    assert page.evaluate("window.__notReloaded") is True
    # What was shown before is still there, below the new ones.
    expect(events.nth(2)).to_have_attribute("data-type", "application.onboarded")
    screenshot(page, "71-activity-new-events")

    # The type filter: in the address, sent to the service.
    filters = page.get_by_role("search", name="Filter activity")
    filters.get_by_label("Type").select_option("application.onboarded")
    with page.expect_request(lambda request: "type=application.onboarded" in request.url):
        filters.get_by_role("button", name="Apply filter").click()
    expect(page).to_have_url(f"{console_demo.base_url}/#/activity?type=application.onboarded")
    expect(events.filter(has=link)).to_have_count(1)
    for item in events.all():
        expect(item).to_have_attribute("data-type", "application.onboarded")
    page.get_by_role("link", name="Clear", exact=True).click()
    expect(increased).to_have_count(1)


def test_the_first_load_starts_at_the_end_of_the_feed_and_follows_it_from_there(
    page: Page, console_demo: Demo
) -> None:
    """A long feed: the page asks for its end (`cursor=latest`), shows the most recent, and the
    next poll asks from the cursor that came back."""
    asked: list[str | None] = []

    def event(n: int) -> dict[str, Any]:
        return {
            "id": str(uuid.UUID(int=n)),
            "type": "run.finished",
            "occurred_at": f"2026-03-01T10:{n // 60 % 60:02d}:{n % 60:02d}Z",
            "data": {"summary": f"Auto-onboard run succeeded (run {n}).", "errors": 0},
        }

    def feed(route: Route) -> None:
        cursor = re.search(r"cursor=([^&]+)", route.request.url)
        asked.append(cursor.group(1) if cursor else None)
        # The last 500 of 1010 events, then nothing new.
        items = [event(n) for n in range(510, 1010)] if asked[-1] == "latest" else []
        route.fulfill(json={"items": items, "next_cursor": "end"})

    page.route(lambda url: "/api/v1/events" in url, feed)
    page.clock.install()
    page.goto(f"{console_demo.base_url}/#/activity")
    events = page.get_by_role("list", name="Events").locator(":scope > li")
    # The most recent 200, newest first.
    expect(events).to_have_count(200)
    expect(events.first).to_contain_text("(run 1009)")
    expect(events.last).to_contain_text("(run 810)")
    assert asked[:2] == ["latest", "end"]
    page.clock.fast_forward(POLL_MS + 100)
    expect(page.locator(".feed-status")).to_contain_text("Following the feed")
    for _ in range(50):
        if len(asked) == 3:
            break
        page.wait_for_timeout(50)
    assert asked == ["latest", "end", "end"]


# ----------------------------------------------------------------------------------- webhooks


def test_a_webhook_is_added_its_secret_shown_once_and_a_test_is_delivered(
    page: Page,
    console_demo: Demo,
    receiver: Receiver,  # noqa: F811 - the fixture
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"{console_demo.base_url}/#/webhooks")
    nav = page.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks")
    expect(nav).to_have_attribute("aria-current", "page")
    page.locator(".page-head").get_by_role("button", name="Add webhook").click()
    form = page.locator("form.webhook-form")

    # An address the service refuses: its field says why.
    form.get_by_label("URL").fill("ftp://files.example.com/hooks")
    form.get_by_role("button", name="Add webhook").click()
    url_field = form.locator('.field[data-field="url"]')
    expect(url_field.locator(".field-error")).to_have_text("must be an absolute http(s) URL")
    expect(form.get_by_label("URL")).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_role("alert")).to_contain_text("The webhook could not be added")

    # "All types" by default; one type chosen instead.
    all_types = form.get_by_label("All types")
    expect(all_types).to_be_checked()
    expect(form.get_by_label("Webhook test")).to_be_hidden()
    all_types.uncheck()
    form.get_by_role("button", name="Add webhook").click()
    expect(form.locator("fieldset .field-error")).to_contain_text("choose at least one type")
    form.get_by_label("Webhook test").check()
    form.get_by_label("URL").fill(receiver.url)
    form.get_by_label("Description").fill("The test receiver")
    with page.expect_response(lambda r: r.url.endswith("/api/v1/webhooks")) as answer:
        form.get_by_role("button", name="Add webhook").click()
    created = answer.value.json()
    assert answer.value.status == 201
    assert created["event_types"] == ["webhook.test"]
    assert created["description"] == "The test receiver"

    # The secret, once, with how to use it.
    panel = page.get_by_role("region", name="Signing secret")
    secret = panel.get_by_role("textbox")
    expect(secret).to_have_value(created["secret"])
    assert created["secret"].startswith("whsec_")
    expect(panel).to_contain_text("it will not be shown again")
    expect(panel).to_contain_text("Standard Webhooks")
    expect(panel).to_contain_text("standardwebhooks")
    panel.get_by_role("button", name="Copy").click()
    expect(panel.get_by_role("status")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == created["secret"]
    card = _card(page, created["id"])
    expect(card.get_by_role("heading", level=2)).to_have_text(receiver.url)
    expect(card.locator(".badge", has_text="Enabled")).to_be_visible()
    expect(card).to_contain_text("Webhook test")
    expect(card).to_contain_text("The test receiver")
    expect(card).to_contain_text("No delivery yet")
    screenshot(page, "72-webhook-added")

    # Gone after a reload: the service never shows it again.
    page.reload()
    expect(_card(page, created["id"])).to_be_visible()
    expect(page.get_by_role("region", name="Signing secret")).to_have_count(0)
    assert created["secret"] not in page.content()

    # A test, delivered by the demo's worker and verified by the receiver with that secret.
    receiver.secret = created["secret"]
    card = _card(page, created["id"])
    with page.expect_response(lambda r: r.url.endswith("/test")) as sent:
        card.get_by_role("button", name="Send test").click()
    event_id = sent.value.json()["event_id"]
    expect(card.get_by_role("status").or_(card.locator(".alert-success"))).to_contain_text(
        "Test event sent"
    )
    row = card.locator(f'tr[data-event-id="{event_id}"]')
    expect(row).to_be_visible()
    # The log reads itself again while the delivery is due: delivered, without a click.
    expect(row).to_have_attribute("data-status", "delivered")
    expect(row.locator('td[data-label="Status"]')).to_have_text("Delivered")
    expect(row.locator('td[data-label="Event"] .badge')).to_have_text("Webhook test")
    expect(row.locator('td[data-label="Attempts"]')).to_have_text("1")
    expect(row.locator('td[data-label="Last answer"]')).to_have_text("HTTP 200")
    expect(row.locator('td[data-label="Next attempt"]')).to_have_text("—")
    expect(row.locator('td[data-label="Delivered"] time')).to_be_visible()
    expect(row.get_by_role("button", name=re.compile("^Retry"))).to_have_count(0)
    [delivered] = receiver.of_type("webhook.test")
    assert delivered.webhook_id == event_id
    assert delivered.verified, "the signature did not verify with the secret shown"
    screenshot(page, "73-webhook-delivered")

    # A new secret, once; the old one still signs for a day, so both verify.
    card.get_by_role("button", name="Rotate secret").click()
    dialog = page.get_by_role("dialog", name="Rotate the signing secret?")
    expect(dialog).to_contain_text("24 hours")
    dialog.get_by_role("button", name="Rotate secret").click()
    rotated = card.get_by_role("region", name="New signing secret")
    new_secret = rotated.get_by_role("textbox").input_value()
    assert new_secret.startswith("whsec_")
    assert new_secret != created["secret"]
    expect(rotated).to_contain_text("it will not be shown again")
    expect(rotated).to_contain_text("The old secret still signs deliveries for 24 hours")
    receiver.secret = new_secret
    card.get_by_role("button", name="Send test").click()
    expect(card.locator('tr[data-status="delivered"]')).to_have_count(2)
    assert len(receiver.of_type("webhook.test")) == 2
    assert receiver.of_type("webhook.test")[-1].verified
    rotated.get_by_role("button", name="Done, I kept it").click()
    expect(card.get_by_role("region", name="New signing secret")).to_have_count(0)


def test_a_failing_receiver_shows_its_error_and_retry_queues_the_delivery_again(
    page: Page,
    console_demo: Demo,
    receiver: Receiver,  # noqa: F811 - the fixture
) -> None:
    receiver.answers = [500]
    webhook = _add_webhook(console_demo, receiver)
    page.goto(f"{console_demo.base_url}/#/webhooks")
    card = _card(page, webhook["id"])
    with page.expect_response(lambda r: r.url.endswith("/test")) as sent:
        card.get_by_role("button", name="Send test").click()
    event_id = sent.value.json()["event_id"]
    row = card.locator(f'tr[data-event-id="{event_id}"]')
    expect(row.locator('td[data-label="Last answer"]')).to_contain_text("HTTP 500")
    expect(row.locator('td[data-label="Last answer"]')).to_contain_text("the receiver answered 500")
    # Tried again after a wait: pending, with when.
    expect(row).to_have_attribute("data-status", "pending")
    expect(row.locator('td[data-label="Next attempt"]')).to_have_text(re.compile(r"^in "))
    # The endpoint is failing since that attempt.
    expect(card.locator(".webhook-badges")).to_have_text("Enabled Failing")
    expect(card.locator(".alert-warn")).to_contain_text("Deliveries are failing")
    screenshot(page, "74-webhook-failing")

    # A day of retries later the delivery is failed (answered here: the demo's clock is real).
    base = f"{console_demo.base_url}/api/v1/webhooks/{webhook['id']}/deliveries"

    def failed(route: Route) -> None:
        body = route.fetch().json()
        for item in body["items"]:
            if item["event_id"] == event_id:
                item.update(status="failed", attempts=8, next_attempt_at=None)
        route.fulfill(json=body)

    def of_the_log(url: str) -> bool:
        return url.startswith(f"{base}?")

    page.route(of_the_log, failed)
    card.get_by_role("button", name="Refresh").click()
    expect(row).to_have_attribute("data-status", "failed")
    expect(row.locator('td[data-label="Status"]')).to_have_text("Failed")
    expect(row.locator('td[data-label="Attempts"]')).to_have_text("8")
    expect(row.locator('td[data-label="Next attempt"]')).to_have_text("—")
    screenshot(page, "75-webhook-delivery-failed")

    # The receiver is fixed; Retry queues the delivery again, and it is delivered.
    page.unroute(of_the_log, failed)
    receiver.answers = [200]
    with page.expect_response(lambda r: r.url.endswith("/retry")) as retried:
        row.get_by_role("button", name=re.compile("^Retry")).click()
    assert retried.value.status == 202
    assert retried.value.json()["status"] == "pending"
    expect(row).to_have_attribute("data-status", "delivered")
    expect(row.locator('td[data-label="Last answer"]')).to_have_text("HTTP 200")
    card.get_by_role("button", name="Refresh").click()
    expect(card.locator(".webhook-badges")).to_have_text("Enabled")
    assert receiver.received[-1].body["type"] == "webhook.test"
    assert receiver.received[-1].verified


def test_a_webhook_is_disabled_enabled_and_deleted_after_confirmation(
    page: Page,
    console_demo: Demo,
    receiver: Receiver,  # noqa: F811 - the fixture
) -> None:
    webhook = _add_webhook(console_demo, receiver, description="To delete")
    page.goto(f"{console_demo.base_url}/#/webhooks")
    card = _card(page, webhook["id"])
    expect(card.locator(".webhook-badges")).to_have_text("Enabled")

    card.get_by_role("button", name="Disable").click()
    expect(card.locator(".webhook-badges")).to_have_text("Disabled")
    expect(card).to_contain_text("Disabled by the tenant.")
    expect(card.get_by_role("button", name="Send test")).to_be_disabled()
    expect(card.get_by_role("button", name="Enable")).to_be_focused()
    assert console_demo.request("GET", f"/webhooks/{webhook['id']}").json()["enabled"] is False
    page.reload()
    expect(card.locator(".webhook-badges")).to_have_text("Disabled")
    card.get_by_role("button", name="Enable").click()
    expect(card.locator(".webhook-badges")).to_have_text("Enabled")
    expect(card.get_by_role("button", name="Send test")).to_be_enabled()
    expect(card).not_to_contain_text("Disabled by the tenant.")
    assert console_demo.request("GET", f"/webhooks/{webhook['id']}").json()["enabled"] is True

    # Cancel keeps it; confirming deletes it.
    card.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Delete this webhook?")
    expect(dialog).to_contain_text(receiver.url)
    expect(dialog).to_contain_text("Its pending deliveries are dropped")
    expect(dialog).to_contain_text("the events stay in the activity feed")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(card).to_be_visible()
    card.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete webhook").click()
    expect(card).to_have_count(0)
    assert console_demo.request("GET", f"/webhooks/{webhook['id']}").status_code == 404


def test_a_webhook_disabled_after_failing_for_days_says_why_and_since_when(
    page: Page,
    console_demo: Demo,
    receiver: Receiver,  # noqa: F811 - the fixture
) -> None:
    webhook = _add_webhook(console_demo, receiver)
    since = "2026-03-01T08:00:00Z"
    reason = f"Every delivery attempt failed for 5 days (since {since})."

    def disabled(route: Route) -> None:
        body = route.fetch().json()
        for item in body.get("items", [body]):
            if item["id"] == webhook["id"]:
                item.update(enabled=False, disabled_reason=reason, failing_since=since)
        route.fulfill(json=body)

    # The list, and the webhook as its card reads it again beside its delivery log.
    page.route(
        lambda url: "/api/v1/webhooks?" in url or url.endswith(f"/webhooks/{webhook['id']}"),
        disabled,
    )
    page.goto(f"{console_demo.base_url}/#/webhooks")
    card = _card(page, webhook["id"])
    expect(card.locator(".webhook-badges")).to_have_text("Disabled Failing")
    state = card.locator(".alert-warn")
    expect(state).to_contain_text(reason)
    expect(state.locator("time")).to_have_attribute("datetime", since)
    expect(state).to_contain_text("Failing since Mar 1, 2026")
    expect(card.get_by_role("button", name="Send test")).to_be_disabled()
    # A read still under way when the tab closes is not this test's failure.
    page.unroute_all(behavior="ignoreErrors")


def test_the_new_screens_fit_a_phone(
    phone_page: Page,
    console_demo: Demo,
    receiver: Receiver,  # noqa: F811 - the fixture
    organization: dict[str, str],
) -> None:
    page = phone_page
    _onboard_new_api(console_demo, organization)
    page.goto(f"{console_demo.base_url}/#/activity")
    expect(page.get_by_role("list", name="Events").locator(":scope > li").first).to_be_visible()
    assert_fits(page)
    screenshot(page, "76-phone-activity")

    receiver.answers = [500]
    webhook = _add_webhook(console_demo, receiver, description="A receiver on a phone")
    page.goto(f"{console_demo.base_url}/#/webhooks")
    card = _card(page, webhook["id"])
    card.get_by_role("button", name="Send test").click()
    expect(card.locator(".last-error")).to_contain_text("the receiver answered 500")
    # The delivery log turns into one card per delivery, labelled cell by cell.
    expect(card.locator("table thead")).to_be_hidden()
    assert_fits(page)
    screenshot(page, "77-phone-webhooks")

    page.locator(".page-head").get_by_role("button", name="Add webhook").click()
    form = page.locator("form.webhook-form")
    form.get_by_label("All types").uncheck()
    form.get_by_label("URL").fill(receiver.url)
    form.get_by_label("Webhook test").check()
    form.get_by_role("button", name="Add webhook").click()
    expect(page.get_by_role("region", name="Signing secret")).to_be_visible()
    assert_fits(page)
    screenshot(page, "78-phone-webhook-secret")

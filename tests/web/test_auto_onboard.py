"""The Integrations page: a connection's Auto-Onboard panel enabled, updated, run now and
disabled, each checked against the API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tests.demo.running import Demo
from tests.web.conftest import BROWSER_TIMEZONE, HAS_PLAYWRIGHT, screenshot

if TYPE_CHECKING or HAS_PLAYWRIGHT:
    from playwright.sync_api import Locator, Page, expect

RUN_TIMEOUT_MS = 60_000


def _create_connection(demo: Demo, **fields: Any) -> dict[str, Any]:
    response = demo.request(
        "POST", "/connections", json={"name": f"conn {uuid.uuid4().hex[:8]}", **fields}
    )
    assert response.status_code == 201, response.text
    connection: dict[str, Any] = response.json()
    return connection


def _panel(page: Page, connection: dict[str, Any]) -> Locator:
    card = page.locator(f'article[data-connection-id="{connection["id"]}"]')
    expect(card.get_by_role("heading", name=connection["name"])).to_be_visible()
    return card.locator("section.auto-onboard")


def test_auto_onboard_is_enabled_updated_run_and_disabled(page: Page, console_demo: Demo) -> None:
    # The demo's assume_role role lives in shop-prod: its APIs are in both demo regions.
    connection = _create_connection(
        console_demo, credential_type="assume_role", role_arn=console_demo.assume_role_arn
    )
    schedule_path = f"/connections/{connection['id']}/auto-onboard"
    page.goto(f"{console_demo.base_url}/#/integrations")
    panel = _panel(page, connection)
    expect(panel.locator(".badge")).to_have_text("Off")
    panel.get_by_role("button", name="Enable Auto-Onboard").click()

    form = panel.locator("form.schedule-form")
    expect(form.get_by_label("Weekly")).to_be_checked()
    expect(form.get_by_label("Weekly")).to_be_focused()
    expect(form.get_by_label("Time zone")).to_have_value(BROWSER_TIMEZONE)
    expect(form.get_by_label("Day of month")).to_be_hidden()
    expect(form.get_by_label("eu-west-1")).to_be_visible()
    # Regions are required for a single-account connection: said before anything is sent.
    form.get_by_role("button", name="Save Schedule").click()
    expect(form.locator("fieldset.regions .field-error")).to_have_text("choose at least one region")
    form.get_by_label("eu-west-1").check()
    form.get_by_label("Day of week").select_option("wed")
    form.get_by_label("Time", exact=True).fill("03:30")
    screenshot(page, "30-auto-onboard-form")
    form.get_by_label("Time", exact=True).press("Enter")

    expect(panel.locator(".alert-success")).to_contain_text("Auto-onboard enabled")
    expect(panel.locator(".badge").first).to_have_text("On")
    expect(panel.locator(".schedule-text")).to_have_text(
        f"Weekly on Wednesday at 03:30 ({BROWSER_TIMEZONE})"
    )
    saved = console_demo.request("GET", schedule_path).json()
    assert {key: saved[key] for key in ("frequency", "day_of_week", "hour", "minute")} == {
        "frequency": "weekly",
        "day_of_week": "wed",
        "hour": 3,
        "minute": 30,
    }
    assert saved["timezone"] == BROWSER_TIMEZONE
    assert saved["regions"] == ["eu-west-1"]
    assert saved["scope"] == "all"
    local = datetime.fromisoformat(saved["next_run_at_local"])
    assert (local.weekday(), local.hour, local.minute) == (2, 3, 30)
    # The next run in the browser's time (the same zone here): "Wed, Nov 26, 2026, 03:30 AM GMT+1".
    next_run = panel.locator(".next-run time")
    expect(next_run).to_have_attribute("datetime", saved["next_run_at"])
    expect(next_run).to_contain_text("Wed")
    expect(next_run).to_contain_text("03:30")
    screenshot(page, "31-auto-onboard-enabled")

    panel.get_by_role("button", name="Edit Schedule").click()
    form.get_by_label("Monthly").check()
    expect(form.get_by_label("Day of week")).to_be_hidden()
    form.get_by_label("Day of month").select_option("15")
    form.get_by_label("Time", exact=True).fill("23:05")
    form.get_by_label("Time zone").select_option("America/New_York")
    # eu-west-2 has no API: the run only onboards shop-prod's eu-west-1 (the other browser
    # tests pick their APIs elsewhere).
    form.get_by_label("eu-west-2").check()
    form.get_by_label("Only APIs created after a date").check()
    form.get_by_label("Created on or after").fill("2024-01-01")
    form.get_by_role("button", name="Update Schedule").click()

    expect(panel.locator(".alert-success")).to_contain_text("Schedule updated")
    expect(panel.locator(".schedule-text")).to_have_text(
        "Monthly on the 15th at 23:05 (America/New_York)"
    )
    expect(panel.locator(".next-run")).to_contain_text("in America/New_York")
    expect(panel).to_contain_text("APIs created on or after Jan 1, 2024")
    saved = console_demo.request("GET", schedule_path).json()
    assert saved["frequency"] == "monthly"
    assert saved["day_of_month"] == 15
    assert saved["day_of_week"] is None
    assert (saved["hour"], saved["minute"], saved["timezone"]) == (23, 5, "America/New_York")
    assert sorted(saved["regions"]) == ["eu-west-1", "eu-west-2"]
    assert (saved["scope"], saved["published_after"]) == ("published_after", "2024-01-01")
    screenshot(page, "32-auto-onboard-updated")

    panel.get_by_role("button", name="Run Now").click()
    expect(panel.locator(".alert").filter(has_text="Run ")).to_contain_text(
        "Discovered", timeout=RUN_TIMEOUT_MS
    )
    row = panel.locator("table.runs tbody tr").first
    expect(row).to_contain_text("Run Now")
    expect(row).to_have_attribute("data-status", "succeeded")
    runs = console_demo.request("GET", f"{schedule_path}/runs").json()["items"]
    assert runs[0]["trigger"] == "manual"
    assert runs[0]["status"] == "succeeded"
    assert runs[0]["discovered"] >= 1
    expect(row.locator('td[data-label="Discovered"]')).to_have_text(str(runs[0]["discovered"]))
    screenshot(page, "33-auto-onboard-run-history")

    # Disabling asks first; Cancel keeps the schedule.
    panel.get_by_role("button", name="Disable Schedule").click()
    dialog = page.get_by_role("dialog", name="Disable the schedule?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    screenshot(page, "34-auto-onboard-disable-confirm")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert console_demo.request("GET", schedule_path).status_code == 200

    panel.get_by_role("button", name="Disable Schedule").click()
    dialog.get_by_role("button", name="Disable Schedule").click()
    expect(panel.get_by_role("status").filter(has_text="Auto-onboard disabled")).to_be_visible()
    expect(panel.locator(".badge").first).to_have_text("Off")
    expect(panel.get_by_role("button", name="Enable Auto-Onboard")).to_be_focused()
    assert console_demo.request("GET", schedule_path).status_code == 404
    screenshot(page, "35-auto-onboard-disabled")


def test_a_central_role_schedule_may_leave_regions_to_the_organization(
    page: Page, console_demo: Demo
) -> None:
    connection = _create_connection(
        console_demo,
        credential_type="central_role",
        central_role_arn=console_demo.central_role_arn,
    )
    page.goto(f"{console_demo.base_url}/#/integrations")
    panel = _panel(page, connection)
    panel.get_by_role("button", name="Enable Auto-Onboard").click()
    form = panel.locator("form.schedule-form")
    expect(form.locator("fieldset.regions legend")).to_contain_text("(optional)")
    form.get_by_label("Daily").check()
    expect(form.get_by_label("Day of week")).to_be_hidden()
    form.get_by_label("Time", exact=True).fill("00:15")
    form.get_by_label("Time zone").select_option("UTC")
    form.get_by_role("button", name="Save Schedule").click()
    expect(panel.locator(".schedule-text")).to_have_text("Daily at 00:15 (UTC)")
    expect(panel).to_contain_text("Every enabled region of every account")
    saved = console_demo.request("GET", f"/connections/{connection['id']}/auto-onboard").json()
    assert (saved["frequency"], saved["hour"], saved["minute"]) == ("daily", 0, 15)
    # Reloading the page shows the schedule from Connection.auto_onboard.
    page.reload()
    panel = _panel(page, connection)
    expect(panel.locator(".schedule-text")).to_have_text("Daily at 00:15 (UTC)")
    console_demo.request("DELETE", f"/connections/{connection['id']}/auto-onboard")

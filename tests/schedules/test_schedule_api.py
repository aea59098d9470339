"""Saving, reading, updating and disabling a schedule, and asking for runs, over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.core.db import Database
from app.models import AutoOnboardRun, AutoOnboardSchedule, Connection
from app.schedules import service
from app.schedules.schemas import ScheduleRead, ScheduleWrite
from tests.conftest import TenantWithKey
from tests.core.test_errors import assert_problem
from tests.discovery.conftest import create_connection
from tests.schedules.conftest import (
    DAILY_US,
    auto_onboard,
    put_schedule,
    run_now,
    saved_schedule,
    utc,
)


@pytest.fixture
def role(client: TestClient, tenant: TenantWithKey) -> str:
    """An assume_role connection; nothing here talks to AWS."""
    return create_connection(
        client,
        tenant,
        name="role",
        credential_type="assume_role",
        role_arn="arn:aws:iam::123456789012:role/APIGatewayAccessRole",
    )


@pytest.fixture
def organization(client: TestClient, tenant: TenantWithKey) -> str:
    return create_connection(
        client,
        tenant,
        name="organization",
        credential_type="central_role",
        central_role_arn="arn:aws:iam::111111111111:role/APIsecCentralRole",
    )


def test_a_saved_schedule_shows_its_next_run_in_utc_and_in_its_zone(
    client: TestClient, tenant: TenantWithKey, role: str
) -> None:
    before = datetime.now().astimezone()
    body = {
        "frequency": "weekly",
        "day_of_week": "wed",
        "hour": 7,
        "minute": 15,
        "timezone": "America/Los_Angeles",
        "regions": ["us-east-1", "eu-west-1", "us-east-1"],
        "scope": "published_after",
        "published_after": "2026-01-01",
    }

    saved = saved_schedule(client, tenant, role, **body)

    assert saved["connection_id"] == role
    assert saved["regions"] == ["us-east-1", "eu-west-1"]  # duplicates dropped, order kept
    local = datetime.fromisoformat(saved["next_run_at_local"])
    at = datetime.fromisoformat(saved["next_run_at"])
    assert at.utcoffset() == timedelta(0)
    assert local == at
    assert local.strftime("%a %H:%M") == "Wed 07:15"
    assert local.utcoffset() in (timedelta(hours=-8), timedelta(hours=-7))
    assert before < at <= before + timedelta(days=7)
    assert saved["last_run"] is None
    read = client.get(auto_onboard(role), headers=tenant.headers).json()
    assert read == saved
    connection = client.get(f"/api/v1/connections/{role}", headers=tenant.headers).json()
    summary = connection["auto_onboard"]
    assert summary["next_run_at"] == saved["next_run_at"]
    assert (summary["frequency"], summary["day_of_week"], summary["timezone"]) == (
        "weekly",
        "wed",
        "America/Los_Angeles",
    )
    listed = client.get("/api/v1/connections", headers=tenant.headers).json()["items"]
    assert listed[0]["auto_onboard"] == summary


def test_update_replaces_the_schedule_and_disable_removes_it(
    client: TestClient, tenant: TenantWithKey, role: str
) -> None:
    first = saved_schedule(client, tenant, role, **DAILY_US)
    monthly = {**DAILY_US, "frequency": "monthly", "day_of_month": 28, "timezone": "Asia/Tokyo"}

    second = saved_schedule(client, tenant, role, **monthly)

    assert second["created_at"] == first["created_at"]
    assert second["updated_at"] > first["updated_at"]
    local = datetime.fromisoformat(second["next_run_at_local"])
    assert (local.day, local.hour, local.utcoffset()) == (28, 9, timedelta(hours=9))

    # What GET answers can be changed and sent back as it is.
    read = client.get(auto_onboard(role), headers=tenant.headers).json()
    third = saved_schedule(client, tenant, role, **{**read, "minute": 30})
    assert (third["frequency"], third["day_of_month"], third["minute"]) == ("monthly", 28, 30)

    assert client.delete(auto_onboard(role), headers=tenant.headers).status_code == 204
    gone = client.get(auto_onboard(role), headers=tenant.headers)
    assert "PUT /connections/{id}/auto-onboard" in assert_problem(gone, 404, "not_found")["hint"]
    assert client.delete(auto_onboard(role), headers=tenant.headers).status_code == 404
    connection = client.get(f"/api/v1/connections/{role}", headers=tenant.headers).json()
    assert connection["auto_onboard"] is None


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "IANA"),
        ({"timezone": "CEST"}, "timezone", "IANA"),
        ({"frequency": "weekly"}, "day_of_week", "required"),
        ({"frequency": "weekly", "day_of_week": "funday"}, "day_of_week", "mon"),
        ({"day_of_week": "mon"}, "day_of_week", "weekly schedules only"),
        ({"frequency": "monthly"}, "day_of_month", "required"),
        ({"frequency": "monthly", "day_of_month": 29}, "day_of_month", "28"),
        ({"frequency": "hourly"}, "frequency", "daily"),
        ({"hour": 24}, "hour", "23"),
        ({"minute": -1}, "minute", "0"),
        ({"minute": 60}, "minute", "59"),
        ({"regions": ["us-east-1", "moon-1"]}, "regions[1]", "not a region"),
        ({"regions": []}, "regions", "required for a assume_role"),
        ({"regions": None}, "regions", "required"),
        ({"scope": "published_after"}, "published_after", "required"),
        ({"scope": "published_after", "published_after": "last week"}, "published_after", "date"),
        ({"published_after": "2026-01-01"}, "published_after", "only with scope"),
        ({"scope": "some"}, "scope", "all"),
        ({"cron": "* * * * *"}, "cron", "not permitted"),
    ],
)
def test_malformed_schedules_are_a_422_naming_the_field_and_change_nothing(
    client: TestClient,
    tenant: TenantWithKey,
    role: str,
    change: dict[str, Any],
    field: str,
    words: str,
) -> None:
    saved_schedule(client, tenant, role, **DAILY_US)
    before = client.get(auto_onboard(role), headers=tenant.headers).json()

    response = put_schedule(client, tenant, role, **{**DAILY_US, **change})

    problem = assert_problem(response, 422, "validation_error")
    messages = {error["field"]: error["message"] for error in problem["errors"]}
    assert field in messages, problem
    assert words.lower() in messages[field].lower(), messages
    assert client.get(auto_onboard(role), headers=tenant.headers).json() == before


def test_a_central_role_may_leave_regions_out_meaning_every_enabled_region(
    client: TestClient, tenant: TenantWithKey, organization: str
) -> None:
    body = {key: value for key, value in DAILY_US.items() if key != "regions"}

    assert saved_schedule(client, tenant, organization, **body)["regions"] == []


@pytest.mark.parametrize(
    ("write", "now", "expected_utc", "expected_local"),
    [
        # Daily at 09:00 in Berlin, asked at 07:30 UTC (08:30 local): today at 08:00 UTC.
        (
            {"frequency": "daily", "hour": 9, "minute": 0, "timezone": "Europe/Berlin"},
            "2026-01-10 07:30",
            "2026-01-10T08:00:00+00:00",
            "2026-01-10T09:00:00+01:00",
        ),
        # Weekly, Monday 00:30 in Auckland (summer, +13): Sunday 11:30 UTC.
        (
            {
                "frequency": "weekly",
                "day_of_week": "mon",
                "hour": 0,
                "minute": 30,
                "timezone": "Pacific/Auckland",
            },
            "2026-11-21 12:00",
            "2026-11-22T11:30:00+00:00",
            "2026-11-23T00:30:00+13:00",
        ),
        # Monthly on the 1st at 18:00 in Kolkata (+05:30), asked on the 1st after it.
        (
            {
                "frequency": "monthly",
                "day_of_month": 1,
                "hour": 18,
                "minute": 0,
                "timezone": "Asia/Kolkata",
            },
            "2026-12-01 13:00",
            "2027-01-01T12:30:00+00:00",
            "2027-01-01T18:00:00+05:30",
        ),
        # Daily 02:30 in New York on the spring-forward day: the skipped time runs at 03:30.
        (
            {"frequency": "daily", "hour": 2, "minute": 30, "timezone": "America/New_York"},
            "2026-03-08 05:00",
            "2026-03-08T07:30:00+00:00",
            "2026-03-08T03:30:00-04:00",
        ),
    ],
)
def test_next_run_is_computed_in_the_schedule_zone(
    database: Database,
    make_tenant: Callable[..., TenantWithKey],
    write: dict[str, Any],
    now: str,
    expected_utc: str,
    expected_local: str,
    client: TestClient,
) -> None:
    owner = make_tenant()
    connection_id = create_connection(
        client,
        owner,
        name="org",
        credential_type="central_role",
        central_role_arn="arn:aws:iam::111111111111:role/APIsecCentralRole",
    )
    with database.session() as session:
        connection = session.get(Connection, uuid.UUID(connection_id))
        assert connection is not None
        schedule = service.save(
            session=session, connection=connection, data=ScheduleWrite(**write), now=utc(now)
        )
        read = ScheduleRead.of(schedule, None)

    assert read.next_run_at.isoformat() == expected_utc
    assert read.next_run_at_local.isoformat() == expected_local


def test_run_now_is_queued_and_a_second_one_during_it_is_a_409_naming_it(
    client: TestClient, tenant: TenantWithKey, role: str
) -> None:
    saved_schedule(client, tenant, role, **DAILY_US)

    queued = run_now(client, tenant, role)
    again = client.post(f"{auto_onboard(role)}/runs", headers=tenant.headers)

    assert (queued["status"], queued["trigger"], queued["scheduled_for"]) == (
        "queued",
        "manual",
        None,
    )
    assert queued["regions"] == DAILY_US["regions"]
    problem = assert_problem(again, 409, "run_in_progress")
    assert problem["run_id"] == queued["id"]
    assert queued["id"] in problem["hint"]
    listed = client.get(f"{auto_onboard(role)}/runs", headers=tenant.headers).json()
    assert [run["id"] for run in listed["items"]] == [queued["id"]]
    schedule = client.get(auto_onboard(role), headers=tenant.headers).json()
    assert schedule["last_run"]["id"] == queued["id"]
    summary = client.get(f"/api/v1/connections/{role}", headers=tenant.headers).json()
    assert summary["auto_onboard"]["last_run"]["status"] == "queued"


def test_a_run_whose_process_died_is_failed_and_does_not_block_the_next(
    client: TestClient, tenant: TenantWithKey, role: str, database: Database
) -> None:
    saved_schedule(client, tenant, role, **DAILY_US)
    dead = run_now(client, tenant, role)
    with database.session() as session:
        session.execute(
            update(AutoOnboardRun)
            .where(AutoOnboardRun.id == uuid.UUID(dead["id"]))
            .values(
                status="running",
                worker="gone:1",
                heartbeat_at=datetime.now().astimezone() - timedelta(hours=1),
            )
        )

    fresh = run_now(client, tenant, role)

    assert fresh["id"] != dead["id"]
    failed = client.get(f"{auto_onboard(role)}/runs/{dead['id']}", headers=tenant.headers).json()
    assert failed["status"] == "failed"
    assert [error["code"] for error in failed["errors"]] == ["run_abandoned"]
    assert failed["finished_at"] is not None
    listed = client.get(f"{auto_onboard(role)}/runs", headers=tenant.headers).json()["items"]
    assert [run["id"] for run in listed] == [fresh["id"], dead["id"]]  # newest first


def test_runs_are_listed_newest_first_in_pages(
    client: TestClient, tenant: TenantWithKey, role: str, database: Database
) -> None:
    saved_schedule(client, tenant, role, **DAILY_US)
    ids = []
    for _ in range(3):
        ids.append(run_now(client, tenant, role)["id"])
        with database.session() as session:
            session.execute(update(AutoOnboardRun).values(status="succeeded"))

    first = client.get(
        f"{auto_onboard(role)}/runs", params={"limit": 2}, headers=tenant.headers
    ).json()
    second = client.get(
        f"{auto_onboard(role)}/runs",
        params={"limit": 2, "cursor": first["next_cursor"]},
        headers=tenant.headers,
    ).json()

    assert [run["id"] for run in first["items"] + second["items"]] == ids[::-1]
    assert second["next_cursor"] is None


def test_run_now_without_a_schedule_is_a_404(
    client: TestClient, tenant: TenantWithKey, role: str
) -> None:
    response = client.post(f"{auto_onboard(role)}/runs", headers=tenant.headers)

    assert_problem(response, 404, "not_found")


def test_another_tenants_schedule_and_runs_do_not_exist(
    client: TestClient,
    tenant: TenantWithKey,
    role: str,
    make_tenant: Callable[..., TenantWithKey],
) -> None:
    saved_schedule(client, tenant, role, **DAILY_US)
    run_id = run_now(client, tenant, role)["id"]
    other = make_tenant()
    path = auto_onboard(role)

    for method, url in [
        ("GET", path),
        ("PUT", path),
        ("DELETE", path),
        ("POST", f"{path}/runs"),
        ("GET", f"{path}/runs"),
        ("GET", f"{path}/runs/{run_id}"),
    ]:
        response = client.request(
            method, url, headers=other.headers, json=DAILY_US if method == "PUT" else None
        )
        assert response.status_code == 404, (method, url, response.text)
    # And a run id of this tenant under another of its connections is no run of that one.
    second = create_connection(
        client,
        tenant,
        name="second",
        credential_type="assume_role",
        role_arn="arn:aws:iam::123456789012:role/Other",
    )
    response = client.get(f"{auto_onboard(second)}/runs/{run_id}", headers=tenant.headers)
    assert response.status_code == 404
    assert client.get(path, headers=tenant.headers).status_code == 200


def test_deleting_the_connection_takes_its_schedule_and_runs_along(
    client: TestClient, tenant: TenantWithKey, role: str, database: Database
) -> None:
    saved_schedule(client, tenant, role, **DAILY_US)
    run_now(client, tenant, role)

    assert client.delete(f"/api/v1/connections/{role}", headers=tenant.headers).status_code == 204

    with database.session() as session:
        assert session.scalars(select(AutoOnboardSchedule)).all() == []
        assert session.scalars(select(AutoOnboardRun)).all() == []

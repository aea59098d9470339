"""The scheduler with a controlled clock: each occurrence runs exactly once, whatever happens.

No test waits for a schedule's real time: the clock is moved by the test. The tests that run
a real scheduler (APScheduler polling in its own thread) wait only for its next poll.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.core.db import Database
from app.models import AutoOnboardRun, AutoOnboardSchedule, Connection
from app.schedules import runs, service
from app.schedules.runs import RunServices
from app.schedules.schemas import ScheduleWrite
from scheduler.process import Scheduler, embedded
from tests.conftest import TenantWithKey
from tests.discovery.conftest import create_connection
from tests.schedules.conftest import (
    FakeClock,
    auto_onboard,
    finish_all,
    saved_schedule,
    stored_runs,
    utc,
    wait_for,
)


@pytest.fixture
def connection_id(client: TestClient, tenant: TenantWithKey) -> uuid.UUID:
    return uuid.UUID(
        create_connection(
            client,
            tenant,
            name="org",
            credential_type="central_role",
            central_role_arn="arn:aws:iam::111111111111:role/APIsecCentralRole",
        )
    )


def save(database: Database, connection_id: uuid.UUID, now: str, **write: Any) -> None:
    with database.session() as session:
        connection = session.get(Connection, connection_id)
        assert connection is not None
        service.save(
            session=session, connection=connection, data=ScheduleWrite(**write), now=utc(now)
        )


def tick_through(
    database: Database, start: str, end: str, *, every: timedelta = timedelta(minutes=15)
) -> None:
    """A scheduler polling from `start` to `end`, whose runs end before its next poll."""
    now, stop = utc(start), utc(end)
    while now <= stop:
        runs.claim_due_occurrences(database, now=now)
        finish_all(database)
        now += every


def scheduled(database: Database) -> list[tuple[str, str | None]]:
    return [
        (run.scheduled_for.strftime("%Y-%m-%d %H:%M"), run.occurrence)
        for run in stored_runs(database)
        if run.scheduled_for is not None
    ]


# ------------------------------------------------------------------------------ DST
@pytest.mark.parametrize(
    ("timezone", "hour", "minute", "start", "end", "expected"),
    [
        # Spring forward 02:00 -> 03:00: 02:30 of the 8th does not exist and runs at 03:30 EDT.
        (
            "America/New_York",
            2,
            30,
            "2026-03-06 12:00",
            "2026-03-10 12:00",
            ["2026-03-07 07:30", "2026-03-08 07:30", "2026-03-09 06:30", "2026-03-10 06:30"],
        ),
        # Fall back 02:00 -> 01:00: 01:30 of the 1st happens twice and runs at the first.
        (
            "America/New_York",
            1,
            30,
            "2026-10-30 12:00",
            "2026-11-03 12:00",
            ["2026-10-31 05:30", "2026-11-01 05:30", "2026-11-02 06:30", "2026-11-03 06:30"],
        ),
        # Spring forward 02:00 -> 03:00 CEST on the 29th: 02:30 runs at 03:30 CEST (01:30 UTC).
        (
            "Europe/Berlin",
            2,
            30,
            "2026-03-27 12:00",
            "2026-03-31 12:00",
            ["2026-03-28 01:30", "2026-03-29 01:30", "2026-03-30 00:30", "2026-03-31 00:30"],
        ),
        # Fall back 03:00 -> 02:00 CET on the 25th: 02:30 once, at 02:30 CEST (00:30 UTC).
        (
            "Europe/Berlin",
            2,
            30,
            "2026-10-23 12:00",
            "2026-10-27 12:00",
            ["2026-10-24 00:30", "2026-10-25 00:30", "2026-10-26 01:30", "2026-10-27 01:30"],
        ),
        # Lord Howe moves by half an hour. Spring forward 02:00 -> 02:30 on 4 October: 02:15
        # does not exist and runs at 02:45 (+11:00); the days after at 02:15 (+11:00).
        (
            "Australia/Lord_Howe",
            2,
            15,
            "2026-10-02 00:00",
            "2026-10-06 00:00",
            ["2026-10-02 15:45", "2026-10-03 15:45", "2026-10-04 15:15", "2026-10-05 15:15"],
        ),
        # Fall back 02:00 -> 01:30 on 5 April: 01:45 happens twice and runs at the first
        # (+11:00, 14:45 UTC), then the days after at +10:30.
        (
            "Australia/Lord_Howe",
            1,
            45,
            "2026-04-02 12:00",
            "2026-04-07 00:00",
            [
                "2026-04-02 14:45",
                "2026-04-03 14:45",
                "2026-04-04 14:45",
                "2026-04-05 15:15",
                "2026-04-06 15:15",
            ],
        ),
    ],
)
def test_each_occurrence_runs_exactly_once_across_dst(
    database: Database,
    connection_id: uuid.UUID,
    timezone: str,
    hour: int,
    minute: int,
    start: str,
    end: str,
    expected: list[str],
) -> None:
    save(
        database,
        connection_id,
        start,
        frequency="daily",
        hour=hour,
        minute=minute,
        timezone=timezone,
    )

    tick_through(database, start, end)

    found = scheduled(database)
    # Every occurrence in the window ran once, at its instant, named by its wall-clock time.
    assert [at for at, _ in found] == expected
    keys = [key for _, key in found]
    assert len(keys) == len(set(keys))
    wall_clock = f"{hour:02d}:{minute:02d}"
    assert all(
        key is not None and key.startswith(timezone) and key.endswith(wall_clock) for key in keys
    )
    days = [key.split(" ")[1][:10] for key in keys if key]
    assert len(days) == len(set(days)), "a day ran twice"


# ------------------------------------------------------------------------------ downtime
def test_occurrences_missed_while_no_scheduler_ran_run_once_not_in_a_burst(
    database: Database, connection_id: uuid.UUID
) -> None:
    save(
        database,
        connection_id,
        "2026-06-01 06:00",
        frequency="daily",
        hour=9,
        minute=0,
        timezone="UTC",
    )

    # Down from before the first occurrence until three days later, in the afternoon.
    claimed = runs.claim_due_occurrences(database, now=utc("2026-06-04 15:00"))
    again = runs.claim_due_occurrences(database, now=utc("2026-06-04 15:05"))

    assert len(claimed) == 1
    assert again == []
    assert scheduled(database) == [("2026-06-04 09:00", "UTC 2026-06-04T09:00")]
    with database.session() as session:
        schedule = session.scalars(select(AutoOnboardSchedule)).one()
        assert schedule.next_run_at == utc("2026-06-05 09:00")


def test_a_weekly_schedule_down_for_three_weeks_runs_its_latest_occurrence_once(
    database: Database, connection_id: uuid.UUID
) -> None:
    save(
        database,
        connection_id,
        "2026-06-01 00:00",
        frequency="weekly",
        day_of_week="tue",
        hour=8,
        minute=0,
        timezone="Asia/Tokyo",
    )

    tick_through(database, "2026-06-24 00:00", "2026-06-24 02:00")

    assert scheduled(database) == [("2026-06-22 23:00", "Asia/Tokyo 2026-06-23T08:00")]


def test_an_occurrence_waits_for_the_connections_run_under_way_then_runs_once(
    database: Database, connection_id: uuid.UUID, client: TestClient, tenant: TenantWithKey
) -> None:
    save(
        database,
        connection_id,
        "2026-06-01 06:00",
        frequency="daily",
        hour=9,
        minute=0,
        timezone="UTC",
    )
    with database.session() as session:
        session.add(
            AutoOnboardRun(
                tenant_id=tenant.tenant.id,
                connection_id=connection_id,
                trigger="manual",
                status="running",
                regions=[],
                scope="all",
                timezone="UTC",
                heartbeat_at=utc("2026-06-01 09:00"),
            )
        )

    assert runs.claim_due_occurrences(database, now=utc("2026-06-01 09:00")) == []
    finish_all(database)
    assert len(runs.claim_due_occurrences(database, now=utc("2026-06-01 09:01"))) == 1
    assert runs.claim_due_occurrences(database, now=utc("2026-06-01 09:02")) == []
    assert scheduled(database) == [("2026-06-01 09:00", "UTC 2026-06-01T09:00")]


# ------------------------------------------------------------------------------ racing
@pytest.fixture
def second_database(database_url: str) -> Iterator[Database]:
    """Another scheduler process's own engine and connection pool."""
    other = Database(database_url)
    yield other
    other.dispose()


def test_two_schedulers_racing_for_the_same_occurrences_run_each_once(
    database: Database,
    second_database: Database,
    connection_id: uuid.UUID,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    save(
        database,
        connection_id,
        "2026-06-01 00:00",
        frequency="daily",
        hour=9,
        minute=0,
        timezone="UTC",
    )
    # Both processes have read the due schedule before either claims it.
    both_read = threading.Barrier(2, timeout=30)
    original = runs._claim

    def claim_together(*args: Any) -> Any:
        both_read.wait()
        return original(*args)

    monkeypatch.setattr(runs, "_claim", claim_together)
    wins: list[int] = []
    for day in range(1, 11):
        now = utc(f"2026-06-{day:02d} 09:00")
        with ThreadPoolExecutor(2) as pool:
            claimed = list(
                pool.map(
                    lambda db: runs.claim_due_occurrences(db, now=now),  # noqa: B023
                    [database, second_database],
                )
            )
        wins.append(sum(len(c) for c in claimed))
        both_read.reset()
        finish_all(database)

    assert wins == [1] * 10
    assert [at for at, _ in scheduled(database)] == [f"2026-06-{d:02d} 09:00" for d in range(1, 11)]


def test_the_database_refuses_a_second_claim_of_an_occurrence(
    database: Database, connection_id: uuid.UUID, tenant: TenantWithKey
) -> None:
    # What stands behind the race above when the row lock does not (SQLite has none).
    def claim() -> None:
        with database.session() as session:
            session.add(
                AutoOnboardRun(
                    tenant_id=tenant.tenant.id,
                    connection_id=connection_id,
                    trigger="scheduled",
                    occurrence="UTC 2026-06-01T09:00",
                    status="succeeded",
                    regions=[],
                    scope="all",
                    timezone="UTC",
                )
            )

    claim()
    with pytest.raises(IntegrityError):
        claim()


# ------------------------------------------------------------------------------ a live scheduler
@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """One clock for the API (saving computes the next run) and the scheduler."""
    fake = FakeClock(utc("2026-06-01 06:00"))
    monkeypatch.setattr(service, "utcnow", fake)
    return fake


@pytest.fixture
def live_scheduler(
    database: Database, run_services: RunServices, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Scheduler, list[uuid.UUID]]]:
    executed: list[uuid.UUID] = []

    def execute(database: Database, services: RunServices, run_id: uuid.UUID, **_: Any) -> str:
        # This test is about when runs happen; what a run does is tested in test_runs.
        executed.append(run_id)
        with database.session() as session:
            session.execute(
                update(AutoOnboardRun).where(AutoOnboardRun.id == run_id).values(status="succeeded")
            )
        return "succeeded"

    monkeypatch.setattr(runs, "execute", execute)
    settings = run_services.settings.model_copy(update={"scheduler_poll_seconds": 0.05})
    scheduler = Scheduler(
        database=database,
        services=RunServices(engine=run_services.engine, box=run_services.box, settings=settings),
        clock=clock,
    )
    scheduler.start()
    yield scheduler, executed
    scheduler.stop(grace_seconds=1)


def test_a_running_scheduler_picks_up_a_saved_updated_and_disabled_schedule(
    client: TestClient,
    tenant: TenantWithKey,
    connection_id: uuid.UUID,
    database: Database,
    clock: FakeClock,
    live_scheduler: tuple[Scheduler, list[uuid.UUID]],
) -> None:
    _, executed = live_scheduler
    path = auto_onboard(str(connection_id))
    body = {"frequency": "daily", "hour": 9, "minute": 0, "timezone": "Europe/Berlin"}
    saved = saved_schedule(client, tenant, str(connection_id), **body)
    assert saved["next_run_at"] == "2026-06-01T07:00:00Z"

    # Changed to 08:45 Berlin (06:45 UTC) while the scheduler runs; the old 09:00 is gone.
    saved_schedule(client, tenant, str(connection_id), **{**body, "hour": 8, "minute": 45})
    clock.set("2026-06-01 06:50")
    wait_for(lambda: len(executed) == 1)
    clock.set("2026-06-01 07:10")
    time.sleep(0.3)  # several polls at 07:10: nothing more is due today
    assert len(executed) == 1
    assert scheduled(database) == [("2026-06-01 06:45", "Europe/Berlin 2026-06-01T08:45")]
    run = client.get(f"{path}/runs/{executed[0]}", headers=tenant.headers).json()
    assert (run["trigger"], run["status"]) == ("scheduled", "succeeded")

    # Run now is taken by the running scheduler too.
    manual = client.post(f"{path}/runs", headers=tenant.headers).json()
    wait_for(lambda: uuid.UUID(manual["id"]) in executed)

    # Disabled: the next day passes without a run.
    assert client.delete(path, headers=tenant.headers).status_code == 204
    clock.set("2026-06-02 07:00")
    time.sleep(0.3)
    assert len(executed) == 2


def test_a_run_whose_scheduler_died_is_failed_by_another_and_the_schedule_goes_on(
    database: Database,
    connection_id: uuid.UUID,
    tenant: TenantWithKey,
    clock: FakeClock,
    live_scheduler: tuple[Scheduler, list[uuid.UUID]],
) -> None:
    scheduler, executed = live_scheduler
    save(
        database,
        connection_id,
        "2026-06-01 05:00",
        frequency="daily",
        hour=9,
        minute=0,
        timezone="UTC",
    )
    with database.session() as session:
        dead = AutoOnboardRun(
            tenant_id=tenant.tenant.id,
            connection_id=connection_id,
            trigger="manual",
            status="running",
            worker="crashed-host:1234:abcdef",
            regions=[],
            scope="all",
            timezone="UTC",
            started_at=utc("2026-06-01 08:50"),
            heartbeat_at=utc("2026-06-01 08:55"),
        )
        session.add(dead)

    clock.set("2026-06-01 09:00")  # the occurrence is due, but the dead run holds the connection
    time.sleep(0.3)
    assert executed == []
    clock.now = utc("2026-06-01 08:55") + scheduler.stale_after + timedelta(minutes=1)
    wait_for(lambda: len(executed) == 1)

    with database.session() as session:
        failed = session.get(AutoOnboardRun, dead.id)
        assert failed is not None
        assert failed.status == "failed"
        assert [error["code"] for error in failed.errors] == ["run_abandoned"]
    assert [at for at, _ in scheduled(database)] == ["2026-06-01 09:00"]


def test_a_heartbeat_keeps_a_long_run_alive_and_stopping_fails_it(
    database: Database,
    connection_id: uuid.UUID,
    tenant: TenantWithKey,
    run_services: RunServices,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = threading.Event()
    started = threading.Event()

    def long_run(*_: Any, **__: Any) -> str:
        started.set()
        release.wait(10)
        return "succeeded"

    monkeypatch.setattr(runs, "execute", long_run)
    settings = run_services.settings.model_copy(
        update={"scheduler_poll_seconds": 0.05, "run_heartbeat_seconds": 0.05}
    )
    scheduler = Scheduler(
        database=database,
        services=RunServices(engine=run_services.engine, box=run_services.box, settings=settings),
        clock=clock,
        worker="this-host:1:aaaaaa",
    )
    save(
        database,
        connection_id,
        "2026-06-01 05:00",
        frequency="daily",
        hour=6,
        minute=0,
        timezone="UTC",
    )
    clock.set("2026-06-01 06:00")
    scheduler.start()
    try:
        assert started.wait(10)
        # Past the 5-minute timeout, in steps shorter than it: the heartbeats keep it alive.
        for _ in range(3):
            now = clock.advance(minutes=4)
            wait_for(lambda: stored_runs(database)[0].heartbeat_at == now)  # noqa: B023
        assert stored_runs(database)[0].status == "running"
    finally:
        scheduler.stop(grace_seconds=0.1)
        release.set()

    [run] = stored_runs(database)
    assert (run.status, run.worker) == ("failed", "this-host:1:aaaaaa")
    assert [error["code"] for error in run.errors] == ["run_interrupted"]


def test_the_embedded_scheduler_starts_a_requested_run_at_once(
    app: FastAPI,
    client: TestClient,
    tenant: TenantWithKey,
    connection_id: uuid.UUID,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    executed: list[uuid.UUID] = []
    monkeypatch.setattr(
        runs, "execute", lambda _db, _services, run_id, **_: executed.append(run_id)
    )
    # Polls a minute apart: only the wake-up can start the run within the test's patience.
    app.state.settings = app.state.settings.model_copy(update={"scheduler_poll_seconds": 60})
    body = {"frequency": "daily", "hour": 3, "minute": 0, "timezone": "UTC", "regions": []}
    saved_schedule(client, tenant, str(connection_id), **body)

    with embedded(app) as scheduler:
        time.sleep(0.2)  # its first poll, at start, finds nothing
        run = client.post(f"{auto_onboard(str(connection_id))}/runs", headers=tenant.headers)
        wait_for(lambda: executed == [uuid.UUID(run.json()["id"])], seconds=5)
        assert scheduler.poll_seconds == 60
    assert app.state.wake_scheduler is None

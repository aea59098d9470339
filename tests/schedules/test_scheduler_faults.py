"""Faults a scheduler lives through: the database away when a run ends or a poll runs, and a
stop while a run is under way. A run's real result is what is recorded, never a guess."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from app.core.config import Settings
from app.core.db import Database, DatabaseWatch
from app.integrations.aws.demo_organization import SeededOrganization
from app.integrations.aws.discovery import DiscoveryResult
from app.models import AutoOnboardRun
from app.models.base import utcnow
from app.schedules import runs
from app.schedules.runs import RunServices
from scheduler.process import Scheduler
from tests.conftest import TenantWithKey
from tests.discovery.conftest import create_connection
from tests.schedules.conftest import (
    DAILY_US,
    execute_queued,
    read_run,
    run_now,
    saved_schedule,
    wait_for,
)

UNREACHABLE = "the database is unreachable"


class Outage:
    """The database stops answering one process: its pooled connections are gone and every new
    one is refused, as when the server is down, until `end`."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.down = False
        event.listen(database.engine, "do_connect", self._connect)

    def _connect(self, dialect: Any, *_: Any) -> None:
        if self.down:
            raise dialect.loaded_dbapi.OperationalError("connection refused (outage)")

    def begin(self) -> None:
        self.down = True
        self.database.engine.dispose()

    def end(self) -> None:
        self.down = False


def fail_finish_writes(database: Database, *, then: Any = None) -> list[str]:
    """Make the first write of a run's end fail as a dropped connection does; `then` runs
    just before it fails. Returns the statements that failed."""
    failed: list[str] = []

    def before(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        ending = statement.startswith("UPDATE auto_onboard_runs") and "finished_at" in statement
        if ending and not failed:
            failed.append(statement)
            if then is not None:
                then()
            raise conn.dialect.loaded_dbapi.OperationalError("server closed the connection")

    event.listen(database.engine, "before_cursor_execute", before)
    return failed


def stored(database: Database, run_id: uuid.UUID | str) -> AutoOnboardRun:
    with database.session() as session:
        run = session.get(AutoOnboardRun, uuid.UUID(str(run_id)))
        assert run is not None
        return run


def scheduler_on(database: Database, run_services: RunServices, **settings: Any) -> Scheduler:
    fast = {"scheduler_poll_seconds": 0.05, "run_heartbeat_seconds": 0.05, **settings}
    return Scheduler(
        database=database,
        services=RunServices(
            engine=run_services.engine,
            box=run_services.box,
            settings=run_services.settings.model_copy(update=fast),
        ),
    )


@pytest.fixture
def own_database(settings: Settings) -> Iterator[Database]:
    """The scheduler's own engine, so that an outage of its database leaves the test's."""
    separate = Database(settings.database_url)
    yield separate
    separate.dispose()


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.exc_info]


def unreachable_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if UNREACHABLE in r.getMessage()]


# ------------------------------------------------------------------------------ a run's result
def test_a_run_whose_final_write_fails_once_records_its_real_result(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    central: str,
    database: Database,
    run_services: RunServices,
) -> None:
    saved_schedule(client, tenant, central, **{**DAILY_US, "regions": list(org.regions)})
    failed = fail_finish_writes(database)
    queued = run_now(client, tenant, central)

    assert execute_queued(database, run_services) == [uuid.UUID(queued["id"])]

    run = read_run(client, tenant, central, queued["id"])
    assert len(failed) == 1
    assert (run["status"], run["onboarded"], run["discovered"]) == (
        "succeeded",
        len(org.apis),
        len(org.apis),
    )
    assert run["errors"] == []
    assert len(run["application_ids"]) == len(org.apis)


def test_a_result_the_database_does_not_take_in_time_is_recorded_when_it_answers_again(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    central: str,
    database: Database,
    own_database: Database,
    run_services: RunServices,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The database goes away as the run ends and stays away longer than the run's thread
    tries; meanwhile another scheduler takes the silent run for abandoned. The process that
    holds the result records it once the database answers: the real result, not
    run_abandoned."""
    caplog.set_level(logging.INFO)
    monkeypatch.setattr(runs, "RESULT_WRITE_PATIENCE_SECONDS", 0.3)
    saved_schedule(client, tenant, central, **{**DAILY_US, "regions": list(org.regions)})
    outage = Outage(own_database)
    fail_finish_writes(own_database, then=outage.begin)
    scheduler = scheduler_on(own_database, run_services)
    scheduler.start()
    try:
        run_id = uuid.UUID(run_now(client, tenant, central)["id"])
        wait_for(lambda: scheduler.unrecorded() == [run_id], seconds=30)
        assert stored(database, run_id).status == "running"
        ended_by = utcnow()

        # Another scheduler, whose database answers, finds the run silent for too long.
        later = utcnow() + scheduler.stale_after + timedelta(minutes=1)
        assert runs.fail_stale_runs(database, now=later, timeout=scheduler.stale_after) == [run_id]
        time.sleep(0.3)  # several polls and heartbeats while the database is away
        lines_while_away = len(unreachable_lines(caplog))
        outage.end()
        wait_for(lambda: stored(database, run_id).status != "failed")
        wait_for(lambda: scheduler.unrecorded() == [])
    finally:
        scheduler.stop(grace_seconds=1)

    run = read_run(client, tenant, central, run_id)
    assert (run["status"], run["onboarded"], run["discovered"]) == (
        "succeeded",
        len(org.apis),
        len(org.apis),
    )
    assert run["errors"] == []
    finished_at = stored(database, run_id).finished_at
    assert finished_at is not None
    assert finished_at <= ended_by  # when the run ended, not when its result could be written
    assert [r.getMessage() for r in caplog.records if "replaces run_abandoned" in r.getMessage()]
    assert lines_while_away >= 2
    assert tracebacks(caplog) == []
    answers_again = [r for r in caplog.records if "database answers again" in r.getMessage()]
    assert len(answers_again) == 1


# ------------------------------------------------------------------------------ the database away
def test_polls_while_the_database_refuses_connections_log_one_line_each(
    database: Database,
    run_services: RunServices,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    refused = Database("postgresql://postgres@127.0.0.1:1/onboarder")  # nothing listens there
    try:
        scheduler = scheduler_on(refused, run_services)
        for _ in range(3):
            scheduler.poll()
    finally:
        refused.dispose()

    lines = unreachable_lines(caplog)
    assert [(r.name, r.levelno) for r in lines] == [("scheduler.process", logging.WARNING)] * 3
    assert all(
        "\n" not in r.getMessage() and "next poll tries again" in r.getMessage() for r in lines
    )
    assert tracebacks(caplog) == []
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == lines


def test_a_scheduler_picks_up_queued_work_when_the_database_is_back(
    client: TestClient,
    tenant: TenantWithKey,
    own_database: Database,
    run_services: RunServices,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    executed: list[uuid.UUID] = []
    monkeypatch.setattr(
        runs, "execute", lambda _db, _services, run_id, **_: executed.append(run_id)
    )
    connection_id = _central_connection(client, tenant)
    saved_schedule(client, tenant, connection_id, **{**DAILY_US, "regions": []})
    queued = uuid.UUID(run_now(client, tenant, connection_id)["id"])
    outage = Outage(own_database)
    scheduler = scheduler_on(own_database, run_services)

    outage.begin()
    for _ in range(3):
        scheduler.poll()
    assert (executed, len(unreachable_lines(caplog))) == ([], 3)
    outage.end()
    scheduler.poll()

    wait_for(lambda: executed == [queued])
    assert [r.getMessage() for r in caplog.records if "answers again" in r.getMessage()] == [
        "auto-onboard scheduler: the database answers again"
    ]
    assert tracebacks(caplog) == []


# ------------------------------------------------------------------------------ stopping
def test_an_interrupted_run_stays_interrupted_when_its_own_result_comes_later(
    client: TestClient,
    tenant: TenantWithKey,
    database: Database,
    run_services: RunServices,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two runs wait on AWS; stopping takes the grace period once (not once per run), fails
    both as run_interrupted, and their own results, when AWS answers at last, change nothing."""
    started: list[uuid.UUID] = []
    release = threading.Event()

    def discover(*_: Any, **__: Any) -> DiscoveryResult:
        started.append(uuid.uuid4())
        release.wait(10)
        return DiscoveryResult()  # nothing found: the run would end `succeeded`

    monkeypatch.setattr(run_services.engine, "discover", discover)
    run_ids = []
    for name in ("one", "two"):
        connection_id = _central_connection(client, tenant, name=name)
        saved_schedule(client, tenant, connection_id, **{**DAILY_US, "regions": []})
        run_ids.append(uuid.UUID(run_now(client, tenant, connection_id)["id"]))
    scheduler = scheduler_on(database, run_services, scheduler_max_runs=2)
    scheduler.start()
    try:
        wait_for(lambda: len(started) == 2)
        asked = time.monotonic()
        scheduler.stop(grace_seconds=0.5)
        took = time.monotonic() - asked
        interrupted = [stored(database, run_id) for run_id in run_ids]
    finally:
        release.set()
    wait_for(lambda: scheduler.running() == [])

    assert 0.5 <= took < 1.5
    for before, run_id in zip(interrupted, run_ids, strict=True):
        after = stored(database, run_id)
        assert (before.status, [e["code"] for e in before.errors]) == (
            "failed",
            ["run_interrupted"],
        )
        assert (after.status, after.finished_at, after.errors) == (
            before.status,
            before.finished_at,
            before.errors,
        )


def _central_connection(client: TestClient, tenant: TenantWithKey, name: str = "org") -> str:
    return create_connection(
        client,
        tenant,
        name=name,
        credential_type="central_role",
        central_role_arn="arn:aws:iam::111111111111:role/APIsecCentralRole",
    )


def test_overlapping_poll_and_heartbeat_say_each_outage_and_its_end_once(
    own_database: Database, run_services: RunServices, caplog: pytest.LogCaptureFixture
) -> None:
    """A poll and a heartbeat overlap: an attempt's news is as new as its start. A success
    begun before the failure that found the database away does not say it is back, nor does
    a failure begun before the success that found it back say it is away again."""
    caplog.set_level(logging.INFO)
    scheduler = scheduler_on(own_database, run_services)
    refused = OperationalError("SELECT 1", {}, Exception("connection refused"))

    def said(text: str) -> int:
        return sum(text in record.getMessage() for record in caplog.records)

    scheduler._failed("heartbeat", refused, began=2.0)  # the outage, found at 2.0
    scheduler._reached(1.0)  # a poll begun at 1.0, before the outage, ends now
    assert said("answers again") == 0
    scheduler._reached(3.0)  # the next poll: back
    scheduler._failed("heartbeat", refused, began=2.5)  # begun during the outage, ends now
    scheduler._reached(4.0)
    assert said("answers again") == 1
    assert said("is unreachable") == 1


def test_a_success_begun_before_a_slow_failure_was_seen_does_not_say_the_database_is_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Three jobs overlap (poll, heartbeat, webhook deliveries): a poll begins at 1.0, the
    database goes away meanwhile and the poll fails at 5.0; a delivery poll begun at 3.0 on a
    connection taken before the outage succeeds. That is no news that it is back; one begun
    after the failure was seen is."""
    caplog.set_level(logging.INFO)
    watch = DatabaseWatch("auto-onboard scheduler")
    refused = OperationalError("SELECT 1", {}, Exception("connection refused"))

    watch.failed("poll", refused, began=1.0, ended=5.0)
    watch.reached(3.0)

    assert watch.away
    watch.reached(6.0)
    assert not watch.away
    answers = [r for r in caplog.records if "answers again" in r.getMessage()]
    assert len(answers) == 1

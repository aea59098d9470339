"""`onboarder scheduler` as production runs it: its own process beside the API processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from cryptography.fernet import Fernet

from app.connections import service as connections
from app.core.db import Database
from app.core.migrations import upgrade
from app.core.security import SecretBox
from app.integrations.aws.credentials import AssumeRoleCredentials
from app.models import AutoOnboardRun
from app.schedules import service
from app.schedules.schemas import ScheduleWrite
from app.tenants import service as tenants
from scheduler.process import STOP_WRITE_SECONDS
from tests.connections.aws_fixtures import (  # noqa: F401 - fixture
    SilentEndpoint,
    silent_endpoint,
)


def _queued_run(database: Database, key: str) -> uuid.UUID:
    with database.session() as session:
        tenant, _ = tenants.create_tenant(session=session, name="acme")
        connection = connections.create(
            session=session,
            tenant=tenant,
            data=AssumeRoleCredentials(
                role_arn="arn:aws:iam::123456789012:role/APIGatewayAccessRole"
            ),
            name="role",
            secret_box=SecretBox([key]),
        )
        service.save(
            session=session,
            connection=connection,
            data=ScheduleWrite(
                frequency="daily", hour=3, minute=0, timezone="UTC", regions=["us-east-1"]
            ),
        )
        run = service.request_run(
            session=session, connection=connection, stale_after=timedelta(minutes=5)
        )
        return run.id


@contextmanager
def _scheduler_process(url: str, key: str, **env: str) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "scheduler"],
        env={
            **os.environ,
            "ONBOARDER_MODE": "production",
            "ONBOARDER_DATABASE_URL": url,
            "ONBOARDER_ENCRYPTION_KEYS": key,
            "ONBOARDER_SCHEDULER_POLL_SECONDS": "0.2",
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=30)


def test_the_scheduler_process_executes_a_queued_run_and_stops_cleanly(
    fresh_database_url: str,
) -> None:
    upgrade(fresh_database_url)
    key = Fernet.generate_key().decode()
    database = Database(fresh_database_url)
    try:
        run_id = _queued_run(database, key)
        # Nothing listens on port 1: the run reaches AWS and is told it cannot.
        with _scheduler_process(
            fresh_database_url, key, AWS_ENDPOINT_URL="http://127.0.0.1:1", AWS_MAX_ATTEMPTS="1"
        ) as process:
            try:
                finished = _wait_for_end(database, run_id, seconds=60)
            finally:
                process.send_signal(signal.SIGTERM)
                output, _ = process.communicate(timeout=30)
    finally:
        database.dispose()

    assert process.returncode == 0, output
    assert finished.status == "failed", output
    assert finished.worker is not None
    assert finished.worker.split(":")[1] == str(process.pid)
    assert [error["code"] for error in finished.errors] == ["aws_unreachable"]
    assert "auto-onboard scheduler started" in output
    assert "auto-onboard scheduler stopped" in output


def test_sigterm_interrupts_a_run_stuck_in_aws_and_exits_within_the_grace_period(
    fresh_database_url: str,
    silent_endpoint: SilentEndpoint,  # noqa: F811 - fixture
) -> None:
    """AWS takes the run's connection and never answers: the stopping scheduler gives the run
    its grace period, records it as interrupted (and nothing else), and exits on time although
    the run's thread still waits on AWS."""
    upgrade(fresh_database_url)
    key = Fernet.generate_key().decode()
    grace = 1.0
    database = Database(fresh_database_url)
    try:
        run_id = _queued_run(database, key)
        with _scheduler_process(
            fresh_database_url,
            key,
            AWS_ENDPOINT_URL=silent_endpoint.url,
            # Straight to AssumeRole, which waits with a run's patience (minutes).
            ONBOARDER_PLATFORM_PRINCIPAL_ARN="arn:aws:iam::999999999999:role/platform",
            ONBOARDER_SCHEDULER_STOP_GRACE_SECONDS=str(grace),
        ) as process:
            deadline = time.monotonic() + 30
            while not silent_endpoint.accepted:  # the run is waiting on AWS
                assert process.poll() is None
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert _read(database, run_id).status == "running"
            asked = time.monotonic()
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=grace + STOP_WRITE_SECONDS + 10)
            took = time.monotonic() - asked
        interrupted = _read(database, run_id)
        time.sleep(0.5)
        again = _read(database, run_id)
    finally:
        database.dispose()

    assert process.returncode == 0, output
    assert took < grace + STOP_WRITE_SECONDS, (took, output[-3000:])
    assert interrupted.status == "failed", output
    assert [error["code"] for error in interrupted.errors] == ["run_interrupted"], output
    assert (again.status, again.finished_at, again.errors) == (
        interrupted.status,
        interrupted.finished_at,
        interrupted.errors,
    )
    assert interrupted.onboarded == interrupted.discovered == 0
    assert "auto-onboard scheduler stopped" in output
    assert "Traceback" not in output


def _read(database: Database, run_id: uuid.UUID) -> AutoOnboardRun:
    with database.session() as session:
        run = session.get(AutoOnboardRun, run_id)
        assert run is not None
        return run


def _wait_for_end(database: Database, run_id: uuid.UUID, *, seconds: float) -> AutoOnboardRun:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run = _read(database, run_id)
        if run.finished_at is not None:
            return run
        time.sleep(0.1)
    raise AssertionError("the scheduler process did not finish the run")

"""`onboarder scheduler` as production runs it: its own process beside the API processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
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


def test_the_scheduler_process_executes_a_queued_run_and_stops_cleanly(
    fresh_database_url: str,
) -> None:
    upgrade(fresh_database_url)
    key = Fernet.generate_key().decode()
    database = Database(fresh_database_url)
    try:
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
            run_id = run.id
        env = {
            **os.environ,
            "ONBOARDER_MODE": "production",
            "ONBOARDER_DATABASE_URL": fresh_database_url,
            "ONBOARDER_ENCRYPTION_KEYS": key,
            "ONBOARDER_SCHEDULER_POLL_SECONDS": "0.2",
            # Nothing listens on port 1: the run reaches AWS and is told it cannot.
            "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
            "AWS_MAX_ATTEMPTS": "1",
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "scheduler"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
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


def _wait_for_end(database: Database, run_id: uuid.UUID, *, seconds: float) -> AutoOnboardRun:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with database.session() as session:
            run = session.get(AutoOnboardRun, run_id)
            assert run is not None
            if run.finished_at is not None:
                return run
        time.sleep(0.1)
    raise AssertionError("the scheduler process did not finish the run")

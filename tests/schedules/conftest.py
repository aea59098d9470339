from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.core.db import Database
from app.models import AutoOnboardRun
from app.models.base import utcnow
from app.schedules import runs
from app.schedules.runs import RunServices
from tests.applications.conftest import shop_prod  # noqa: F401 - fixture
from tests.conftest import TenantWithKey
from tests.connections.aws_fixtures import (  # noqa: F401 - fixtures
    aws,
    platform_user,
    stub_service,
)
from tests.discovery.conftest import (  # noqa: F401 - fixtures
    central,
    org,
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class FakeClock:
    """The scheduler's clock, moved by the test: no test waits for a schedule's real time."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, text: str) -> datetime:
        self.now = utc(text)
        return self.now


def auto_onboard(connection_id: str) -> str:
    return f"/api/v1/connections/{connection_id}/auto-onboard"


def put_schedule(
    client: TestClient, tenant: TenantWithKey, connection_id: str, /, **body: Any
) -> Any:
    return client.put(auto_onboard(connection_id), json=body, headers=tenant.headers)


def saved_schedule(
    client: TestClient, tenant: TenantWithKey, connection_id: str, /, **body: Any
) -> dict[str, Any]:
    response = put_schedule(client, tenant, connection_id, **body)
    assert response.status_code == 200, response.text
    saved: dict[str, Any] = response.json()
    return saved


DAILY_US = {
    "frequency": "daily",
    "hour": 9,
    "minute": 0,
    "timezone": "UTC",
    "regions": ["us-east-1", "eu-west-1"],
}


@pytest.fixture
def run_services(app: FastAPI) -> RunServices:
    return RunServices(
        engine=app.state.discovery, box=app.state.secret_box, settings=app.state.settings
    )


def run_now(client: TestClient, tenant: TenantWithKey, connection_id: str) -> dict[str, Any]:
    response = client.post(f"{auto_onboard(connection_id)}/runs", headers=tenant.headers)
    assert response.status_code == 202, response.text
    queued: dict[str, Any] = response.json()
    return queued


def execute_queued(database: Database, services: RunServices) -> list[uuid.UUID]:
    """What a scheduler process does with queued runs, in the test's own thread."""
    done = []
    while (run_id := runs.claim_queued_run(database, worker="test", now=utcnow())) is not None:
        runs.execute(database, services, run_id, worker="test")
        done.append(run_id)
    return done


def read_run(
    client: TestClient, tenant: TenantWithKey, connection_id: str, run_id: str | uuid.UUID
) -> dict[str, Any]:
    response = client.get(f"{auto_onboard(connection_id)}/runs/{run_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def stored_runs(database: Database) -> list[AutoOnboardRun]:
    with database.session() as session:
        return list(session.scalars(select(AutoOnboardRun).order_by(AutoOnboardRun.scheduled_for)))


def finish_all(database: Database) -> None:
    """Mark every queued or running run as done, as an executing scheduler would."""
    with database.session() as session:
        session.execute(
            update(AutoOnboardRun)
            .where(AutoOnboardRun.status.in_(("queued", "running")))
            .values(status="succeeded")
        )


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the scheduler did not get there in time")
        time.sleep(0.02)

"""The database away: every request is a quick 503 the client can retry, and the service
comes back by itself when the database does."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event

from tests.conftest import TenantWithKey


@contextmanager
def database_stopped(app: FastAPI) -> Iterator[None]:
    """As the service sees a database server that was stopped: the connections it held are
    gone, and every new one is refused (at the driver, as a refused TCP connection is)."""
    engine = app.state.db.engine

    def refuse(*_: Any) -> None:
        raise engine.dialect.loaded_dbapi.OperationalError(
            "connection to server at 127.0.0.1, port 5432 failed: Connection refused"
        )

    event.listen(engine, "do_connect", refuse)
    engine.dispose()
    try:
        yield
    finally:
        event.remove(engine, "do_connect", refuse)


def test_requests_answer_503_at_once_while_the_database_is_stopped_and_recover_after(
    app: FastAPI, client: TestClient, tenant: TenantWithKey, caplog: pytest.LogCaptureFixture
) -> None:
    assert client.get("/api/v1/connections", headers=tenant.headers).status_code == 200

    with database_stopped(app):
        for path in ["/api/v1/connections", "/api/v1/applications", "/api/v1/tenant"]:
            started = time.perf_counter()
            response = client.get(path, headers=tenant.headers)
            elapsed = time.perf_counter() - started
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "5"
            assert response.headers["content-type"].startswith("application/problem+json")
            problem = response.json()
            assert problem["code"] == "database_unavailable"
            assert "/readyz" in problem["hint"]
            assert elapsed < 1.0
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["code"] == "database_unreachable"

    # Back without a restart.
    assert client.get("/api/v1/connections", headers=tenant.headers).status_code == 200
    assert client.get("/readyz").status_code == 200
    # One warning line per failed request, never a traceback.
    away = [r for r in caplog.records if r.getMessage().startswith("database_unavailable")]
    assert len(away) == 3
    assert not [r for r in caplog.records if r.exc_info]

"""Under concurrent load the service neither stalls nor makes a caller wait 30 seconds.

The service runs in uvicorn on loopback, with its real threadpool and connection pool sized
small on purpose, and many HTTP clients at once: the load that used to end in 30-second
stalls (`QueuePool limit ... reached, connection timed out`) and 500s whenever requests that
held connections waited for worker threads taken by requests waiting for connections.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from moto import mock_aws
from sqlalchemy import select

from app.core.config import Settings
from app.core.db import DatabaseRoute, SessionDep
from app.integrations.aws.sessions import AwsSession
from app.main import create_app
from app.models import Tenant
from tests.conftest import LOG_CAPTURE, TRANSACTIONS_ACROSS_AWS, TenantWithKey
from tests.connections.aws_fixtures import SilentEndpoint, silent_endpoint  # noqa: F401
from tests.demo.running import free_port


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """The app in uvicorn on a free loopback port, in this process; stopped on exit."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="uvicorn-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "uvicorn did not start"
        assert time.monotonic() < deadline, "uvicorn did not start within 20 s"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def small_service(settings: Settings, **overrides: Any) -> FastAPI:
    return create_app(settings.model_copy(update=overrides), configure_logs=False)


async def _timed_get(client: httpx.AsyncClient, path: str, **kwargs: Any) -> tuple[int, float]:
    started = time.perf_counter()
    response = await client.get(path, **kwargs)
    return response.status_code, time.perf_counter() - started


def test_many_clients_against_a_small_pool_are_all_answered_without_a_stall(
    settings: Settings, tenant: TenantWithKey
) -> None:
    # 8 worker threads, 3 connections: far fewer than the 64 clients. Before, requests that
    # held a connection queued for threads held by requests queued for connections, until
    # the pool timeout failed them (or, for the commit at the end, forever). Generous here,
    # so that only a stall, not a slow machine, reaches it.
    pool_timeout = 10.0
    app = small_service(
        settings, http_threads=8, db_pool_size=3, db_pool_timeout_seconds=pool_timeout
    )
    clients, requests_each = 64, 5
    with serving(app) as base_url:
        created = httpx.post(
            f"{base_url}/api/v1/connections",
            json={
                "name": "shop",
                "credential_type": "assume_role",
                "role_arn": "arn:aws:iam::123456789012:role/Onboarder",
            },
            headers=tenant.headers,
            timeout=30,
        )
        assert created.status_code == 201, created.text
        paths = [
            "/api/v1/connections",
            f"/api/v1/connections/{created.json()['id']}",
            "/api/v1/applications",
            "/api/v1/tenant",
        ]

        async def one_client(index: int) -> list[tuple[int, float]]:
            async with httpx.AsyncClient(
                base_url=base_url, headers=tenant.headers, timeout=60
            ) as client:
                return [
                    await _timed_get(client, paths[(index + n) % len(paths)])
                    for n in range(requests_each)
                ]

        async def load() -> list[tuple[int, float]]:
            results = await asyncio.gather(*(one_client(i) for i in range(clients)))
            return [result for per_client in results for result in per_client]

        answers = asyncio.run(load())

    statuses = [status for status, _ in answers]
    slowest = max(duration for _, duration in answers)
    assert len(answers) == clients * requests_each
    assert set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}
    # A stall is a wait for the pool timeout: nobody waited that long.
    assert slowest < pool_timeout, f"slowest answer took {slowest:.1f} s"
    assert not [line for line in LOG_CAPTURE.lines if "QueuePool limit" in line]


@pytest.fixture
def exhausted(settings: Settings) -> Iterator[tuple[str, FastAPI]]:
    """A running service whose every pooled database connection is taken by someone else."""
    app = small_service(settings, http_threads=8, db_pool_size=2, db_pool_timeout_seconds=0.5)
    with serving(app) as base_url:
        engine = app.state.db.engine
        held = [engine.connect() for _ in range(2)]
        try:
            yield base_url, app
        finally:
            for connection in held:
                connection.close()


def test_an_exhausted_pool_answers_503_database_busy_quickly_and_recovers(
    exhausted: tuple[str, FastAPI], tenant: TenantWithKey, caplog: pytest.LogCaptureFixture
) -> None:
    base_url, _ = exhausted
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING):
        response = httpx.get(f"{base_url}/api/v1/connections", headers=tenant.headers, timeout=30)
    elapsed = time.perf_counter() - started

    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"] == "1"
    body = response.json()
    assert body["code"] == "database_busy"
    assert "ONBOARDER_DB_POOL_SIZE" in body["hint"]
    assert body["request_id"] == response.headers["x-request-id"]
    # The pool timeout (0.5 s) and the answer, not the 30 s default of SQLAlchemy.
    assert elapsed < 5, f"answered after {elapsed:.1f} s"


def test_healthz_and_metrics_answer_at_once_while_requests_wait_for_the_pool(
    exhausted: tuple[str, FastAPI], tenant: TenantWithKey
) -> None:
    base_url, _ = exhausted

    async def scenario() -> tuple[list[float], list[int]]:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            # Every worker thread busy waiting for a connection...
            waiting = [
                asyncio.ensure_future(client.get("/api/v1/connections", headers=tenant.headers))
                for _ in range(16)
            ]
            await asyncio.sleep(0.1)
            # ...and the operations endpoints still answer from the event loop.
            durations = []
            for path in ["/healthz", "/metrics"] * 5:
                status, duration = await _timed_get(client, path)
                assert status == 200
                durations.append(duration)
            statuses = [response.status_code for response in await asyncio.gather(*waiting)]
            return durations, statuses

    durations, statuses = asyncio.run(scenario())
    assert statistics.median(durations) < 0.1, durations
    assert max(durations) < 0.5, durations
    assert set(statuses) == {503}


def test_readyz_answers_within_its_bound_when_no_connection_is_free(
    exhausted: tuple[str, FastAPI],
) -> None:
    base_url, _ = exhausted
    started = time.perf_counter()
    response = httpx.get(f"{base_url}/readyz", timeout=30)
    elapsed = time.perf_counter() - started
    assert response.status_code == 503
    assert response.json()["code"] in {"database_unreachable", "database_busy"}
    assert elapsed < 5


LEAKY_REQUEST_ID = "leaky-route-under-test"


def test_a_transaction_left_open_outside_a_worker_function_is_logged_and_rolled_back(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """The guard behind the design: a route that keeps its transaction past its own thread
    (here an async endpoint that leaves a write open) is reported, and its write is undone.
    The audit at the end of the run finds no other such report."""
    app = small_service(settings)

    @app.get("/leaky")
    async def leaky(session: SessionDep) -> dict[str, str]:
        session.add(Tenant(name="leaked", external_id="leaked-external-id"))
        session.flush()
        return {"status": "done"}

    with caplog.at_level(logging.ERROR, logger="app.core.db"), serving(app) as base_url:
        response = httpx.get(
            f"{base_url}/leaky", headers={"X-Request-ID": LEAKY_REQUEST_ID}, timeout=30
        )
    assert response.status_code == 200
    assert "a database transaction outlived the function that began it" in caplog.text
    with app.state.db.session() as session:
        assert session.scalars(select(Tenant).where(Tenant.name == "leaked")).first() is None


def test_the_suite_notices_a_route_that_calls_aws_inside_its_transaction(
    settings: Settings, tenant: TenantWithKey, client_for: Any
) -> None:
    """conftest's guard, which every test runs under, catches what this route does wrong."""
    app = small_service(settings)

    def reads_then_calls_aws(session: SessionDep) -> dict[str, str]:
        session.scalars(select(Tenant)).first()  # a transaction is open from here
        with mock_aws():
            AwsSession.platform().caller_identity()
        return {"status": "done"}

    # Its transaction ends with it, as in every route of the service: only the AWS call inside
    # the transaction is wrong.
    app.router.add_api_route(
        "/reads-then-calls-aws", reads_then_calls_aws, route_class_override=DatabaseRoute
    )

    with client_for(app) as client:
        assert client.get("/reads-then-calls-aws").status_code == 200
    assert [f"sts:GetCallerIdentity in request {client.last_request_id}"] == TRANSACTIONS_ACROSS_AWS
    TRANSACTIONS_ACROSS_AWS.clear()


@pytest.fixture
def client_for() -> Any:
    @contextmanager
    def make(app: FastAPI) -> Iterator[Any]:
        class Client:
            last_request_id = ""

            def get(self, path: str) -> httpx.Response:
                response = httpx.get(f"{base_url}{path}", timeout=30)
                self.last_request_id = response.headers["x-request-id"]
                return response

        with serving(app) as base_url:
            yield Client()

    return make


def test_a_connection_test_waiting_on_a_silent_aws_blocks_no_other_request(
    settings: Settings,
    make_tenant: Any,
    silent_endpoint: SilentEndpoint,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The test holds no transaction (nor the API key's row) while AWS keeps it waiting: the
    same key lists connections, and another tenant writes, at once, on SQLite too."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", silent_endpoint.url)
    deadline = 3.0
    app = small_service(
        settings, aws_interactive_deadline_seconds=deadline, api_key_touch_interval_seconds=0
    )
    first, second = make_tenant(), make_tenant()
    role = {"credential_type": "assume_role", "role_arn": "arn:aws:iam::123456789012:role/R"}
    with serving(app) as base_url:
        saved = httpx.post(
            f"{base_url}/api/v1/connections",
            json={"name": "silent", **role},
            headers=first.headers,
            timeout=30,
        ).json()

        async def scenario() -> tuple[httpx.Response, list[tuple[int, float]], float]:
            async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
                started = time.perf_counter()
                testing = asyncio.ensure_future(
                    client.post(f"/api/v1/connections/{saved['id']}/test", headers=first.headers)
                )
                await asyncio.sleep(0.5)  # the test is waiting on AWS by now
                others = []
                for name in ("a", "b", "c"):
                    others.append(
                        await _timed_get(client, "/api/v1/connections", headers=first.headers)
                    )
                    posted_at = time.perf_counter()
                    response = await client.post(
                        "/api/v1/connections", json={"name": name, **role}, headers=second.headers
                    )
                    others.append((response.status_code, time.perf_counter() - posted_at))
                tested = await testing
                return tested, others, time.perf_counter() - started

        tested, others, total = asyncio.run(scenario())

    assert tested.status_code == 200
    assert tested.json()["error"]["code"] == "aws_timeout"
    assert [status for status, _ in others] == [200, 201] * 3
    # Each answered while the test still waited on AWS, not after it.
    assert max(duration for _, duration in others) < 1.0, others
    assert total < deadline + 2

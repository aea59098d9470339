"""/healthz, /readyz and /metrics."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.migrations import downgrade, head_revision, upgrade
from app.main import create_app
from tests.conftest import TenantWithKey
from tests.core.test_errors import assert_problem


def test_healthz_needs_no_key(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_at_head(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["schema_revision"] == head_revision()


def test_readyz_fails_while_the_schema_is_behind(
    settings: Settings, fresh_database_url: str
) -> None:
    upgrade(fresh_database_url)
    behind = settings.model_copy(update={"database_url": fresh_database_url})
    with TestClient(create_app(behind, configure_logs=False)) as client:
        assert client.get("/readyz").status_code == 200

        downgrade(fresh_database_url, "base")
        body = assert_problem(client.get("/readyz"), 503, "schema_behind")
        assert body["expected_revision"] == head_revision()
        assert body["schema_revision"] is None
        assert "onboarder migrate" in body["hint"]

        upgrade(fresh_database_url)
        assert client.get("/readyz").status_code == 200


def test_readyz_fails_when_the_database_is_unreachable(settings: Settings, tmp_path: Path) -> None:
    missing_dir = tmp_path / "no" / "such"
    unreachable = settings.model_copy(
        update={"database_url": "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"}
    )
    assert not missing_dir.exists()
    with TestClient(create_app(unreachable, configure_logs=False)) as client:
        body = assert_problem(client.get("/readyz"), 503, "database_unreachable")
        assert "ONBOARDER_DATABASE_URL" in body["hint"]
        # Still alive: liveness does not depend on the database.
        assert client.get("/healthz").status_code == 200


def test_metrics_count_requests_by_route_template(
    client: TestClient, tenant: TenantWithKey
) -> None:
    client.get("/api/v1/tenant", headers=tenant.headers)
    client.get("/api/v1/tenant", headers=tenant.headers)
    client.get("/api/v1/tenant")
    client.delete("/api/v1/api-keys/abcdef0123456789", headers=tenant.headers)
    client.get("/api/v1/scanner/probe/1")
    client.get("/api/v1/scanner/probe/2")

    text = client.get("/metrics").text
    assert (
        'onboarder_http_requests_total{method="GET",route="/api/v1/tenant",status="200"} 2.0'
        in text
    )
    assert (
        'onboarder_http_requests_total{method="GET",route="/api/v1/tenant",status="401"} 1.0'
        in text
    )
    # A templated path is one series, not one per id.
    assert 'route="/api/v1/api-keys/{key_id}",status="404"' in text
    assert 'onboarder_http_requests_total{method="GET",route="unmatched",status="404"} 2.0' in text
    assert (
        'onboarder_http_request_duration_seconds_count{method="GET",route="/api/v1/tenant"} 3.0'
        in text
    )
    assert "scanner/probe" not in text

"""405s name every method of the path; a literal route is not taken for a parameter."""

from __future__ import annotations

import logging
import uuid

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TenantWithKey
from tests.core.test_errors import assert_problem


def allowed(response_allow: str) -> set[str]:
    return {method.strip() for method in response_allow.split(",")}


def test_a_405_lists_every_method_of_the_path(client: TestClient, tenant: TenantWithKey) -> None:
    response = client.put(f"/api/v1/applications/{uuid.uuid4()}", headers=tenant.headers)
    body = assert_problem(response, 405, "method_not_allowed")
    assert allowed(response.headers["allow"]) == {"GET", "DELETE"}
    assert "GET" in body["detail"]
    assert "DELETE" in body["detail"]
    assert body["detail"].startswith("PUT is not allowed")

    connection = client.put(f"/api/v1/connections/{uuid.uuid4()}", headers=tenant.headers)
    assert_problem(connection, 405, "method_not_allowed")
    assert allowed(connection.headers["allow"]) == {"GET", "PATCH", "DELETE"}


@pytest.mark.parametrize("method", ["PATCH", "GET", "DELETE", "PUT"])
@pytest.mark.parametrize("authenticated", [True, False])
def test_a_literal_route_answers_405_for_the_methods_it_lacks(
    client: TestClient, tenant: TenantWithKey, method: str, authenticated: bool
) -> None:
    """/connections/test takes POST only; "test" is not a {connection_id} (which would be a
    422: not a UUID) for the methods /connections/{connection_id} has."""
    headers = tenant.headers if authenticated else {}
    response = client.request(method, "/api/v1/connections/test", headers=headers)
    assert_problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"


def test_parameters_keep_their_answers(client: TestClient, tenant: TenantWithKey) -> None:
    malformed = client.patch("/api/v1/connections/not-a-uuid", json={}, headers=tenant.headers)
    assert assert_problem(malformed, 422, "validation_error")["errors"][0]["field"] == (
        "connection_id"
    )
    unknown = client.get(f"/api/v1/connections/{uuid.uuid4()}", headers=tenant.headers)
    assert_problem(unknown, 404, "not_found")
    tested = client.post("/api/v1/connections/test", json={}, headers=tenant.headers)
    assert_problem(tested, 422, "validation_error")


def test_paths_outside_the_api_too(client: TestClient) -> None:
    console = client.post("/")
    assert_problem(console, 405, "method_not_allowed")
    assert allowed(console.headers["allow"]) == {"GET", "HEAD"}
    assert_problem(client.post("/api/v1/nothing-here"), 404, "not_found")


def test_the_access_log_names_the_routes_template(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="onboarder.access"):
        client.put(f"/api/v1/applications/{uuid.uuid4()}")
    (line,) = [r for r in caplog.records if r.name == "onboarder.access"]
    assert getattr(line, "route", None) == "/api/v1/applications/{application_id}"
    assert getattr(line, "status", None) == 405

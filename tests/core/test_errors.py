"""Every failure is application/problem+json with a stable code and a request id."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from pydantic import BaseModel, Field

from tests.conftest import TenantWithKey


def assert_problem(response: Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:onboarder:problem:{code}"
    assert body["title"]
    assert body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def test_unknown_path_is_a_404_problem(client: TestClient) -> None:
    assert_problem(client.get("/api/v1/nothing-here"), 404, "not_found")


def test_wrong_method_is_a_405_problem_naming_the_allowed_ones(client: TestClient) -> None:
    response = client.delete("/api/v1/tenant")
    body = assert_problem(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]
    assert "DELETE" in body["detail"]
    assert "GET" in body["detail"]


def test_malformed_body_is_a_422_naming_each_field(
    client: TestClient, tenant: TenantWithKey
) -> None:
    response = client.post("/api/v1/api-keys", json={"label": ["x"]}, headers=tenant.headers)
    body = assert_problem(response, 422, "validation_error")
    assert body["errors"] == [{"field": "label", "message": "Input should be a valid string"}]
    assert "label" in body["detail"]
    assert body["hint"]


class _Inner(BaseModel):
    hour: int = Field(ge=0, le=23)


class _Outer(BaseModel):
    schedule: _Inner


def test_422_for_nested_fields_uses_dotted_names(app: FastAPI, client: TestClient) -> None:
    @app.post("/api/v1/_test/nested")
    def nested(body: _Outer) -> dict[str, str]:
        return {}

    response = client.post("/api/v1/_test/nested", json={"schedule": {"hour": 24}})
    body = assert_problem(response, 422, "validation_error")
    assert body["errors"][0]["field"] == "schedule.hour"


def test_invalid_json_is_a_422(client: TestClient, tenant: TenantWithKey) -> None:
    response = client.post(
        "/api/v1/api-keys",
        content=b"{not json",
        headers={**tenant.headers, "content-type": "application/json"},
    )
    assert_problem(response, 422, "validation_error")


def test_unexpected_error_is_a_500_without_internals(app: FastAPI, client: TestClient) -> None:
    @app.get("/api/v1/_test/boom")
    def boom() -> None:
        raise RuntimeError("password=hunter2 in /srv/app/internal.py")

    response = client.get("/api/v1/_test/boom")
    body = assert_problem(response, 500, "internal_error")
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert "RuntimeError" not in response.text
    assert body["request_id"] in body["hint"]


def test_every_response_carries_a_request_id(client: TestClient) -> None:
    ids = {
        client.get("/healthz").headers["x-request-id"],
        client.get("/healthz").headers["x-request-id"],
        client.get("/api/v1/tenant").headers["x-request-id"],
    }
    assert len(ids) == 3


def test_a_callers_request_id_is_kept_and_a_hostile_one_replaced(client: TestClient) -> None:
    kept = client.get("/healthz", headers={"X-Request-ID": "trace-abc-123456"})
    assert kept.headers["x-request-id"] == "trace-abc-123456"
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert replaced.headers["x-request-id"] != "bad id\twith spaces"
    assert len(replaced.headers["x-request-id"]) == 32

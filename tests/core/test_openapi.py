"""The OpenAPI document: valid, every error answer problem+json, requests as strict as the
validation. (tests/test_openapi_contract.py checks the service against it with Schemathesis.)"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openapi_spec_validator import validate
from pydantic import BaseModel, ValidationError

from app.core.errors import ValidationFailedError
from app.core.pagination import paginate_list
from app.integrations.aws.discovery import apigateway_regions
from app.integrations.aws.sessions import REGION_PATTERN
from tests.conftest import TenantWithKey
from tests.core.test_errors import assert_problem

PROBLEM = "#/components/schemas/Problem"
VALIDATION_PROBLEM = "#/components/schemas/ValidationProblem"
PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-eusc")


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def api_operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, operations in document["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in operations.items()
    }


def schema_of(document: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["components"]["schemas"][name]
    return schema


def parameter(operation: dict[str, Any], name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [p for p in operation["parameters"] if p["name"] == name]
    (only,) = found
    return only


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)


def test_every_error_answer_is_a_problem_and_fastapis_own_422_is_gone(
    document: dict[str, Any],
) -> None:
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert "ValidationError" not in document["components"]["schemas"]
    for label, operation in api_operations(document).items():
        errors = {s: r for s, r in operation["responses"].items() if int(s) >= 400}
        assert {"401", "500", "503"} <= set(errors), label
        for status, response in errors.items():
            assert list(response["content"]) == ["application/problem+json"], (label, status)
            expected = VALIDATION_PROBLEM if status == "422" else PROBLEM
            schema = response["content"]["application/problem+json"]["schema"]
            assert schema == {"$ref": expected}, (label, status)
        assert errors["401"]["headers"]["WWW-Authenticate"]["required"] is True
        assert "Retry-After" in errors["503"]["headers"]


def test_which_errors_each_route_answers(document: dict[str, Any]) -> None:
    errors = {
        label: {int(status) for status in operation["responses"] if int(status) >= 400}
        for label, operation in api_operations(document).items()
    }
    common = {401, 500, 503}
    assert errors["GET /api/v1/tenant"] == common
    assert errors["POST /api/v1/api-keys"] == common | {400, 409, 422}
    assert errors["DELETE /api/v1/api-keys/{key_id}"] == common | {404, 422}
    assert errors["GET /api/v1/connections"] == common | {422}
    assert errors["POST /api/v1/connections"] == common | {400, 409, 422}
    assert errors["GET /api/v1/connections/{connection_id}"] == common | {404, 422}
    assert errors["PATCH /api/v1/connections/{connection_id}"] == common | {400, 404, 409, 422}
    # AWS's failures are the test's answer (ok: false), not an HTTP error.
    assert errors["POST /api/v1/connections/test"] == common | {400, 422}
    assert errors["POST /api/v1/connections/{connection_id}/test"] == common | {404, 422}
    for what in ("accounts", "regions", "apis"):
        assert errors[f"GET /api/v1/connections/{{connection_id}}/{what}"] == common | {
            404,
            422,
            502,
            504,
        }
    assert errors["POST /api/v1/applications"] == common | {400, 404, 409, 422, 502, 504}
    assert errors["POST /api/v1/applications/{application_id}/instances"] == common | {
        400,
        404,
        409,
        422,
        502,
        504,
    }
    assert errors["DELETE /api/v1/applications/{application_id}"] == common | {404, 422}
    assert errors["PUT /api/v1/connections/{connection_id}/auto-onboard"] == common | {
        400,
        404,
        409,
        422,
    }
    assert errors["POST /api/v1/connections/{connection_id}/auto-onboard/runs"] == common | {
        404,
        409,
        422,
    }
    readyz = document["paths"]["/readyz"]["get"]["responses"]["503"]
    assert readyz["content"]["application/problem+json"]["schema"] == {"$ref": PROBLEM}


def test_the_problem_schemas_say_what_the_handlers_send(document: dict[str, Any]) -> None:
    problem = schema_of(document, "Problem")
    assert problem["required"] == ["type", "title", "status", "detail", "code"]
    assert {"hint", "request_id", "application_id", "run_id"} <= set(problem["properties"])
    assert problem["additionalProperties"] is True
    validation = schema_of(document, "ValidationProblem")
    assert "errors" in validation["required"]
    assert validation["properties"]["status"]["const"] == 422
    field_error = schema_of(document, "FieldError")
    assert set(field_error["required"]) == {"field", "message"}


def test_api_keys_are_a_bearer_scheme_on_every_authenticated_operation(
    document: dict[str, Any],
) -> None:
    scheme = document["components"]["securitySchemes"]["ApiKey"]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    assert scheme["bearerFormat"].startswith("onb_")
    ingest = "POST /api/v1/aws/events/{connection_id}"
    for label, operation in api_operations(document).items():
        if label != ingest:
            assert operation["security"] == [{"ApiKey": []}], label
    # AWS posts change events with the connection's ingest token, never an API key.
    assert api_operations(document)[ingest]["security"] == [{"IngestToken": []}]
    token = document["components"]["securitySchemes"]["IngestToken"]
    assert (token["type"], token["in"], token["name"]) == (
        "apiKey",
        "header",
        "X-Onboarder-Ingest-Token",
    )
    for path in ("/healthz", "/readyz"):
        assert "security" not in document["paths"][path]["get"]


def test_a_missing_key_is_still_the_services_own_401(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"}):
        response = client.get("/api/v1/tenant", headers=headers)
        assert_problem(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"


def test_a_route_added_later_gets_the_services_422_too(app: FastAPI, client: TestClient) -> None:
    @app.get("/api/v1/_test/later")
    def later(count: int) -> dict[str, int]:
        return {"count": count}

    document = client.get("/api/v1/openapi.json").json()
    responses = document["paths"]["/api/v1/_test/later"]["get"]["responses"]
    assert responses["422"]["content"]["application/problem+json"]["schema"] == {
        "$ref": VALIDATION_PROBLEM
    }
    assert "HTTPValidationError" not in document["components"]["schemas"]


# ---------------------------------------------------------------- requests as strict as validation
def test_credentials_are_described_as_the_validators_check_them(
    document: dict[str, Any],
) -> None:
    aws_user = schema_of(document, "AwsUserConnectionCreate")
    assert aws_user["required"][0] == "credential_type"
    assert "default" not in aws_user["properties"]["credential_type"]
    assert aws_user["properties"]["access_key_id"]["pattern"] == "^AKIA[A-Z0-9]{16}$"
    secret = aws_user["properties"]["secret_access_key"]
    assert secret["pattern"] == "^[A-Za-z0-9/+=]{40}$"
    assert secret["writeOnly"] is True
    central = schema_of(document, "CentralRoleConnectionTest")
    assert central["properties"]["central_role_arn"]["pattern"].startswith("^arn:(aws|")
    assert central["properties"]["child_role_name"]["pattern"] == r"^[\w+=,.@-]{1,64}$"
    (session_name, _null) = central["properties"]["session_name"]["anyOf"]
    assert session_name["pattern"] == r"^[\w+=,.@-]{2,64}$"
    # null resets the session and child role names; the other fields cannot be removed.
    update = schema_of(document, "ConnectionUpdate")["properties"]
    assert update["role_arn"]["pattern"].startswith("^arn:(aws|")
    assert update["name"]["type"] == update["access_key_id"]["type"] == "string"
    assert {"type": "null"} in update["session_name"]["anyOf"]
    # Instance URLs or stages: one of them, not empty.
    selection = schema_of(document, "InstanceSelection")
    assert [option["required"] for option in selection["anyOf"]] == [["instance_urls"], ["stages"]]


@pytest.mark.parametrize(
    ("field", "valid", "invalid"),
    [
        ("access_key_id", "AKIAIOSFODNN7EXAMPLE", "ASIAIOSFODNN7EXAMPLE"),
        ("access_key_id", "AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPL"),
        ("secret_access_key", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "short"),
        ("secret_access_key", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "x" * 39 + "!"),
    ],
)
def test_a_documented_pattern_accepts_what_the_validator_accepts(
    document: dict[str, Any], field: str, valid: str, invalid: str
) -> None:
    from app.connections.schemas import AwsUserConnectionCreate

    pattern = schema_of(document, "AwsUserConnectionCreate")["properties"][field]["pattern"]
    body = {
        "name": "n",
        "credential_type": "aws_user",
        "access_key_id": "AKIAIOSFODNN7EXAMPLE",
        "secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    }
    assert re.search(pattern, valid)
    AwsUserConnectionCreate.model_validate({**body, field: valid})
    assert not re.search(pattern, invalid)
    with pytest.raises(ValidationError):
        AwsUserConnectionCreate.model_validate({**body, field: invalid})


def test_parameters_are_described_as_the_code_checks_them(document: dict[str, Any]) -> None:
    operations = api_operations(document)
    apis = operations["GET /api/v1/connections/{connection_id}/apis"]
    region = parameter(apis, "region")["schema"]
    assert region["minLength"] == 1
    assert region["pattern"] == REGION_PATTERN
    (account_id, _null) = parameter(apis, "account_id")["schema"]["anyOf"]
    assert account_id["pattern"] == "^[0-9]{12}$"
    (cursor, _null) = parameter(apis, "cursor")["schema"]["anyOf"]
    assert cursor["pattern"] == "^[A-Za-z0-9_-]*$"
    (setup_account, _null) = parameter(
        operations["GET /api/v1/aws/setup"], "management_account_id"
    )["schema"]["anyOf"]
    assert setup_account["pattern"] == "^[0-9]{12}$"
    key_id = parameter(operations["DELETE /api/v1/api-keys/{key_id}"], "key_id")["schema"]
    assert key_id["pattern"] == "^[0-9a-f]{16}$"
    schedule_regions = schema_of(document, "ScheduleWrite")["properties"]["regions"]["anyOf"][0]
    assert schedule_regions["items"]["pattern"] == REGION_PATTERN
    assert schema_of(document, "ApplicationCreate")["properties"]["region"]["pattern"] == (
        REGION_PATTERN
    )


@pytest.mark.parametrize("partition", PARTITIONS)
def test_every_region_of_api_gateway_has_the_documented_shape(partition: str) -> None:
    for region in apigateway_regions(partition):
        assert re.search(REGION_PATTERN, region), region


def test_the_messages_of_checks_made_in_code_are_unchanged(
    client: TestClient, tenant: TenantWithKey
) -> None:
    """The document states the rules; the code keeps checking them, with its own words."""
    response = client.post(
        "/api/v1/connections/test",
        json={"credential_type": "aws_user", "access_key_id": "ASIA0000", "secret_access_key": "x"},
        headers=tenant.headers,
    )
    body = assert_problem(response, 422, "validation_error")
    messages = {error["field"]: error["message"] for error in body["errors"]}
    assert messages["access_key_id"].startswith("is a temporary key (ASIA...)")
    assert messages["secret_access_key"].startswith("must be the 40-character secret")
    setup = client.get(
        "/api/v1/aws/setup", params={"management_account_id": "12"}, headers=tenant.headers
    )
    assert assert_problem(setup, 422, "validation_error")["errors"] == [
        {
            "field": "management_account_id",
            "message": "must be a 12-digit AWS account id, e.g. 123456789012",
        }
    ]


# ------------------------------------------------------------------------------------- cursors
def _cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "value", [["2026-01-01T00:00:00+00:00", 1], [1, 2], {"a": 1}, "text", 7, ["only-one"]]
)
def test_a_cursor_that_decodes_to_something_else_is_a_422_not_a_500(
    client: TestClient, tenant: TenantWithKey, value: Any
) -> None:
    for path in ("/api/v1/connections", "/api/v1/applications"):
        response = client.get(path, params={"cursor": _cursor(value)}, headers=tenant.headers)
        body = assert_problem(response, 422, "validation_error")
        assert body["errors"][0]["field"] == "cursor"


class _Named(BaseModel):
    name: str


@pytest.mark.parametrize("value", [[1], [None, "a"], {"a": 1}, 3])
def test_a_list_cursor_of_other_values_is_refused(value: Any) -> None:
    items = [_Named(name="a"), _Named(name="b")]
    with pytest.raises(ValidationFailedError):
        paginate_list(items, lambda item: (item.name,), limit=1, cursor=_cursor(value))
    page, next_cursor = paginate_list(items, lambda item: (item.name,), limit=1, cursor=None)
    assert paginate_list(items, lambda item: (item.name,), limit=1, cursor=next_cursor)[0] == [
        items[1]
    ]
    assert page == [items[0]]

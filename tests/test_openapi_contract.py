"""The service answers what its OpenAPI document says (Schemathesis, against the ASGI app).

For every operation Schemathesis sends the document's examples, its boundary and invalid
values (the coverage phase, unsupported methods included) and a few generated requests, with
a tenant's API key, and checks each answer: no 5xx, a documented status, content type and
headers, and a body that matches the documented schema (problem+json for errors).

Generated ids rarely name anything, so each operation gets a tenant with the resources its
ids can name (a connection to the moto account, an application onboarded from it, a schedule
and a run, a spare API key), and some of the generated path parameters (and `connection_id`
in bodies) are swapped for theirs. AWS is moto throughout: nothing leaves the machine.

Bounded and deterministic: a fixed seed, derandomized generation, five generated examples an
operation.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import schemathesis
from cryptography.fernet import Fernet
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import strategies as st
from moto import mock_aws
from schemathesis.config import SchemathesisConfig
from schemathesis.python.asgi import shutdown_lifespans

from app.core.config import Settings
from app.main import create_app
from tests.conftest import TenantWithKey

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "unsupported_method",
)

CONFIG: dict[str, Any] = {
    "seed": 20260101,
    "generation": {"max-examples": 5, "deterministic": True},
    "phases": {"stateful": {"enabled": False}},
    "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
}


def _document() -> dict[str, Any]:
    # The document does not depend on the database or the keys: any app serves the same one.
    settings = Settings(
        database_url="sqlite://",
        encryption_keys=[Fernet.generate_key().decode()],
        auto_migrate=False,
    )
    return create_app(settings, configure_logs=False).openapi()


schema = schemathesis.openapi.from_dict(_document(), config=SchemathesisConfig.from_dict(CONFIG))

# Ids of the current test's resources, by the name of the parameter that takes them.
SEEDED: dict[str, str] = {}


@schema.hook
def flatmap_path_parameters(
    _context: schemathesis.HookContext, parameters: dict[str, Any] | None
) -> st.SearchStrategy[dict[str, Any] | None]:
    known = {name: SEEDED[name] for name in parameters or {} if name in SEEDED}
    if parameters is None or not known:
        return st.just(parameters)
    return st.sampled_from([parameters, {**parameters, **known}])


@schema.hook
def flatmap_body(_context: schemathesis.HookContext, body: Any) -> st.SearchStrategy[Any]:
    if not isinstance(body, dict) or "connection_id" not in body or "connection_id" not in SEEDED:
        return st.just(body)
    return st.sampled_from([body, {**body, "connection_id": SEEDED["connection_id"]}])


@functools.cache
def _apigateway() -> Any:
    # One client for the run: moto answers it whenever a mock is on.
    return boto3.client("apigateway", region_name="us-east-1")


def _rest_api_in_moto() -> str:
    """A REST API with one method and a `prod` stage, in the moto account's us-east-1."""
    apigateway = _apigateway()
    api_id: str = apigateway.create_rest_api(name="contract-api")["id"]
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    apigateway.put_method(
        restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE"
    )
    apigateway.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
    apigateway.create_deployment(restApiId=api_id, stageName="prod")
    return api_id


def _seed(client: TestClient, headers: dict[str, str], label: str) -> dict[str, str]:
    """The resources the operation's ids name, by the name of the parameter that takes them."""

    def created(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = client.request(method, f"/api/v1{path}", json=body, headers=headers)
        assert response.status_code < 300, response.text
        answer: dict[str, Any] = response.json()
        return answer

    method, _, path = label.partition(" ")
    names = set(re.findall(r"{(\w+)}", path))
    seeded: dict[str, str] = {}
    if "key_id" in names:
        seeded["key_id"] = created("POST", "/api-keys", {"label": "spare"})["key_id"]
    if not names & {"connection_id", "application_id"} and (method, path) != (
        "POST",
        "/api/v1/applications",
    ):
        return seeded
    # moto answers any key as its default account's (it enforces no IAM unless asked to).
    connection = seeded["connection_id"] = created(
        "POST",
        "/connections",
        {
            "name": "contract",
            "credential_type": "aws_user",
            "access_key_id": "AKIAIOSFODNN7EXAMPLE",
            "secret_access_key": "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEYab",
        },
    )["id"]
    if "application_id" in names:
        seeded["application_id"] = created(
            "POST",
            "/applications",
            {
                "connection_id": connection,
                "region": "us-east-1",
                "api_id": _rest_api_in_moto(),
                "stages": ["prod"],
            },
        )["id"]
    if "/auto-onboard" in path:
        schedule = {"frequency": "daily", "hour": 3, "minute": 0, "timezone": "UTC"}
        created(
            "PUT",
            f"/connections/{connection}/auto-onboard",
            {**schedule, "regions": ["us-east-1"]},
        )
        seeded["run_id"] = created("POST", f"/connections/{connection}/auto-onboard/runs")["id"]
    return seeded


@pytest.fixture(autouse=True)
def service(
    request: pytest.FixtureRequest, app: FastAPI, client: TestClient, tenant: TenantWithKey
) -> Iterator[tuple[FastAPI, TenantWithKey]]:
    # Autouse rather than an argument of the test: Hypothesis refuses function-scoped fixtures
    # as arguments of a test it runs many times; this one serves every example of an operation.
    with mock_aws():
        SEEDED.update(_seed(client, tenant.headers, request.node.operation_label))
        try:
            yield app, tenant
        finally:
            SEEDED.clear()
            # Schemathesis keeps the app it called running; end it (its database pool too).
            shutdown_lifespans()


@schema.parametrize()
def test_the_service_answers_what_the_document_says(
    case: schemathesis.Case[Any], request: pytest.FixtureRequest
) -> None:
    app, tenant = request.getfixturevalue("service")
    case.call_and_validate(headers=tenant.headers, app=app)

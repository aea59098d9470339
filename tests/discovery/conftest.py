from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.integrations.aws.demo_organization import SeededOrganization, seed_demo_organization
from tests.conftest import TenantWithKey
from tests.connections.aws_fixtures import (  # noqa: F401 - fixtures
    IamUser,
    aws,
    platform_user,
    retry_sleeps,
    stub_service,
    throttling_apigateway,
)


@pytest.fixture
def org(platform_user: IamUser, tenant: TenantWithKey) -> SeededOrganization:  # noqa: F811
    return seed_demo_organization(
        platform_principal_arn=platform_user.arn, external_id=tenant.tenant.external_id
    )


def create_connection(client: TestClient, tenant: TenantWithKey, **body: Any) -> str:
    response = client.post(
        "/api/v1/connections", json={"name": body.pop("name", "c"), **body}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    connection_id: str = response.json()["id"]
    return connection_id


@pytest.fixture
def central(client: TestClient, tenant: TenantWithKey, org: SeededOrganization) -> str:
    return create_connection(
        client,
        tenant,
        name="organization",
        credential_type="central_role",
        central_role_arn=org.central_role_arn,
    )


@pytest.fixture
def single_worker(app: FastAPI) -> None:
    """One request in flight: accounts are then reached in ListAccounts order, so a Stubber
    can answer each one in turn."""
    from app.integrations.aws.discovery import DiscoveryEngine

    app.state.discovery = DiscoveryEngine(max_in_flight=1)

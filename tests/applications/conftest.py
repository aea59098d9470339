from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient

from app.integrations.aws.demo_organization import SeededApi, SeededOrganization
from tests.conftest import TenantWithKey
from tests.connections.aws_fixtures import (  # noqa: F401 - fixtures
    aws,
    platform_user,
    stub_service,
)
from tests.discovery.conftest import (  # noqa: F401 - fixtures
    central,
    create_connection,
    org,
)


@pytest.fixture
def shop_prod(client: TestClient, tenant: TenantWithKey, org: SeededOrganization) -> str:  # noqa: F811
    """An assume_role connection into the shop-prod account."""
    return create_connection(
        client,
        tenant,
        name="shop-prod",
        credential_type="assume_role",
        role_arn=org.assume_role_arn,
    )


def api_ref(api: SeededApi) -> dict[str, str]:
    """The part of an onboarding body that names a seeded API."""
    return {"region": api.region, "api_id": api.api_id}


def storefront_prod(org: SeededOrganization, connection_id: str) -> dict[str, Any]:  # noqa: F811
    """The body that onboards the storefront REST API's prod stage through a connection."""
    api = org.api_named("shop-storefront-api")
    return {"connection_id": connection_id, **api_ref(api), "stages": ["prod"]}


def onboard(client: TestClient, tenant: TenantWithKey, **body: Any) -> Any:
    return client.post("/api/v1/applications", json=body, headers=tenant.headers)


def onboarded(client: TestClient, tenant: TenantWithKey, **body: Any) -> dict[str, Any]:
    response = onboard(client, tenant, **body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def applications(client: TestClient, tenant: TenantWithKey, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/v1/applications", params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def account_client(seeded: SeededOrganization, api: SeededApi, service: str) -> Any:
    """A client acting in the API's own account (as its owner would, in the AWS console)."""
    sts = boto3.client("sts", region_name="us-east-1")
    role_arn = f"arn:aws:iam::{api.account_id}:role/{seeded.child_role_name}"
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName="owner")["Credentials"]
    return boto3.client(
        service,
        region_name=api.region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


@pytest.fixture
def other_tenant(make_tenant: Callable[..., TenantWithKey]) -> TenantWithKey:
    return make_tenant()

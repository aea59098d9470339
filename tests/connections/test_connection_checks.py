"""Test Connection: each credential type's success, and each failure a user can fix.

moto runs with IAM enforced (`enforcing_iam`) so that signatures, identity policies and
same-account trust policies (with their sts:ExternalId condition) are really evaluated. What
moto cannot produce is answered by botocore's Stubber (`stub_service`), as each test says.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient

from app.core.db import Database
from app.integrations.aws.deadlines import INTERACTIVE_ATTEMPTS
from app.models import Connection
from tests.conftest import TenantWithKey
from tests.connections.aws_fixtures import (
    IamUser,
    StubPlan,
    allow,
    enforcing_iam,
    make_role,
    make_user,
    trust_policy,
)

MGMT = "123456789012"


def last_assumed(account_id: str) -> Any:
    from moto.sts.models import sts_backends

    return sts_backends[account_id]["aws"].assumed_roles[-1]


def check(body: dict[str, Any], name: str) -> dict[str, Any]:
    found = [item for item in body["checks"] if item["name"] == name]
    assert found, f"no check {name}: {body['checks']}"
    result: dict[str, Any] = found[0]
    return result


def user_body(user: IamUser) -> dict[str, Any]:
    return {
        "credential_type": "aws_user",
        "access_key_id": user.access_key_id,
        "secret_access_key": user.secret_access_key,
    }


# ------------------------------------------------------------------------------------ aws_user
def test_an_iam_users_key_with_apigateway_get_passes(
    client: TestClient, tenant: TenantWithKey, aws: None
) -> None:
    reader = make_user("reader", allow("apigateway:GET"))

    body = client.post(
        "/api/v1/connections/test", json=user_body(reader), headers=tenant.headers
    ).json()
    assert body["ok"] is True
    assert body["error"] is None
    assert body["account_id"] == MGMT
    assert body["arn"] == reader.arn
    assert check(body, "credentials")["ok"]
    assert check(body, "apigateway:GET")["ok"]
    assert body["accounts"] is None


def test_an_unknown_access_key_is_invalid_credentials(
    client: TestClient, tenant: TenantWithKey, aws: None
) -> None:
    make_user("reader", allow("apigateway:GET"))
    unknown = IamUser(arn="", access_key_id="AKIAZZZZZZZZZZZZZZZZ", secret_access_key="a" * 40)
    body = enforcing_iam(
        lambda: client.post(
            "/api/v1/connections/test", json=user_body(unknown), headers=tenant.headers
        )
    ).json()
    assert body["ok"] is False
    assert body["error"]["code"] == "invalid_credentials"
    assert "Create a new access key" in body["error"]["hint"]
    assert check(body, "credentials")["ok"] is False


def test_a_wrong_secret_is_invalid_credentials_pointing_at_the_secret(
    client: TestClient, tenant: TenantWithKey, aws: None
) -> None:
    reader = make_user("reader", allow("apigateway:GET"))
    wrong = IamUser(reader.arn, reader.access_key_id, "b" * 40)
    body = enforcing_iam(
        lambda: client.post(
            "/api/v1/connections/test", json=user_body(wrong), headers=tenant.headers
        )
    ).json()
    assert body["error"]["code"] == "invalid_credentials"
    assert "secret access key" in body["error"]["hint"]
    assert reader.access_key_id not in str(body)


def test_a_key_without_apigateway_get_is_access_denied(
    client: TestClient, tenant: TenantWithKey, aws: None, stub_service: dict[str, StubPlan]
) -> None:
    # moto cannot evaluate API Gateway permissions (under enforced IAM it refuses every
    # API Gateway signature), so the Stubber gives the answer AWS gives.
    stub_service["apigateway"] = lambda stubber: stubber.add_client_error(
        "get_rest_apis",
        service_error_code="AccessDeniedException",
        http_status_code=403,
        service_message="User: arn:aws:iam::123456789012:user/no-policy is not authorized to "
        "perform: apigateway:GET on resource: arn:aws:apigateway:us-east-1::/restapis",
    )
    no_policy = make_user("no-policy")
    body = client.post(
        "/api/v1/connections/test", json=user_body(no_policy), headers=tenant.headers
    ).json()
    assert body["ok"] is False
    assert check(body, "credentials")["ok"] is True
    assert check(body, "apigateway:GET")["ok"] is False
    assert body["error"]["code"] == "access_denied"
    assert "apigateway:GET" in body["error"]["hint"]


def test_expired_credentials(
    client: TestClient, tenant: TenantWithKey, aws: None, stub_service: dict[str, StubPlan]
) -> None:
    # moto never expires a key: the Stubber gives STS's ExpiredToken answer.
    stub_service["sts"] = lambda stubber: stubber.add_client_error(
        "get_caller_identity",
        service_error_code="ExpiredToken",
        http_status_code=403,
        service_message="The security token included in the request is expired",
    )
    reader = make_user("reader", allow("apigateway:GET"))
    body = client.post(
        "/api/v1/connections/test", json=user_body(reader), headers=tenant.headers
    ).json()
    assert body["error"]["code"] == "expired_credentials"
    assert "long-term access key" in body["error"]["hint"]


def test_throttling_is_retried_to_success(
    client: TestClient,
    tenant: TenantWithKey,
    aws: None,
    throttling_apigateway: Any,
    retry_sleeps: list[float],
) -> None:
    throttling_apigateway.throttles_left = 2
    reader = make_user("reader", allow("apigateway:GET"))
    body = client.post(
        "/api/v1/connections/test", json=user_body(reader), headers=tenant.headers
    ).json()
    assert body["ok"] is True, body
    assert throttling_apigateway.requests == 3
    assert len(retry_sleeps) == 2


def test_throttling_that_never_ends_is_throttled(
    client: TestClient,
    tenant: TenantWithKey,
    aws: None,
    throttling_apigateway: Any,
    retry_sleeps: list[float],
) -> None:
    throttling_apigateway.throttles_left = 100
    reader = make_user("reader", allow("apigateway:GET"))
    body = client.post(
        "/api/v1/connections/test", json=user_body(reader), headers=tenant.headers
    ).json()
    assert body["error"]["code"] == "throttled"
    # Every attempt botocore is allowed where a person waits.
    assert throttling_apigateway.requests == INTERACTIVE_ATTEMPTS
    assert "try again" in body["error"]["hint"].lower()


def test_aws_unreachable(
    client: TestClient,
    tenant: TenantWithKey,
    monkeypatch: pytest.MonkeyPatch,
    retry_sleeps: list[float],
) -> None:
    # Nothing listens on port 1: the same refusal a blocked network gives.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    body = client.post(
        "/api/v1/connections/test",
        json={
            "credential_type": "aws_user",
            "access_key_id": "AKIAIOSFODNN7EXAMPLE",
            "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        },
        headers=tenant.headers,
    ).json()
    assert body["ok"] is False
    assert body["error"]["code"] == "aws_unreachable"
    assert "network" in body["error"]["hint"]


# --------------------------------------------------------------------------------- assume_role
def _role_body(role_arn: str, **extra: Any) -> dict[str, Any]:
    return {"credential_type": "assume_role", "role_arn": role_arn, **extra}


def _access_role(platform_user: IamUser, external_id: str) -> str:
    """The customer's role of AWS-SETUP.md: trusts the platform, reads API Gateway."""
    return make_role(
        "APIGatewayAccessRole",
        trusted=platform_user.arn,
        external_id=external_id,
        statements=[allow("apigateway:GET")],
    )


def test_a_role_trusting_the_platform_with_the_tenants_external_id_passes(
    client: TestClient, tenant: TenantWithKey, platform_user: IamUser
) -> None:
    role_arn = _access_role(platform_user, tenant.tenant.external_id)
    # moto checks same-account trust policies only with IAM enforced, and then refuses every
    # API Gateway call; the trust policy is exercised in the failure test below, and here the
    # external id that reached STS is read back from moto.
    body = client.post(
        "/api/v1/connections/test", json=_role_body(role_arn), headers=tenant.headers
    ).json()
    assert body["ok"] is True, body
    assert body["arn"].startswith(f"arn:aws:sts::{MGMT}:assumed-role/APIGatewayAccessRole/")
    assert last_assumed(MGMT).external_id == tenant.tenant.external_id
    assert check(body, "assume_role")["ok"]
    assert check(body, "apigateway:GET")["ok"]


def test_a_wrong_external_id_means_the_role_is_not_assumable(
    client: TestClient, tenant: TenantWithKey, platform_user: IamUser
) -> None:
    role_arn = _access_role(platform_user, "the-customers-other-id")
    body = enforcing_iam(
        lambda: client.post(
            "/api/v1/connections/test", json=_role_body(role_arn), headers=tenant.headers
        )
    ).json()
    assert body["ok"] is False
    assert body["error"]["code"] == "role_not_assumable"
    assert "trust policy" in body["error"]["hint"]
    assert "sts:ExternalId" in body["error"]["hint"]
    assert platform_user.arn in body["error"]["hint"]
    assert check(body, "assume_role")["ok"] is False


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/connections/test"), ("POST", "/connections"), ("PATCH", "/connections/{id}")],
)
def test_a_tenant_cannot_choose_the_external_id_its_roles_are_assumed_with(
    client: TestClient, tenant: TenantWithKey, platform_user: IamUser, method: str, path: str
) -> None:
    """The confused deputy: another customer's role trusts the platform with that customer's
    external id. A tenant that could send it would assume that role; it cannot send any."""
    victims_role = _access_role(platform_user, "the-victims-external-id")
    saved = client.post(
        "/api/v1/connections",
        json=_role_body(victims_role, name="mine"),
        headers=tenant.headers,
    ).json()
    body = _role_body(victims_role, name="stolen", external_id="the-victims-external-id")
    if method == "PATCH":
        body = {"external_id": "the-victims-external-id"}
    before = client.get(f"/api/v1/connections/{saved['id']}", headers=tenant.headers).json()

    response = client.request(
        method, "/api/v1" + path.format(id=saved["id"]), json=body, headers=tenant.headers
    )

    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"] == [
        {
            "field": "external_id",
            "message": "is not accepted: every role is assumed with your tenant's external "
            "id, which the service issues",
        }
    ]
    assert "/api/v1/aws/setup" in problem["hint"]
    assert "sts:ExternalId" in problem["hint"]
    listed = client.get("/api/v1/connections", headers=tenant.headers).json()["items"]
    assert [c["name"] for c in listed] == ["mine"]
    after = client.get(f"/api/v1/connections/{saved['id']}", headers=tenant.headers).json()
    assert after == before
    # And the role is assumed with the tenant's own id, which that role does not trust.
    tested = enforcing_iam(
        lambda: client.post(f"/api/v1/connections/{saved['id']}/test", headers=tenant.headers)
    ).json()
    assert tested["error"]["code"] == "role_not_assumable"


def test_a_connection_saved_with_its_own_external_id_keeps_it_until_its_next_edit(
    client: TestClient, tenant: TenantWithKey, platform_user: IamUser, database: Database
) -> None:
    """Connections saved before 0.6 with an external id of the tenant's choosing (the
    migration kept those that differ from the tenant's own) go on working, flagged, and the
    next edit switches them to the tenant's external id."""
    role_arn = _access_role(platform_user, "customer-chosen-id")
    created = client.post(
        "/api/v1/connections",
        json=_role_body(role_arn, name="legacy", session_name="sec-team"),
        headers=tenant.headers,
    ).json()
    with database.session() as session:
        stored = session.get(Connection, uuid.UUID(created["id"]))
        assert stored is not None
        stored.external_id = "customer-chosen-id"

    read = client.get(f"/api/v1/connections/{created['id']}", headers=tenant.headers).json()
    assert read["external_id_override"] is True
    assert read["external_id"] == "customer-chosen-id"
    tested = client.post(f"/api/v1/connections/{created['id']}/test", headers=tenant.headers)
    assert tested.json()["ok"] is True
    assert tested.json()["arn"].endswith("/sec-team")
    assert last_assumed(MGMT).external_id == "customer-chosen-id"

    renamed = client.patch(
        f"/api/v1/connections/{created['id']}", json={"name": "renamed"}, headers=tenant.headers
    ).json()

    assert renamed["external_id_override"] is False
    assert renamed["external_id"] is None
    assert renamed["status"] == "untested"  # its last test used the old id
    client.post(f"/api/v1/connections/{created['id']}/test", headers=tenant.headers)
    assert last_assumed(MGMT).external_id == tenant.tenant.external_id


def test_a_saved_connection_test_records_its_status(
    client: TestClient, tenant: TenantWithKey, platform_user: IamUser
) -> None:
    role_arn = _access_role(platform_user, tenant.tenant.external_id)
    created = client.post(
        "/api/v1/connections", json={"name": "prod", **_role_body(role_arn)}, headers=tenant.headers
    ).json()
    url = f"/api/v1/connections/{created['id']}"
    result = client.post(f"{url}/test", headers=tenant.headers).json()
    assert result["ok"] is True
    saved = client.get(url, headers=tenant.headers).json()
    assert saved["status"] == "ok"
    assert saved["account_id"] == MGMT
    assert datetime.fromisoformat(saved["last_tested_at"]).tzinfo is not None

    # The customer changes the trust policy's external id: the next test says so, and the
    # status follows.
    boto3.client("iam").update_assume_role_policy(
        RoleName="APIGatewayAccessRole",
        PolicyDocument=trust_policy(platform_user.arn, "rotated"),
    )
    failed = enforcing_iam(lambda: client.post(f"{url}/test", headers=tenant.headers)).json()
    assert failed["error"]["code"] == "role_not_assumable"
    saved = client.get(url, headers=tenant.headers).json()
    assert saved["status"] == "failed"
    assert saved["last_error_code"] == "role_not_assumable"
    assert saved["account_id"] == MGMT  # what the last good test found stays

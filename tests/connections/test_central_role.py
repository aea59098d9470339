"""A central role over the demo organization: every account listed, each child role checked."""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from fastapi.testclient import TestClient

from app.integrations.aws import sessions
from app.integrations.aws.demo_organization import SeededOrganization, seed_demo_organization
from tests.conftest import TenantWithKey
from tests.connections.aws_fixtures import IamUser, StubPlan, organization_description


@pytest.fixture
def org(platform_user: IamUser, tenant: TenantWithKey) -> SeededOrganization:
    return seed_demo_organization(
        platform_principal_arn=platform_user.arn, external_id=tenant.tenant.external_id
    )


def central_body(org: SeededOrganization, **extra: Any) -> dict[str, Any]:
    return {"credential_type": "central_role", "central_role_arn": org.central_role_arn, **extra}


def test_every_member_account_is_reachable_and_the_management_account_is_explained(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    settings: Any,
    app: Any,
    stub_service: dict[str, StubPlan],
) -> None:
    # moto lets any role be assumed; AWS refuses a role that does not exist. The management
    # account has no child role (service-managed StackSets never deploy there), so the
    # Stubber gives the central role's STS client AWS's answers: AccessDenied for the
    # management account, credentials for the others, in ListAccounts order (one at a time).
    app.state.settings = settings.model_copy(update={"aws_max_concurrency": 1})
    accounts = boto3.client("organizations").list_accounts()["Accounts"]
    assert len(accounts) == 5

    def plan(stubber: Stubber) -> None:
        stubber.add_response(
            "get_caller_identity",
            {
                "Account": org.management_account_id,
                "Arn": f"arn:aws:sts::{org.management_account_id}:assumed-role/"
                "APIsecCentralRole/APIsec-Onboarder",
                "UserId": "AROAEXAMPLE:APIsec-Onboarder",
            },
            {},
        )
        for account in accounts:
            role_arn = f"arn:aws:iam::{account['Id']}:role/APIsecChildRole"
            expected = {
                "RoleArn": role_arn,
                "RoleSessionName": "APIsec-Onboarder",
                "DurationSeconds": 3600,
                "ExternalId": tenant.tenant.external_id,
            }
            if account["Id"] == org.management_account_id:
                stubber.add_client_error(
                    "assume_role",
                    service_error_code="AccessDenied",
                    http_status_code=403,
                    service_message=f"User: arn:aws:sts::{org.management_account_id}:assumed-role/"
                    f"APIsecCentralRole/APIsec-Onboarder is not authorized to perform: "
                    f"sts:AssumeRole on resource: {role_arn}",
                    expected_params=expected,
                )
            else:
                stubber.add_response(
                    "assume_role",
                    {
                        "Credentials": {
                            "AccessKeyId": "ASIAIOSFODNN7EXAMPLE",
                            "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                            "SessionToken": "token",
                            "Expiration": dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
                        }
                    },
                    expected,
                )

    stub_service[f"sts@{org.central_role_arn}"] = plan
    body = client.post(
        "/api/v1/connections/test", json=central_body(org), headers=tenant.headers
    ).json()

    assert body["ok"] is True, body
    assert body["error"] is None
    assert body["account_id"] == org.management_account_id
    by_id = {account["account_id"]: account for account in body["accounts"]}
    assert set(by_id) == {org.management_account_id, *org.member_account_ids}
    for member in org.member_account_ids:
        assert by_id[member]["reachable"] is True
        assert by_id[member]["status"] == "ACTIVE"
        assert by_id[member]["error"] is None
    management = by_id[org.management_account_id]
    assert management["management_account"] is True
    assert not any(by_id[member]["management_account"] for member in org.member_account_ids)
    assert management["reachable"] is False
    assert management["error"]["code"] == "role_not_assumable"
    assert "StackSets never deploy to the management account" in management["error"]["hint"]
    names = [check["name"] for check in body["checks"]]
    assert names == ["assume_role", "organizations:ListAccounts", "child_roles"]
    assert "4 of 5 active accounts reachable" in body["checks"][2]["detail"]


def test_child_roles_are_checked_concurrently_across_the_organization(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization
) -> None:
    body = client.post(
        "/api/v1/connections/test", json=central_body(org), headers=tenant.headers
    ).json()
    assert body["ok"] is True
    assert len(body["accounts"]) == 5
    # Under moto every role can be assumed, the management account's too.
    assert all(account["reachable"] for account in body["accounts"])


@pytest.mark.parametrize(
    "aws_says",
    [
        # AWS's answer (a Stubber: moto does not give it).
        "AWSOrganizationsNotInUseException",
        # moto's answer, an empty list: AWS never lists an organization without its
        # management account, so it is taken for what AWS would say.
        "no account",
    ],
)
def test_a_central_role_outside_an_organization(
    client: TestClient,
    tenant: TenantWithKey,
    platform_user: IamUser,
    stub_service: dict[str, StubPlan],
    aws_says: str,
) -> None:
    if aws_says != "no account":

        def plan(stubber: Stubber) -> None:
            # DescribeOrganization says so first (and the listing goes on without it).
            for operation in ("describe_organization", "list_accounts"):
                stubber.add_client_error(
                    operation,
                    service_error_code=aws_says,
                    http_status_code=400,
                    service_message="Your account is not a member of an organization.",
                )

        stub_service["organizations"] = plan
    body = client.post(
        "/api/v1/connections/test",
        json={
            "credential_type": "central_role",
            "central_role_arn": "arn:aws:iam::123456789012:role/APIsecCentralRole",
        },
        headers=tenant.headers,
    ).json()
    assert body["ok"] is False
    assert body["error"]["code"] == "organizations_not_in_use"
    assert "management account" in body["error"]["hint"]
    assert [c["ok"] for c in body["checks"]] == [True, False]


def test_a_central_role_in_a_member_account(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    stub_service: dict[str, StubPlan],
) -> None:
    # moto lets a member account list the organization; AWS does not: the Stubber answers.
    # (Any account of the organization may describe it.)
    def plan(stubber: Stubber) -> None:
        stubber.add_response(
            "describe_organization", organization_description(org.management_account_id)
        )
        stubber.add_client_error(
            "list_accounts",
            service_error_code="AccessDeniedException",
            http_status_code=400,
            service_message="You don't have permissions to access this resource.",
        )

    stub_service["organizations"] = plan
    body = client.post(
        "/api/v1/connections/test", json=central_body(org), headers=tenant.headers
    ).json()
    assert body["error"]["code"] == "not_management_account"
    assert "delegated administrator" in body["error"]["hint"]


def test_listing_reads_every_page(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    stub_service: dict[str, StubPlan],
) -> None:
    # moto does not page ListAccounts: the Stubber gives three pages of at most 20, as AWS.
    ids = [f"{100000000000 + index}" for index in range(45)]

    def plan(stubber: Stubber) -> None:
        stubber.add_response(
            "describe_organization", organization_description(org.management_account_id)
        )
        for page, token in enumerate([None, "p2", "p3"]):
            chunk = ids[page * 20 : page * 20 + 20]
            response: dict[str, Any] = {
                "Accounts": [
                    {
                        "Id": i,
                        "Name": f"acct-{i}",
                        "Status": "ACTIVE",
                        "Arn": f"arn:aws:organizations::1:account/o-x/{i}",
                        "Email": "a@example.com",
                    }
                    for i in chunk
                ]
            }
            if page < 2:
                response["NextToken"] = ["p2", "p3"][page]
            expected: dict[str, Any] = {"MaxResults": 20}
            if token:
                expected["NextToken"] = token
            stubber.add_response("list_accounts", response, expected)

    stub_service["organizations"] = plan
    body = client.post(
        "/api/v1/connections/test", json=central_body(org), headers=tenant.headers
    ).json()
    assert [account["account_id"] for account in body["accounts"]] == ids
    assert "45 accounts" in body["checks"][1]["detail"]


def test_role_chained_sessions_renew_before_they_expire(
    org: SeededOrganization, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Work that outlives the one-hour role-chain limit keeps going: the credentials renew."""
    platform = sessions.AwsSession.platform()
    central = platform.assume_role(
        role_arn=org.central_role_arn, session_name="long-run", external_id="xx"
    )
    child = central.assume_role(
        role_arn=f"arn:aws:iam::{org.member_account_ids[0]}:role/APIsecChildRole",
        session_name="long-run",
        external_id="xx",
    )
    apigateway = child.client("apigateway", "us-east-1")
    first_key = apigateway._request_signer._credentials.get_frozen_credentials().access_key
    apigateway.get_rest_apis(limit=1)

    # Minute 55 of the hour: the next call renews the credentials (botocore's mandatory
    # refresh window) instead of failing at minute 61. (The renewed ones expire an hour after
    # the real now, so the clock cannot be moved past the first expiry in one jump.)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=55)
    monkeypatch.setattr(sessions, "clock", lambda: later)
    apigateway.get_rest_apis(limit=1)
    renewed_key = apigateway._request_signer._credentials.get_frozen_credentials().access_key
    assert renewed_key != first_key

"""Partitions (an IAM user of AWS China or GovCloud) and a central role in a delegated
administrator account (the management account read with DescribeOrganization).

moto keeps one IAM per partition and, with IAM enforced, refuses a key in another partition's
STS as AWS does. Its Organizations answers DescribeOrganization from any member account (as AWS
does) but lists no account there (AWS lists them for a delegated administrator): that one
answer is given as AWS would (`aws_answers`, validated against the service model). moto cannot
register a delegated administrator for Organizations itself (AWS does it with a delegation
policy, PutResourcePolicy), which changes nothing moto answers. What moto cannot produce at all
(a denied DescribeOrganization, an identity in another partition, a child role denied) is
botocore's Stubber (`stub_service`), shaped as the service models say.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import botocore
import pytest
from botocore.stub import Stubber
from fastapi.testclient import TestClient

from app.core.db import Database
from app.integrations.aws.demo_organization import SeededOrganization, seed_demo_organization
from app.integrations.aws.discovery import DiscoveryEngine
from app.integrations.aws.sessions import AwsSession, SharedClients
from app.schedules.runs import RunServices
from tests.conftest import TenantWithKey
from tests.connections.aws_fixtures import IamUser, StubPlan, allow, enforcing_iam, make_user
from tests.discovery.test_discovery_engine import _children_answered_by_moto_except
from tests.schedules.conftest import DAILY_US, run_services, saved_schedule  # noqa: F401
from tests.schedules.test_runs import run_once

CONNECTIONS = "/api/v1/connections"


def china_user(name: str = "reader") -> IamUser:
    """An IAM user of the aws-cn partition (moto's IAM of that partition)."""
    iam = boto3.client("iam", region_name="cn-north-1")
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return IamUser(
        arn=arn, access_key_id=key["AccessKeyId"], secret_access_key=key["SecretAccessKey"]
    )


def user_body(user: IamUser, **extra: Any) -> dict[str, Any]:
    return {
        "credential_type": "aws_user",
        "access_key_id": user.access_key_id,
        "secret_access_key": user.secret_access_key,
        **extra,
    }


def check(body: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(item for item in body["checks"] if item["name"] == name)
    return found


# ---------------------------------------------------------------------------------- partitions
def test_an_iam_user_of_aws_china_is_tested_in_china(
    client: TestClient, tenant: TenantWithKey, aws: None
) -> None:
    user = china_user()
    assert user.arn.startswith("arn:aws-cn:iam::")
    body = client.post(
        f"{CONNECTIONS}/test", json=user_body(user, partition="aws-cn"), headers=tenant.headers
    ).json()
    assert body["ok"] is True, body
    assert body["arn"] == user.arn
    assert "cn-north-1" in check(body, "apigateway:GET")["detail"]
    assert "partition" not in check(body, "credentials")["detail"]


def test_a_china_key_tried_in_the_aws_partition_says_which_partition_to_set(
    client: TestClient, tenant: TenantWithKey, aws: None
) -> None:
    user = china_user()
    body = enforcing_iam(
        lambda: client.post(f"{CONNECTIONS}/test", json=user_body(user), headers=tenant.headers)
    ).json()
    assert body["error"]["code"] == "invalid_credentials"
    assert "tried in partition aws" in body["error"]["hint"]
    assert "set partition to aws-cn or aws-us-gov" in body["error"]["hint"]


def test_an_identity_in_another_partition_than_declared_is_said_in_the_check(
    client: TestClient, tenant: TenantWithKey, aws: None, stub_service: dict[str, StubPlan]
) -> None:
    reader = make_user("reader", allow("apigateway:GET"))
    gov_arn = "arn:aws-us-gov:iam::123456789012:user/reader"
    stub_service["sts"] = lambda stubber: stubber.add_response(
        "get_caller_identity",
        {"UserId": "AIDAEXAMPLE", "Account": "123456789012", "Arn": gov_arn},
        {},
    )
    body = client.post(f"{CONNECTIONS}/test", json=user_body(reader), headers=tenant.headers).json()
    detail = check(body, "credentials")["detail"]
    assert "That ARN is in partition aws-us-gov, not in the declared aws" in detail
    assert "set partition to aws-us-gov" in detail


def test_a_partition_botocore_does_not_serve_is_refused(
    client: TestClient, tenant: TenantWithKey, aws: None
) -> None:
    body = user_body(make_user("reader"), partition="aws-iso")
    response = client.post(f"{CONNECTIONS}/test", json=body, headers=tenant.headers)
    assert response.status_code == 422
    assert "partition" in response.text


def test_the_partition_is_stored_shown_and_used_by_a_saved_connection(
    client: TestClient, tenant: TenantWithKey, aws: None
) -> None:
    user = china_user()
    created = client.post(
        CONNECTIONS,
        json={"name": "china", **user_body(user, partition="aws-cn")},
        headers=tenant.headers,
    )
    assert created.status_code == 201, created.text
    connection_id = created.json()["id"]
    assert created.json()["partition"] == "aws-cn"
    assert (
        client.get(f"{CONNECTIONS}/{connection_id}", headers=tenant.headers).json()["partition"]
        == "aws-cn"
    )
    tested = client.post(f"{CONNECTIONS}/{connection_id}/test", headers=tenant.headers).json()
    assert tested["ok"] is True, tested
    assert tested["arn"] == user.arn

    regions = client.get(f"{CONNECTIONS}/{connection_id}/regions", headers=tenant.headers).json()
    assert {item["region"] for item in regions["items"]} == {"cn-north-1", "cn-northwest-1"}
    # A schedule looks in the partition's regions, and only there.
    schedule = {"frequency": "daily", "hour": 9, "minute": 0, "timezone": "Asia/Shanghai"}
    auto_onboard = f"{CONNECTIONS}/{connection_id}/auto-onboard"
    saved = client.put(
        auto_onboard, json={**schedule, "regions": ["cn-north-1"]}, headers=tenant.headers
    )
    assert saved.status_code == 200, saved.text
    refused = client.put(
        auto_onboard, json={**schedule, "regions": ["us-east-1"]}, headers=tenant.headers
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"].endswith("regions[0]")

    changed = client.patch(
        f"{CONNECTIONS}/{connection_id}", json={"partition": "aws-us-gov"}, headers=tenant.headers
    ).json()
    assert changed["partition"] == "aws-us-gov"
    assert changed["status"] == "untested"
    reset = client.patch(
        f"{CONNECTIONS}/{connection_id}", json={"partition": None}, headers=tenant.headers
    ).json()
    assert reset["partition"] == "aws"


def test_a_roles_partition_is_its_arns(client: TestClient, tenant: TenantWithKey) -> None:
    created = client.post(
        CONNECTIONS,
        json={
            "name": "gov",
            "credential_type": "assume_role",
            "role_arn": "arn:aws-us-gov:iam::999988887777:role/APIGatewayAccessRole",
        },
        headers=tenant.headers,
    ).json()
    assert created["partition"] == "aws-us-gov"
    refused = client.patch(
        f"{CONNECTIONS}/{created['id']}", json={"partition": "aws"}, headers=tenant.headers
    )
    assert refused.status_code == 422
    assert "partition" in refused.text


@pytest.mark.parametrize(
    ("partition", "endpoint"),
    [
        ("aws", "https://sts.us-east-1.amazonaws.com"),
        ("aws-cn", "https://sts.cn-north-1.amazonaws.com.cn"),
        ("aws-us-gov", "https://sts.us-gov-west-1.amazonaws.com"),
    ],
)
def test_sts_is_always_called_at_a_regional_endpoint(
    monkeypatch: pytest.MonkeyPatch, partition: str, endpoint: str
) -> None:
    # The legacy setting sends us-east-1's STS calls to the global endpoint; it is overridden.
    monkeypatch.setenv("AWS_STS_REGIONAL_ENDPOINTS", "legacy")
    plain = boto3.session.Session().client("sts", region_name="us-east-1")
    assert plain.meta.endpoint_url == "https://sts.amazonaws.com"

    session = AwsSession.from_access_key(
        access_key_id="AKIAIOSFODNN7EXAMPLE",
        secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        partition=partition,
    )
    assert session.client("sts").meta.endpoint_url == endpoint
    assert SharedClients().client("sts", "us-east-1").meta.endpoint_url == (
        "https://sts.us-east-1.amazonaws.com"
    )


def test_the_region_list_says_where_it_comes_from(
    client: TestClient, tenant: TenantWithKey, aws: None
) -> None:
    reader = make_user("reader", allow("apigateway:GET"))
    created = client.post(
        CONNECTIONS, json={"name": "reader", **user_body(reader)}, headers=tenant.headers
    ).json()
    body = client.get(f"{CONNECTIONS}/{created['id']}/regions", headers=tenant.headers).json()
    assert body["source"] == {"botocore_version": botocore.__version__, "data": "endpoints.json"}
    assert "us-east-1" in {item["region"] for item in body["items"]}


# ------------------------------------------------------------------- delegated administrator
@pytest.fixture
def org(platform_user: IamUser, tenant: TenantWithKey) -> SeededOrganization:
    return seed_demo_organization(
        platform_principal_arn=platform_user.arn, external_id=tenant.tenant.external_id
    )


@pytest.fixture
def delegated_central_role(org: SeededOrganization, aws_answers: dict[tuple[str, str], Any]) -> str:
    """A central role in a member account that AWS lets list the organization (a delegated
    administrator): ListAccounts answers there as AWS would; DescribeOrganization is moto's."""
    accounts = boto3.client("organizations").list_accounts()["Accounts"]
    aws_answers[("organizations", "ListAccounts")] = lambda _: {"Accounts": accounts}
    return f"arn:aws:iam::{org.member_account_ids[0]}:role/APIsecCentralRole"


def test_accounts_name_the_real_management_account_of_a_delegated_administrator(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, delegated_central_role: str
) -> None:
    admin = org.member_account_ids[0]
    created = client.post(
        CONNECTIONS,
        json={
            "name": "org",
            "credential_type": "central_role",
            "central_role_arn": delegated_central_role,
        },
        headers=tenant.headers,
    )
    assert created.status_code == 201, created.text
    response = client.get(f"{CONNECTIONS}/{created.json()['id']}/accounts", headers=tenant.headers)
    assert response.status_code == 200, response.text
    by_id = {item["account_id"]: item for item in response.json()["items"]}
    assert set(by_id) == {org.management_account_id, *org.member_account_ids}
    assert by_id[org.management_account_id]["management_account"] is True
    assert by_id[admin]["management_account"] is False
    assert [a for a, item in by_id.items() if item["management_account"]] == [
        org.management_account_id
    ]


def children_of_delegated_admin(
    org: SeededOrganization, accounts: list[dict[str, Any]], *, with_identity: bool
) -> StubPlan:
    """The delegated administrator's central role's STS answers, one account at a time in
    ListAccounts order: AccessDenied for the management account's child role (StackSets never
    deploy there), credentials for every other account (after its own identity, for a test)."""
    admin = org.member_account_ids[0]

    def plan(stubber: Stubber) -> None:
        if with_identity:
            stubber.add_response(
                "get_caller_identity",
                {
                    "Account": admin,
                    "Arn": f"arn:aws:sts::{admin}:assumed-role/APIsecCentralRole/APIsec-Onboarder",
                    "UserId": "AROAEXAMPLE:APIsec-Onboarder",
                },
                {},
            )
        for account in accounts:
            role_arn = f"arn:aws:iam::{account['Id']}:role/APIsecChildRole"
            if account["Id"] == org.management_account_id:
                stubber.add_client_error(
                    "assume_role",
                    service_error_code="AccessDenied",
                    http_status_code=403,
                    service_message=f"User: arn:aws:sts::{admin}:assumed-role/APIsecCentralRole"
                    f"/APIsec-Onboarder is not authorized to perform: sts:AssumeRole on "
                    f"resource: {role_arn}",
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
                )

    return plan


def test_a_delegated_administrators_test_explains_the_management_account_not_its_own(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    delegated_central_role: str,
    settings: Any,
    app: Any,
    stub_service: dict[str, StubPlan],
) -> None:
    # The central role's STS client: AccessDenied for the management account's child role
    # (StackSets never deploy there), credentials for every other account, in order.
    app.state.settings = settings.model_copy(update={"aws_max_concurrency": 1})
    admin = org.member_account_ids[0]
    accounts = boto3.client("organizations").list_accounts()["Accounts"]

    plan = children_of_delegated_admin(org, accounts, with_identity=True)
    stub_service[f"sts@{delegated_central_role}"] = plan
    body = client.post(
        f"{CONNECTIONS}/test",
        json={"credential_type": "central_role", "central_role_arn": delegated_central_role},
        headers=tenant.headers,
    ).json()
    assert body["ok"] is True, body
    by_id = {account["account_id"]: account for account in body["accounts"]}
    management = by_id[org.management_account_id]
    assert management["management_account"] is True
    assert management["reachable"] is False
    assert "StackSets never deploy to the management account" in management["error"]["hint"]
    assert by_id[admin]["management_account"] is False
    assert by_id[admin]["reachable"] is True
    assert (
        f"Its management account is {org.management_account_id}; the central role is in "
        f"{admin}, a delegated administrator account."
    ) in check(body, "organizations:ListAccounts")["detail"]


def test_a_denied_describe_organization_falls_back_to_the_central_roles_account(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    stub_service: dict[str, StubPlan],
) -> None:
    accounts = boto3.client("organizations").list_accounts()["Accounts"]

    def plan(stubber: Stubber) -> None:
        stubber.add_client_error(
            "describe_organization",
            service_error_code="AccessDeniedException",
            http_status_code=400,
            service_message="You don't have permissions to access this resource.",
        )
        stubber.add_response("list_accounts", {"Accounts": accounts}, {"MaxResults": 20})

    stub_service[f"organizations@{org.central_role_arn}"] = plan
    body = client.post(
        f"{CONNECTIONS}/test",
        json={"credential_type": "central_role", "central_role_arn": org.central_role_arn},
        headers=tenant.headers,
    ).json()
    assert body["ok"] is True, body
    detail = check(body, "organizations:ListAccounts")["detail"]
    assert "organizations:DescribeOrganization failed (access_denied)" in detail
    assert f"central role's account {org.management_account_id} is taken" in detail
    flagged = [a["account_id"] for a in body["accounts"] if a["management_account"]]
    assert flagged == [org.management_account_id]


def test_a_delegated_administrators_run_passes_over_the_management_account_by_design(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    delegated_central_role: str,
    database: Database,
    run_services: RunServices,  # noqa: F811 - the fixture
    stub_service: dict[str, StubPlan],
) -> None:
    # The central role's STS answers one account at a time in ListAccounts order (a Stubber
    # with moto's own credentials for each child role), AccessDenied in the management
    # account, which has no child role: the run makes one AWS request at a time.
    stub_service[f"sts@{delegated_central_role}"] = _children_answered_by_moto_except(
        org, tenant.tenant.external_id, denied=org.management_account_id
    )
    created = client.post(
        CONNECTIONS,
        json={
            "name": "org",
            "credential_type": "central_role",
            "central_role_arn": delegated_central_role,
        },
        headers=tenant.headers,
    ).json()
    saved_schedule(client, tenant, created["id"], **{**DAILY_US, "regions": ["us-east-1"]})
    services = RunServices(
        engine=DiscoveryEngine(max_in_flight=1),
        box=run_services.box,
        settings=run_services.settings,
    )

    run = run_once(client, tenant, created["id"], database, services)

    assert (run["status"], run["errors"]) == ("succeeded", [])
    statuses = {r["account_id"]: r["status"] for r in run["results"]}
    assert statuses[org.management_account_id] == "unreachable"
    # The delegated administrator's own account is a member like the others: reached.
    assert statuses[org.member_account_ids[0]] == "ok"

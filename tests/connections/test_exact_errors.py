"""What a connection test answers for AWS's exact refusals: a bad signature, API Gateway's 401,
a skewed clock, AssumeRole denied by the caller's own policy or by an SCP, API Gateway denied by
an SCP, and a child role whose trust policy does not match the template.

moto produces none of these answers (it neither checks request times nor words its denials
with IAM's reasons), so botocore's Stubber gives them, shaped as the service models say, on the
clients of the identity that would receive them (`stub_service`); moto answers the rest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import boto3
import pytest
import yaml
from botocore.stub import Stubber
from fastapi.testclient import TestClient

from app.integrations.aws.demo_organization import SeededOrganization, seed_demo_organization
from tests.conftest import TenantWithKey
from tests.connections.aws_fixtures import IamUser, StubPlan, allow, make_user

SIGNATURE_EXPIRED = (
    "Signature expired: 20261201T040000Z is now earlier than 20261201T045500Z "
    "(20261201T050000Z - 5 min.)"
)
ROLE = "arn:aws:iam::999988887777:role/APIGatewayAccessRole"


def user_body(user: IamUser) -> dict[str, Any]:
    return {
        "credential_type": "aws_user",
        "access_key_id": user.access_key_id,
        "secret_access_key": user.secret_access_key,
    }


def connection_test(client: TestClient, tenant: TenantWithKey, body: dict[str, Any]) -> Any:
    response = client.post("/api/v1/connections/test", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


def apigateway_refuses(code: str, status: int, message: str) -> StubPlan:
    return lambda stubber: stubber.add_client_error(
        "get_rest_apis",
        service_error_code=code,
        http_status_code=status,
        service_message=message,
        expected_params={"limit": 1},
    )


@pytest.fixture
def org(platform_user: IamUser, tenant: TenantWithKey) -> SeededOrganization:
    return seed_demo_organization(
        platform_principal_arn=platform_user.arn, external_id=tenant.tenant.external_id
    )


def child_roles_answer(
    org: SeededOrganization, answer: Callable[[Stubber, str, dict[str, Any]], None]
) -> StubPlan:
    """The central role's STS client: who it is, then each child role's AssumeRole answer in
    ListAccounts order (one at a time, aws_max_concurrency=1)."""
    accounts = boto3.client("organizations").list_accounts()["Accounts"]

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
            answer(stubber, role_arn, {"RoleArn": role_arn, "RoleSessionName": "APIsec-Onboarder"})

    return plan


def assume_denied(message: str) -> Callable[[Stubber, str, dict[str, Any]], None]:
    def answer(stubber: Stubber, role_arn: str, _: dict[str, Any]) -> None:
        stubber.add_client_error(
            "assume_role",
            service_error_code="AccessDenied",
            http_status_code=403,
            service_message=message.format(role_arn=role_arn),
        )

    return answer


def assume_granted(stubber: Stubber, role_arn: str, _: dict[str, Any]) -> None:
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


# ------------------------------------------------------------------- signatures and the 401
def test_api_gateways_bad_signature_is_invalid_credentials_pointing_at_the_secret(
    client: TestClient, tenant: TenantWithKey, aws: None, stub_service: dict[str, StubPlan]
) -> None:
    stub_service["apigateway"] = apigateway_refuses(
        "InvalidSignatureException",
        403,
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method.",
    )
    body = connection_test(client, tenant, user_body(make_user("reader", allow("apigateway:GET"))))
    assert body["ok"] is False
    assert body["error"]["code"] == "invalid_credentials"
    assert "secret access key does not belong" in body["error"]["hint"]


def test_api_gateways_401_is_invalid_credentials(
    client: TestClient, tenant: TenantWithKey, aws: None, stub_service: dict[str, StubPlan]
) -> None:
    stub_service["apigateway"] = apigateway_refuses("UnauthorizedException", 401, "Unauthorized")
    body = connection_test(client, tenant, user_body(make_user("reader", allow("apigateway:GET"))))
    assert body["error"]["code"] == "invalid_credentials"
    assert "AWS refused to authenticate the request" in body["error"]["hint"]
    assert "session token" in body["error"]["hint"]


# ------------------------------------------------------------------------------- clock skew
def test_a_skewed_clock_is_clock_skew_not_bad_credentials(
    client: TestClient, tenant: TenantWithKey, aws: None, stub_service: dict[str, StubPlan]
) -> None:
    stub_service["sts"] = lambda stubber: stubber.add_client_error(
        "get_caller_identity",
        service_error_code="SignatureDoesNotMatch",
        http_status_code=403,
        service_message=SIGNATURE_EXPIRED,
    )
    body = connection_test(client, tenant, user_body(make_user("reader", allow("apigateway:GET"))))
    assert body["error"]["code"] == "clock_skew"
    assert "clock of the host the service runs on" in body["error"]["hint"]
    assert "NTP" in body["error"]["hint"]


def test_a_skewed_clock_is_not_blamed_on_the_customers_trust_policy(
    client: TestClient,
    tenant: TenantWithKey,
    platform_user: IamUser,
    stub_service: dict[str, StubPlan],
) -> None:
    stub_service["sts"] = lambda stubber: stubber.add_client_error(
        "assume_role",
        service_error_code="SignatureDoesNotMatch",
        http_status_code=403,
        service_message=SIGNATURE_EXPIRED,
    )
    body = connection_test(client, tenant, {"credential_type": "assume_role", "role_arn": ROLE})
    assert body["error"]["code"] == "clock_skew"
    assert "trust policy" not in body["error"]["hint"]


# ------------------------------------------------------------- AssumeRole: whose permission
def test_a_platform_without_sts_assume_role_is_the_operators_to_fix(
    client: TestClient,
    tenant: TenantWithKey,
    platform_user: IamUser,
    stub_service: dict[str, StubPlan],
) -> None:
    stub_service["sts"] = lambda stubber: stubber.add_client_error(
        "assume_role",
        service_error_code="AccessDenied",
        http_status_code=403,
        service_message=f"User: {platform_user.arn} is not authorized to perform: "
        f"sts:AssumeRole on resource: {ROLE} because no identity-based policy allows the "
        "sts:AssumeRole action",
    )
    body = connection_test(client, tenant, {"credential_type": "assume_role", "role_arn": ROLE})
    assert body["error"]["code"] == "platform_not_permitted"
    hint = body["error"]["hint"]
    assert hint.startswith(f"The operator must allow sts:AssumeRole on {ROLE}")
    assert f"IAM policy of the platform's principal {platform_user.arn}" in hint
    assert "trust policy is not the cause" in hint


def test_a_central_role_without_sts_assume_role_on_the_child_roles(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    app: Any,
    settings: Any,
    stub_service: dict[str, StubPlan],
) -> None:
    app.state.settings = settings.model_copy(update={"aws_max_concurrency": 1})
    stub_service[f"sts@{org.central_role_arn}"] = child_roles_answer(
        org,
        assume_denied(
            f"User: arn:aws:sts::{org.management_account_id}:assumed-role/APIsecCentralRole/"
            "APIsec-Onboarder is not authorized to perform: sts:AssumeRole on resource: "
            "{role_arn} because no identity-based policy allows the sts:AssumeRole action"
        ),
    )
    body = connection_test(
        client,
        tenant,
        {"credential_type": "central_role", "central_role_arn": org.central_role_arn},
    )
    assert body["ok"] is False
    assert body["error"]["code"] == "access_denied"
    hint = body["error"]["hint"]
    assert "Allow sts:AssumeRole on arn:aws:iam::*:role/APIsecChildRole" in hint
    assert f"permissions policy of the central role {org.central_role_arn}" in hint
    assert {account["error"]["code"] for account in body["accounts"]} == {"access_denied"}


def test_a_service_control_policy_denying_assume_role(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    app: Any,
    settings: Any,
    stub_service: dict[str, StubPlan],
) -> None:
    app.state.settings = settings.model_copy(update={"aws_max_concurrency": 1})
    stub_service[f"sts@{org.central_role_arn}"] = child_roles_answer(
        org,
        assume_denied(
            f"User: arn:aws:sts::{org.management_account_id}:assumed-role/APIsecCentralRole/"
            "APIsec-Onboarder is not authorized to perform: sts:AssumeRole on resource: "
            "{role_arn} with an explicit deny in a service control policy"
        ),
    )
    body = connection_test(
        client,
        tenant,
        {"credential_type": "central_role", "central_role_arn": org.central_role_arn},
    )
    assert body["error"]["code"] == "access_denied"
    assert (
        "A service control policy (SCP) of the organization denies sts:AssumeRole to "
        + (org.central_role_arn)
        in body["error"]["hint"]
    )


# ------------------------------------------------------------- API Gateway denied by an SCP
def test_api_gateway_denied_by_a_service_control_policy_in_the_region(
    client: TestClient, tenant: TenantWithKey, aws: None, stub_service: dict[str, StubPlan]
) -> None:
    reader = make_user("reader", allow("apigateway:GET"))
    stub_service["apigateway"] = apigateway_refuses(
        "AccessDeniedException",
        403,
        f"User: {reader.arn} is not authorized to perform: apigateway:GET on resource: "
        "arn:aws:apigateway:us-east-1::/restapis with an explicit deny in a service control "
        "policy",
    )
    body = connection_test(client, tenant, user_body(reader))
    assert body["error"]["code"] == "region_denied_by_policy"
    account = reader.arn.split(":")[4]
    assert body["error"]["message"].startswith(
        "The organization's service control policy denies API Gateway in region us-east-1 for "
        f"account {account}."
    )
    assert "Control Tower's region deny control" in body["error"]["hint"]


# --------------------------------------------------- the child role's trust and its template
def test_the_child_role_hint_says_what_the_setup_template_grants(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    app: Any,
    settings: Any,
    stub_service: dict[str, StubPlan],
) -> None:
    """A member account whose child role does not trust the central role: the hint names the
    trust the template handed out by GET /aws/setup grants, and nothing it does not."""
    app.state.settings = settings.model_copy(update={"aws_max_concurrency": 1})
    broken = org.member_account_ids[0]

    def answer(stubber: Stubber, role_arn: str, expected: dict[str, Any]) -> None:
        if f"::{broken}:" in role_arn:
            assume_denied(
                f"User: arn:aws:sts::{org.management_account_id}:assumed-role/"
                "APIsecCentralRole/APIsec-Onboarder is not authorized to perform: "
                "sts:AssumeRole on resource: {role_arn}"
            )(stubber, role_arn, expected)
        else:
            assume_granted(stubber, role_arn, expected)

    stub_service[f"sts@{org.central_role_arn}"] = child_roles_answer(org, answer)
    body = connection_test(
        client,
        tenant,
        {"credential_type": "central_role", "central_role_arn": org.central_role_arn},
    )
    by_id = {account["account_id"]: account for account in body["accounts"]}
    error = by_id[broken]["error"]
    assert error["code"] == "role_not_assumable"
    hint = error["hint"]

    setup = client.get("/api/v1/aws/setup", headers=tenant.headers).json()
    template = yaml.safe_load(setup["child_role"]["cloudformation_template"])
    role = template["Resources"][setup["child_role"]["role_name"]]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    (parameter,) = template["Parameters"]
    trusted = (
        statement["Principal"]["AWS"]["Fn::Sub"]
        .replace("${AWS::Partition}", "aws")
        .replace("${" + parameter + "}", org.management_account_id)
    )
    assert trusted == org.central_role_arn
    assert f"its trust policy allows sts:AssumeRole to {trusted}." in hint
    assert f"the parameter {parameter} must be {org.management_account_id}" in hint
    assert ("sts:ExternalId" in hint) is ("Condition" in statement)

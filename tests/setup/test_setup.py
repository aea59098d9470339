"""GET /aws/setup: the principal to trust, the tenant's external id, policies and templates."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
import yaml
from cfnlint.api import lint_all  # type: ignore[import-untyped]
from fastapi.testclient import TestClient
from moto import mock_aws

from app.core.config import Settings
from app.integrations.aws.platform import platform_principal, principal_arn_from_caller_arn
from tests.conftest import TenantWithKey
from tests.core.test_errors import assert_problem

SETUP = "/api/v1/aws/setup"
CONFIGURED = "arn:aws:iam::999988887777:role/onboarder-platform"
MOTO_CALLER = "arn:aws:sts::123456789012:user/moto"  # what moto's GetCallerIdentity says
DEAD_ENDPOINT = "http://127.0.0.1:1"


@pytest.fixture(autouse=True)
def _fresh_principal_cache() -> Iterator[None]:
    platform_principal.forget()
    yield
    platform_principal.forget()


def _setup(client: TestClient, who: TenantWithKey, **params: str) -> dict[str, Any]:
    response = client.get(SETUP, headers=who.headers, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _statement(document: dict[str, Any]) -> dict[str, Any]:
    assert document["Version"] == "2012-10-17"
    [statement] = document["Statement"]
    assert statement["Effect"] == "Allow"
    statement_: dict[str, Any] = statement
    return statement_


def _role_properties(template: str, logical_id: str) -> dict[str, Any]:
    parsed = yaml.safe_load(template)  # plain YAML: no CloudFormation tags to register
    assert parsed["AWSTemplateFormatVersion"] == "2010-09-09"
    assert parsed["Description"]
    assert parsed["Outputs"]["RoleArn"]["Value"] == {"Fn::GetAtt": [logical_id, "Arn"]}
    resource = parsed["Resources"][logical_id]
    assert resource["Type"] == "AWS::IAM::Role"
    properties: dict[str, Any] = resource["Properties"]
    assert properties["RoleName"] == logical_id
    assert properties["Description"]
    return properties


# ---------------------------------------------------------------------- the platform principal
@pytest.mark.parametrize(
    ("caller", "principal"),
    [
        (
            "arn:aws:sts::123456789012:assumed-role/OnboarderTask/1f2e3d4c",
            "arn:aws:iam::123456789012:role/OnboarderTask",
        ),
        (
            "arn:aws-cn:sts::123456789012:assumed-role/onboarder/i-0abc",
            "arn:aws-cn:iam::123456789012:role/onboarder",
        ),
        (
            "arn:aws-us-gov:sts::123456789012:assumed-role/Onboarder+Role=x,y.z@w-1/a.b@c=d",
            "arn:aws-us-gov:iam::123456789012:role/Onboarder+Role=x,y.z@w-1",
        ),
        (
            "arn:aws-iso-b:sts::123456789012:assumed-role/onboarder/botocore-session-1",
            "arn:aws-iso-b:iam::123456789012:role/onboarder",
        ),
        # Kept as they are: trust policies name these directly.
        ("arn:aws:iam::123456789012:user/onboarder", "arn:aws:iam::123456789012:user/onboarder"),
        (
            "arn:aws:iam::123456789012:user/ops/onboarder",
            "arn:aws:iam::123456789012:user/ops/onboarder",
        ),
        ("arn:aws-cn:iam::123456789012:root", "arn:aws-cn:iam::123456789012:root"),
        (
            "arn:aws:iam::123456789012:role/AlreadyARole",
            "arn:aws:iam::123456789012:role/AlreadyARole",
        ),
        (MOTO_CALLER, MOTO_CALLER),
    ],
)
def test_the_caller_arn_becomes_what_a_trust_policy_names(caller: str, principal: str) -> None:
    assert principal_arn_from_caller_arn(caller) == principal


def test_without_a_setting_the_principal_is_the_services_own_identity(
    client: TestClient, tenant: TenantWithKey
) -> None:
    with mock_aws():
        body = _setup(client, tenant)
    assert body["platform_principal_arn"] == MOTO_CALLER
    assert _statement(body["trust_policy"])["Principal"] == {"AWS": MOTO_CALLER}


def test_an_assumed_role_identity_is_trusted_as_its_role(
    client: TestClient, tenant: TenantWithKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    with mock_aws():
        iam = boto3.client("iam")
        role = iam.create_role(RoleName="OnboarderTask", AssumeRolePolicyDocument="{}")["Role"]
        credentials = boto3.client("sts").assume_role(
            RoleArn=role["Arn"], RoleSessionName="task-1f2e3d4c"
        )["Credentials"]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials["SecretAccessKey"])
        monkeypatch.setenv("AWS_SESSION_TOKEN", credentials["SessionToken"])
        body = _setup(client, tenant)
    assert body["platform_principal_arn"] == "arn:aws:iam::123456789012:role/OnboarderTask"


def test_the_identity_is_looked_up_once_per_process(
    client: TestClient, tenant: TenantWithKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    with mock_aws():
        first = _setup(client, tenant)
    # STS is gone now; the answer the process already has still stands.
    monkeypatch.setenv("AWS_ENDPOINT_URL", DEAD_ENDPOINT)
    second = _setup(client, tenant)
    assert second["platform_principal_arn"] == first["platform_principal_arn"] == MOTO_CALLER


def test_the_setting_wins_and_sts_is_not_asked(
    client: TestClient, tenant: TenantWithKey, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.platform_principal_arn = CONFIGURED
    monkeypatch.setenv("AWS_ENDPOINT_URL", DEAD_ENDPOINT)
    body = _setup(client, tenant)
    assert body["platform_principal_arn"] == CONFIGURED
    assert _statement(body["trust_policy"])["Principal"] == {"AWS": CONFIGURED}
    assert CONFIGURED in body["central_role"]["cloudformation_template"]


def test_unreachable_sts_is_a_503_that_says_what_to_configure(
    client: TestClient, tenant: TenantWithKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("AWS_ENDPOINT_URL", DEAD_ENDPOINT)
    started = time.monotonic()
    response = client.get(SETUP, headers=tenant.headers)
    assert time.monotonic() - started < 10  # a few quick attempts, not botocore's minutes
    body = assert_problem(response, 503, "platform_identity_unavailable")
    assert "could not be reached" in body["detail"]
    assert "ONBOARDER_PLATFORM_PRINCIPAL_ARN" in body["hint"]
    assert "credentials" in body["hint"]
    for leaked in (secret, "AKIAIOSFODNN7EXAMPLE", DEAD_ENDPOINT):
        assert leaked not in response.text

    # Failures are not remembered: once STS answers, so does the endpoint.
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    with mock_aws():
        assert _setup(client, tenant)["platform_principal_arn"] == MOTO_CALLER


def test_no_credentials_at_all_is_a_503(
    client: TestClient,
    tenant: TenantWithKey,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", DEAD_ENDPOINT)
    body = assert_problem(
        client.get(SETUP, headers=tenant.headers), 503, "platform_identity_unavailable"
    )
    assert "credentials" in body["detail"]
    assert "ONBOARDER_PLATFORM_PRINCIPAL_ARN" in body["hint"]


# ------------------------------------------------------------------------------ the tenant's
@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer not-a-key"}], ids=["missing", "unknown"]
)
def test_without_a_valid_key_it_is_401(client: TestClient, headers: dict[str, str]) -> None:
    assert_problem(client.get(SETUP, headers=headers), 401, "unauthorized")


def test_each_tenant_gets_its_own_external_id_everywhere(
    client: TestClient, make_tenant: Callable[..., TenantWithKey], settings: Settings
) -> None:
    settings.platform_principal_arn = CONFIGURED
    alice, bob = make_tenant(), make_tenant()
    for who, other in ((alice, bob), (bob, alice)):
        body = _setup(client, who)
        mine, theirs = who.tenant.external_id, other.tenant.external_id
        assert body["external_id"] == mine
        condition = {"StringEquals": {"sts:ExternalId": mine}}
        assert _statement(body["trust_policy"])["Condition"] == condition
        assert _statement(body["central_role"]["trust_policy"])["Condition"] == condition
        central = _role_properties(
            body["central_role"]["cloudformation_template"], "APIsecCentralRole"
        )
        assert _statement(central["AssumeRolePolicyDocument"])["Condition"] == condition
        assert mine in " ".join(body["instructions"]["assume_role"])
        assert theirs not in str(body)


# ----------------------------------------------------------------------- policies and templates
def test_policies_allow_only_what_each_role_needs(
    client: TestClient, tenant: TenantWithKey, settings: Settings
) -> None:
    settings.platform_principal_arn = CONFIGURED
    body = _setup(client, tenant)
    read_only = {"Effect": "Allow", "Action": ["apigateway:GET"], "Resource": "*"}
    assert _statement(body["read_only_policy"]) == read_only
    assert _statement(body["child_role"]["policy"]) == read_only
    assert _statement(body["central_role"]["policy"]) == {
        "Effect": "Allow",
        "Action": [
            "sts:AssumeRole",
            "organizations:ListAccounts",
            "organizations:DescribeOrganization",
            # A schedule's organizational_units, resolved to their accounts.
            "organizations:ListAccountsForParent",
            "organizations:ListOrganizationalUnitsForParent",
            "organizations:ListRoots",
        ],
        "Resource": "*",
    }
    assert _statement(body["trust_policy"]) == {
        "Effect": "Allow",
        "Principal": {"AWS": CONFIGURED},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": tenant.tenant.external_id}},
    }
    assert body["central_role"]["role_name"] == "APIsecCentralRole"
    assert body["child_role"]["role_name"] == "APIsecChildRole"


def test_the_templates_carry_the_trust_at_the_right_place(
    client: TestClient, tenant: TenantWithKey, settings: Settings
) -> None:
    settings.platform_principal_arn = CONFIGURED
    body = _setup(client, tenant)

    central = _role_properties(body["central_role"]["cloudformation_template"], "APIsecCentralRole")
    assert central["AssumeRolePolicyDocument"] == body["central_role"]["trust_policy"]
    assert _statement(central["AssumeRolePolicyDocument"])["Principal"] == {"AWS": CONFIGURED}
    assert central["Policies"][0]["PolicyDocument"] == body["central_role"]["policy"]

    child_text = body["child_role"]["cloudformation_template"]
    child = _role_properties(child_text, "APIsecChildRole")
    trust = _statement(child["AssumeRolePolicyDocument"])
    assert trust["Principal"] == {
        "AWS": {
            "Fn::Sub": "arn:${AWS::Partition}:iam::${ManagementAccountId}:role/APIsecCentralRole"
        }
    }
    assert "Condition" not in trust
    assert child["Policies"][0]["PolicyDocument"] == body["child_role"]["policy"]
    parameter = yaml.safe_load(child_text)["Parameters"]["ManagementAccountId"]
    assert parameter["AllowedPattern"] == r"^\d{12}$"
    assert "Default" not in parameter  # the service does not know it; StackSets must ask
    assert _statement(body["child_role"]["trust_policy"])["Principal"] == {
        "AWS": "arn:aws:iam::<MANAGEMENT_ACCOUNT_ID>:role/APIsecCentralRole"
    }


def test_a_management_account_id_is_filled_in(
    client: TestClient, tenant: TenantWithKey, settings: Settings
) -> None:
    settings.platform_principal_arn = "arn:aws-us-gov:iam::999988887777:role/onboarder"
    body = _setup(client, tenant, management_account_id="210987654321")
    parameters = yaml.safe_load(body["child_role"]["cloudformation_template"])["Parameters"]
    assert parameters["ManagementAccountId"]["Default"] == "210987654321"  # a string, not a number
    assert _statement(body["child_role"]["trust_policy"])["Principal"] == {
        "AWS": "arn:aws-us-gov:iam::210987654321:role/APIsecCentralRole"
    }
    assert "210987654321" in " ".join(body["instructions"]["central_role"])


@pytest.mark.parametrize("value", ["12345678901", "1234567890123", "12345678901a", " 123456789012"])
def test_a_management_account_id_must_be_12_digits(
    client: TestClient, tenant: TenantWithKey, value: str
) -> None:
    response = client.get(SETUP, headers=tenant.headers, params={"management_account_id": value})
    body = assert_problem(response, 422, "validation_error")
    [error] = body["errors"]
    assert error["field"] == "management_account_id"
    assert "12-digit" in error["message"]


def test_cfn_lint_finds_no_error_or_warning_in_the_templates(
    client: TestClient, tenant: TenantWithKey, settings: Settings
) -> None:
    settings.platform_principal_arn = CONFIGURED
    for params in ({}, {"management_account_id": "210987654321"}):
        body = _setup(client, tenant, **params)
        for role in ("central_role", "child_role"):
            findings = lint_all(body[role]["cloudformation_template"])
            serious = [str(match) for match in findings if match.rule.id[0] in {"E", "W"}]
            assert not serious, (role, serious)


def test_the_templates_deploy_and_create_the_roles_they_describe(
    client: TestClient, tenant: TenantWithKey, settings: Settings
) -> None:
    settings.platform_principal_arn = CONFIGURED
    body = _setup(client, tenant, management_account_id="210987654321")
    with mock_aws():
        cloudformation = boto3.client("cloudformation")
        for name, role in (("central", "central_role"), ("child", "child_role")):
            cloudformation.create_stack(
                StackName=f"onboarder-{name}",
                TemplateBody=body[role]["cloudformation_template"],
                Capabilities=["CAPABILITY_NAMED_IAM"],
            )
        iam = boto3.client("iam")
        central = iam.get_role(RoleName="APIsecCentralRole")["Role"]
        child = iam.get_role(RoleName="APIsecChildRole")["Role"]
        outputs = cloudformation.describe_stacks(StackName="onboarder-central")["Stacks"][0][
            "Outputs"
        ]
    assert central["AssumeRolePolicyDocument"] == body["central_role"]["trust_policy"]
    assert child["AssumeRolePolicyDocument"] == body["child_role"]["trust_policy"]
    assert outputs == [
        {
            "OutputKey": "RoleArn",
            "OutputValue": central["Arn"],
            "Description": outputs[0]["Description"],
        }
    ]


def test_instructions_cover_each_credential_type(
    client: TestClient, tenant: TenantWithKey, settings: Settings
) -> None:
    settings.platform_principal_arn = CONFIGURED
    instructions = _setup(client, tenant)["instructions"]
    assert set(instructions) == {"aws_user", "assume_role", "central_role"}
    assert all(len(steps) >= 3 for steps in instructions.values())
    assert CONFIGURED in " ".join(instructions["assume_role"])
    central = " ".join(instructions["central_role"])
    for fact in (
        "service-managed",
        "automatic deployment",
        "management account",
        "?management_account_id=",
    ):
        assert fact in central

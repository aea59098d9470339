"""The demo's simulated AWS refuses an AssumeRole its trust policy refuses, as AWS does (moto
alone assumes any role): what a person trying the demo sees fail must be AWS's real answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from app.integrations.aws.demo_trust import enforce_trust_policies, trusts

ACCOUNT = "123456789012"
CALLER = f"arn:aws:sts::{ACCOUNT}:user/moto"  # moto's identity for credentials it did not issue


def _trust(principal: str, external_id: str | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": "sts:AssumeRole",
    }
    if external_id:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return {"Version": "2012-10-17", "Statement": [statement]}


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        undo = enforce_trust_policies()
        try:
            yield
        finally:
            undo()


def _role(name: str, trust: dict[str, Any]) -> str:
    created = boto3.client("iam").create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps(trust)
    )
    return str(created["Role"]["Arn"])


def _assume(role_arn: str, external_id: str | None = None, **credentials: str) -> dict[str, Any]:
    extra = {"ExternalId": external_id} if external_id else {}
    answer: dict[str, Any] = boto3.client(
        "sts", region_name="us-east-1", **credentials
    ).assume_role(RoleArn=role_arn, RoleSessionName="test", **extra)
    return answer


def _refusal(role_arn: str, external_id: str | None = None) -> str:
    with pytest.raises(ClientError) as refused:
        _assume(role_arn, external_id)
    error = refused.value.response["Error"]
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Code"] == "AccessDenied"
    return str(error["Message"])


def test_a_role_that_trusts_the_caller_with_its_external_id_is_assumed(aws: None) -> None:
    role = _role("reader", _trust(CALLER, "the-tenants-id"))
    assert _assume(role, "the-tenants-id")["AssumedRoleUser"]["Arn"].endswith("/reader/test")


def test_another_external_id_a_missing_one_or_another_principal_is_refused_as_aws_says(
    aws: None,
) -> None:
    role = _role("reader", _trust(CALLER, "the-tenants-id"))
    other = _role("other", _trust(f"arn:aws:iam::{ACCOUNT}:role/LegacyScannerRole"))

    assert _refusal(role, "another-vendors-id") == (
        f"User: {CALLER} is not authorized to perform: sts:AssumeRole on resource: {role}"
    )
    _refusal(role)
    _refusal(other)
    _refusal(f"arn:aws:iam::{ACCOUNT}:role/does-not-exist")


def test_a_role_trusting_a_role_is_assumed_by_that_roles_sessions_only(aws: None) -> None:
    central = _role("central", _trust(CALLER))
    child = _role("child", _trust(central))
    stranger = _role("stranger", _trust(CALLER))

    def credentials(role_arn: str) -> dict[str, str]:
        issued = _assume(role_arn)["Credentials"]
        return {
            "aws_access_key_id": issued["AccessKeyId"],
            "aws_secret_access_key": issued["SecretAccessKey"],
            "aws_session_token": issued["SessionToken"],
        }

    assert _assume(child, **credentials(central))["AssumedRoleUser"]["Arn"].endswith("/child/test")
    with pytest.raises(ClientError, match="assumed-role/stranger/test is not authorized"):
        _assume(child, **credentials(stranger))


@pytest.mark.parametrize(
    ("principal", "trusted"),
    [
        (f"arn:aws:iam::{ACCOUNT}:root", True),
        (ACCOUNT, True),
        ("*", True),
        ("arn:aws:iam::210987654321:root", False),
    ],
)
def test_an_accounts_root_or_id_trusts_everyone_in_it(principal: str, trusted: bool) -> None:
    assert trusts(_trust(principal), CALLER, None) is trusted

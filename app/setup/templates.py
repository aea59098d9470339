"""The IAM policies and CloudFormation templates a customer deploys, built as data.

Templates are dumped from Python dicts with yaml.safe_dump, so quoting is always right, and
use only the long intrinsic-function form (``Fn::Sub``), so any YAML reader loads them.
"""

from __future__ import annotations

from typing import Any

import yaml

POLICY_VERSION = "2012-10-17"
TEMPLATE_FORMAT_VERSION = "2010-09-09"
CENTRAL_ROLE_NAME = "APIsecCentralRole"
CHILD_ROLE_NAME = "APIsecChildRole"
MANAGEMENT_ACCOUNT_PARAMETER = "ManagementAccountId"
MANAGEMENT_ACCOUNT_PLACEHOLDER = "<MANAGEMENT_ACCOUNT_ID>"
READ_ONLY_ACTIONS = ("apigateway:GET",)
# DescribeOrganization names the management account (the central role may be in a delegated
# administrator account), which has no child role. The OU actions resolve a schedule's
# organizational units (nested OUs included) to their accounts.
CENTRAL_ROLE_ACTIONS = (
    "sts:AssumeRole",
    "organizations:ListAccounts",
    "organizations:DescribeOrganization",
    "organizations:ListAccountsForParent",
    "organizations:ListOrganizationalUnitsForParent",
    "organizations:ListRoots",
)

Document = dict[str, Any]


def policy_document(*statements: Document) -> Document:
    return {"Version": POLICY_VERSION, "Statement": list(statements)}


def allow(actions: tuple[str, ...], resource: str = "*") -> Document:
    return {"Effect": "Allow", "Action": list(actions), "Resource": resource}


def trust_policy(principal: str | Document, external_id: str | None = None) -> Document:
    """Allows ``sts:AssumeRole`` to one principal, with the external id when one is given."""
    statement: Document = {
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": "sts:AssumeRole",
    }
    if external_id is not None:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return policy_document(statement)


def read_only_policy() -> Document:
    return policy_document(allow(READ_ONLY_ACTIONS))


def central_role_policy() -> Document:
    return policy_document(allow(CENTRAL_ROLE_ACTIONS))


def central_role_arn(management_account_id: str, *, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{management_account_id}:role/{CENTRAL_ROLE_NAME}"


def central_role_template(*, platform_principal_arn: str, external_id: str) -> str:
    """A stack for the management account: APIsecCentralRole, trusting the platform."""
    return _dump(
        {
            "AWSTemplateFormatVersion": TEMPLATE_FORMAT_VERSION,
            "Description": f"{CENTRAL_ROLE_NAME}: lets the API discovery platform list this "
            f"organization's accounts and assume {CHILD_ROLE_NAME} in each of them.",
            "Resources": {
                CENTRAL_ROLE_NAME: _role(
                    name=CENTRAL_ROLE_NAME,
                    description="Assumed by the API discovery platform; lists the organization's "
                    f"accounts and assumes {CHILD_ROLE_NAME} in them.",
                    trust=trust_policy(platform_principal_arn, external_id),
                    policy=central_role_policy(),
                )
            },
            "Outputs": _role_arn_output(CENTRAL_ROLE_NAME, "Give this ARN to the platform."),
        }
    )


def child_role_template(*, management_account_id: str | None = None) -> str:
    """A StackSet for every member account: APIsecChildRole, trusting the central role.

    The management account's id is a parameter (the platform does not know it); when given,
    it becomes the parameter's default.
    """
    parameter: Document = {
        "Type": "String",
        "Description": f"The 12-digit id of the account where {CENTRAL_ROLE_NAME} lives: the "
        "organization's management account, or its delegated administrator account.",
        "AllowedPattern": r"^\d{12}$",
        "ConstraintDescription": "must be a 12-digit AWS account id.",
    }
    if management_account_id is not None:
        parameter["Default"] = management_account_id
    principal = {
        "Fn::Sub": f"arn:${{AWS::Partition}}:iam::${{{MANAGEMENT_ACCOUNT_PARAMETER}}}:role/"
        f"{CENTRAL_ROLE_NAME}"
    }
    return _dump(
        {
            "AWSTemplateFormatVersion": TEMPLATE_FORMAT_VERSION,
            "Description": f"{CHILD_ROLE_NAME}: read-only API Gateway access for "
            f"{CENTRAL_ROLE_NAME} of the management account.",
            "Parameters": {MANAGEMENT_ACCOUNT_PARAMETER: parameter},
            "Resources": {
                CHILD_ROLE_NAME: _role(
                    name=CHILD_ROLE_NAME,
                    description=f"Lets {CENTRAL_ROLE_NAME} read API Gateway configuration in "
                    "this account.",
                    trust=trust_policy(principal),
                    policy=read_only_policy(),
                )
            },
            "Outputs": _role_arn_output(
                CHILD_ROLE_NAME, f"Assumed by {CENTRAL_ROLE_NAME} of the management account."
            ),
        }
    )


def _role(*, name: str, description: str, trust: Document, policy: Document) -> Document:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "RoleName": name,
            "Description": description,
            "AssumeRolePolicyDocument": trust,
            "Policies": [{"PolicyName": f"{name}Policy", "PolicyDocument": policy}],
        },
    }


def _role_arn_output(logical_id: str, description: str) -> Document:
    return {"RoleArn": {"Description": description, "Value": {"Fn::GetAtt": [logical_id, "Arn"]}}}


def _dump(template: Document) -> str:
    # A wide line: ARNs and descriptions stay on one line each, as a person would write them.
    return yaml.safe_dump(template, sort_keys=False, default_flow_style=False, width=200)

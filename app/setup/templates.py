"""The IAM policies and CloudFormation templates a customer deploys, built as data.

Templates are dumped from Python dicts with yaml.safe_dump, so quoting is always right, and
use only the long intrinsic-function form (``Fn::Sub``), so any YAML reader loads them.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from app.ingest.cloudtrail import CHANGE_EVENTS, CLOUDTRAIL_DETAIL_TYPE
from app.ingest.cloudtrail import EVENT_SOURCE as APIGATEWAY_EVENT_SOURCE
from app.ingest.cloudtrail import SOURCE as APIGATEWAY_SOURCE
from app.integrations.aws.sessions import REGION_PATTERN

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


# ------------------------------------------------------------------ near-real-time updates
# Names, not secrets: the token itself only ever arrives as the stack's NoEcho parameter.
INGEST_TOKEN_PARAMETER = "IngestToken"  # noqa: S105
INGEST_TOKEN_HEADER = "X-Onboarder-Ingest-Token"  # noqa: S105
# The service's tokens carry 256 random bits, so anything much shorter is a paste gone wrong.
INGEST_TOKEN_MIN_LENGTH = 32
ORGANIZATIONAL_UNITS_PARAMETER = "OrganizationalUnitIds"
REGIONS_PARAMETER = "Regions"
# The API Gateway calls the service acts on (app/ingest/cloudtrail.py): the rule forwards only
# these. Reads and every other call stay in the customer's account.
FORWARDED_EVENT_NAMES = CHANGE_EVENTS
# A modest ceiling: a deploy is a burst of a few calls, and the service debounces them anyway.
INVOCATION_RATE_LIMIT_PER_SECOND = 10
# EventBridge retries a failed delivery with backoff; after an hour the scheduled run is the
# better source of truth than a stale event.
MAXIMUM_EVENT_AGE_SECONDS = 3600
_REGION = re.compile(REGION_PATTERN)
_CLOUDTRAIL_NOTE = (
    "EventBridge receives 'AWS API Call via CloudTrail' events only while a CloudTrail trail is "
    "logging in this account and region (a multi-region trail covers every region, an "
    "organization trail every member account). API Gateway's calls are management events, "
    "which trails log by default."
)


def event_forwarding_pattern() -> Document:
    """The rule's event pattern: API Gateway's successful change calls, as CloudTrail saw them."""
    return {
        "source": [APIGATEWAY_SOURCE],
        "detail-type": [CLOUDTRAIL_DETAIL_TYPE],
        "detail": {
            "eventSource": [APIGATEWAY_EVENT_SOURCE],
            "eventName": list(FORWARDED_EVENT_NAMES),
            # A failed call carries errorCode; it changed nothing.
            "errorCode": [{"exists": False}],
        },
    }


def forwarding_regions(regions: list[str]) -> list[str]:
    """`regions` in the order given, each once; ValueError for a name that is not a region's."""
    chosen = list(dict.fromkeys(regions))
    bad = [region for region in chosen if not _REGION.fullmatch(region)]
    if bad:
        raise ValueError(f"not AWS region names: {', '.join(bad)}")
    return chosen


def event_forwarding_template(*, ingest_url: str) -> str:
    """A stack for one account and region: API Gateway's change events go to the ingest URL.

    A rule on the default event bus matches the calls in FORWARDED_EVENT_NAMES and sends each
    event, as it is, to an EventBridge API destination that posts it to `ingest_url` with the
    connection's ingest token in the X-Onboarder-Ingest-Token header.
    """
    return _dump(_event_forwarding(ingest_url))


def event_forwarding_stackset_template(*, ingest_url: str, regions: list[str]) -> str:
    """A stack for an organization's management account: a service-managed StackSet that
    deploys event_forwarding_template to every account of the chosen OUs, in `regions`.

    StackSets never deploy to the management account itself; it takes the single-account
    template as a plain stack when it has APIs.
    """
    chosen = forwarding_regions(regions)
    return _dump(
        {
            "AWSTemplateFormatVersion": TEMPLATE_FORMAT_VERSION,
            "Description": "Near-real-time API discovery for an AWS organization: a "
            "service-managed StackSet forwards API Gateway's change events from every account "
            "of the chosen OUs, in each chosen region, to the API discovery platform. "
            "StackSets never deploy to the management account itself: deploy the single-account "
            "template there as a plain stack if it has APIs. " + _CLOUDTRAIL_NOTE,
            "Parameters": {
                INGEST_TOKEN_PARAMETER: _ingest_token_parameter(),
                ORGANIZATIONAL_UNITS_PARAMETER: {
                    "Type": "CommaDelimitedList",
                    "Description": "Where to deploy: the organization's root id (r-xxxx, every "
                    "account of the organization) or organizational unit ids "
                    "(ou-xxxx-yyyyyyyy), comma separated. Accounts added to them later get "
                    "the stack automatically.",
                },
                REGIONS_PARAMETER: _regions_parameter(chosen),
            },
            "Resources": {
                "EventForwardingStackSet": {
                    "Type": "AWS::CloudFormation::StackSet",
                    "Properties": {
                        "StackSetName": {"Ref": "AWS::StackName"},
                        "Description": "Forwards API Gateway's change events to the API "
                        "discovery platform (one stack per account and region).",
                        "PermissionModel": "SERVICE_MANAGED",
                        "AutoDeployment": {"Enabled": True, "RetainStacksOnAccountRemoval": False},
                        # The stack creates an IAM role (without a fixed name: one per region).
                        "Capabilities": ["CAPABILITY_IAM"],
                        # Regions in parallel, a quarter of the accounts at a time in each; up
                        # to a tenth may fail (an SCP, say) without slowing or stopping the rest.
                        # (Automatic deployment to new accounts ignores these preferences.)
                        "OperationPreferences": {
                            "RegionConcurrencyType": "PARALLEL",
                            "MaxConcurrentPercentage": 25,
                            "FailureTolerancePercentage": 10,
                            "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE",
                        },
                        "Parameters": [
                            {
                                "ParameterKey": INGEST_TOKEN_PARAMETER,
                                "ParameterValue": {"Ref": INGEST_TOKEN_PARAMETER},
                            }
                        ],
                        "StackInstancesGroup": [
                            {
                                "DeploymentTargets": {
                                    "OrganizationalUnitIds": {"Ref": ORGANIZATIONAL_UNITS_PARAMETER}
                                },
                                "Regions": {"Ref": REGIONS_PARAMETER},
                            }
                        ],
                        "TemplateBody": event_forwarding_template(ingest_url=ingest_url),
                    },
                }
            },
            "Outputs": {
                "StackSetId": {
                    "Description": "The StackSet that deploys the forwarding stacks.",
                    "Value": {"Ref": "EventForwardingStackSet"},
                }
            },
        }
    )


def _event_forwarding(ingest_url: str) -> Document:
    return {
        "AWSTemplateFormatVersion": TEMPLATE_FORMAT_VERSION,
        "Description": "Near-real-time API discovery: forwards API Gateway's change events "
        "in this account and region to the API discovery platform through an EventBridge API "
        "destination. " + _CLOUDTRAIL_NOTE,
        "Parameters": {INGEST_TOKEN_PARAMETER: _ingest_token_parameter()},
        "Resources": {
            "IngestConnection": {
                "Type": "AWS::Events::Connection",
                "Properties": {
                    "Description": "The connection's ingest token, sent in the "
                    f"{INGEST_TOKEN_HEADER} header.",
                    "AuthorizationType": "API_KEY",
                    "AuthParameters": {
                        "ApiKeyAuthParameters": {
                            "ApiKeyName": INGEST_TOKEN_HEADER,
                            "ApiKeyValue": {"Ref": INGEST_TOKEN_PARAMETER},
                        }
                    },
                },
            },
            "IngestDestination": {
                "Type": "AWS::Events::ApiDestination",
                "Properties": {
                    "Description": "The API discovery platform's ingest endpoint.",
                    "ConnectionArn": {"Fn::GetAtt": ["IngestConnection", "Arn"]},
                    "InvocationEndpoint": ingest_url,
                    "HttpMethod": "POST",
                    "InvocationRateLimitPerSecond": INVOCATION_RATE_LIMIT_PER_SECOND,
                },
            },
            # No RoleName: a StackSet creates this stack in every region of an account, and
            # IAM names are global to the account.
            "ForwardingRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "Description": "Lets EventBridge call the API discovery platform's ingest "
                    "API destination, and nothing else.",
                    "AssumeRolePolicyDocument": policy_document(
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ),
                    "Policies": [
                        {
                            "PolicyName": "InvokeIngestDestination",
                            "PolicyDocument": policy_document(
                                {
                                    "Effect": "Allow",
                                    "Action": "events:InvokeApiDestination",
                                    # The ARN without its trailing id: the form IAM matches.
                                    "Resource": {
                                        "Fn::GetAtt": ["IngestDestination", "ArnForPolicy"]
                                    },
                                }
                            ),
                        }
                    ],
                },
            },
            "ForwardingRule": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "Description": "API Gateway's successful change calls, to the API discovery "
                    "platform.",
                    "EventBusName": "default",
                    "EventPattern": event_forwarding_pattern(),
                    "State": "ENABLED",
                    "Targets": [
                        {
                            "Id": "OnboarderIngest",
                            "Arn": {"Fn::GetAtt": ["IngestDestination", "Arn"]},
                            "RoleArn": {"Fn::GetAtt": ["ForwardingRole", "Arn"]},
                            "RetryPolicy": {"MaximumEventAgeInSeconds": MAXIMUM_EVENT_AGE_SECONDS},
                        }
                    ],
                },
            },
        },
        "Outputs": {
            "RuleArn": {
                "Description": "The rule that forwards API Gateway's change events.",
                "Value": {"Fn::GetAtt": ["ForwardingRule", "Arn"]},
            }
        },
    }


def _regions_parameter(regions: list[str]) -> Document:
    parameter: Document = {
        "Type": "CommaDelimitedList",
        "Description": "The regions whose API Gateway changes are forwarded, comma separated "
        "(EventBridge sees a call only in the region where it happens).",
    }
    if regions:
        parameter["Default"] = ",".join(regions)
    return parameter


def _ingest_token_parameter() -> Document:
    return {
        "Type": "String",
        "NoEcho": True,
        "MinLength": INGEST_TOKEN_MIN_LENGTH,
        "MaxLength": 512,  # an EventBridge connection's API key value
        "AllowedPattern": "^[!-~]+$",
        "ConstraintDescription": "must be the ingest token exactly as it was shown (printable "
        "characters, no spaces).",
        "Description": "The connection's ingest token, shown once by POST "
        "/connections/{id}/ingest-token (create a new one there if it is lost; the old one "
        "stops working). EventBridge keeps it in a Secrets Manager secret it manages.",
    }

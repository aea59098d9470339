"""Near-real-time updates: the templates that forward API Gateway's CloudTrail events from a
customer's accounts to the ingest endpoint, and the steps that go with them."""

from __future__ import annotations

import ast
import copy
import json
import re
import warnings
from typing import Any

import boto3
import pytest
import yaml
from botocore.validate import validate_parameters
from cfnlint.api import lint, lint_all  # type: ignore[import-untyped]
from moto import mock_aws

from app.setup import templates
from app.setup.events import event_forwarding
from app.setup.templates import (
    FORWARDED_EVENT_NAMES,
    event_forwarding_stackset_template,
    event_forwarding_template,
)

INGEST_URL = "https://onboarder.example.com/api/v1/aws/events/7d0c9a52-3f5e-4d8b-9a41-2b6f0e1c8d3a"
TOKEN = "oit_Zk3vQ8mN1pR7sT2wX9yB4cD6fG0hJ5kL8nP3qS7uV1w"  # the shape of a 256-bit token
REGIONS = ["eu-west-1", "us-east-1"]
# Where API destinations and CloudFormation's types for them have long been offered: a
# template that lints with findings here has a real problem.
MAIN_REGIONS = [
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-2",
]
EVENTBRIDGE_TYPES = ("AWS::Events::Connection", "AWS::Events::ApiDestination")


def _account() -> dict[str, Any]:
    parsed: dict[str, Any] = yaml.safe_load(event_forwarding_template(ingest_url=INGEST_URL))
    return parsed


def _organization(regions: list[str] = REGIONS) -> dict[str, Any]:
    parsed: dict[str, Any] = yaml.safe_load(
        event_forwarding_stackset_template(ingest_url=INGEST_URL, regions=regions)
    )
    return parsed


# ---------------------------------------------------------------------------- event matching
def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """EventBridge's matching for what the rule uses: nested fields, lists of exact values (any
    one matches) and {"exists": bool}.

    moto cannot judge the pattern: its TestEventPattern (5.2.5) answers without a Result
    (models.test_event_pattern raises NotImplementedError, the response handler passes), and
    delivering a real-looking event through PutEvents would need a source of "aws.apigateway",
    which AWS keeps for itself.
    """
    for key, expected in pattern.items():
        present = isinstance(event, dict) and key in event
        value = event.get(key) if present else None
        if isinstance(expected, dict):
            if not matches(expected, value if isinstance(value, dict) else {}):
                return False
            continue
        if not any(_one(option, present, value) for option in expected):
            return False
    return True


def _one(option: Any, present: bool, value: Any) -> bool:
    if isinstance(option, dict):
        [(operator, operand)] = option.items()
        assert operator == "exists", f"the test's matcher does not know {operator}"
        return present is operand
    values = value if isinstance(value, list) else [value]
    return present and option in values


def cloudtrail_event(event_name: str, **detail: Any) -> dict[str, Any]:
    """An EventBridge event as CloudTrail delivers it for an API Gateway call."""
    return {
        "version": "0",
        "id": "3c9a2f4e-5d1b-4b8e-9f6a-0e7d2c1b5a48",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.apigateway",
        "account": "111122223333",
        "time": "2026-11-30T09:41:07Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": {
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "AssumedRole",
                "principalId": "AROAEXAMPLEID:deployer",
                "arn": "arn:aws:sts::111122223333:assumed-role/Deployer/deployer",
                "accountId": "111122223333",
                "sessionContext": {"attributes": {"mfaAuthenticated": "false"}},
            },
            "eventTime": "2026-11-30T09:41:07Z",
            "eventSource": "apigateway.amazonaws.com",
            "eventName": event_name,
            "awsRegion": "eu-west-1",
            "sourceIPAddress": "203.0.113.24",
            "userAgent": "aws-cli/2.22.4 md/command#apigateway.create-deployment",
            "requestParameters": {
                "restApiId": "a1b2c3d4e5",
                "createDeploymentInput": {"stageName": "prod", "description": "release 42"},
            },
            "responseElements": {"id": "x9y8z7", "createdDate": "Nov 30, 2026 9:41:07 AM"},
            "requestID": "5b2f7a5e-9c1d-4f0a-8e3b-6d4c2a1f0e9b",
            "eventID": "d6e2a0b4-8f3c-4e1a-9b7d-5c0f2e8a6b13",
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": "111122223333",
            "eventCategory": "Management",
            **detail,
        },
    }


def test_the_rule_forwards_a_deployment() -> None:
    pattern = _account()["Resources"]["ForwardingRule"]["Properties"]["EventPattern"]
    assert pattern == templates.event_forwarding_pattern()
    assert matches(pattern, cloudtrail_event("CreateDeployment"))


@pytest.mark.parametrize("event_name", FORWARDED_EVENT_NAMES)
def test_the_rule_forwards_every_change_call(event_name: str) -> None:
    assert matches(templates.event_forwarding_pattern(), cloudtrail_event(event_name))


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(
            cloudtrail_event(
                "GetRestApis",
                readOnly=True,
                requestParameters={"limit": 500},
                responseElements=None,
            ),
            id="a read",
        ),
        pytest.param(
            cloudtrail_event(
                "CreateDeployment",
                errorCode="BadRequestException",
                errorMessage="The REST API doesn't contain any methods",
                responseElements=None,
            ),
            id="a failed call",
        ),
        pytest.param(
            cloudtrail_event("CreateDeployment", eventSource="codedeploy.amazonaws.com"),
            id="another service's call of the same name",
        ),
        pytest.param(
            {
                **cloudtrail_event("CreateDeployment"),
                "detail-type": "AWS Service Event via CloudTrail",
            },
            id="not an API call",
        ),
        pytest.param(
            cloudtrail_event("TagResource", requestParameters={"resourceArn": "arn"}),
            id="a write that changes nothing deployed",
        ),
    ],
)
def test_the_rule_ignores(event: dict[str, Any]) -> None:
    assert not matches(templates.event_forwarding_pattern(), event)


def test_the_matcher_treats_exists_as_eventbridge_does() -> None:
    # errorCode present with any value, even an empty one, is a failed call.
    assert not matches(
        {"detail": {"errorCode": [{"exists": False}]}}, {"detail": {"errorCode": ""}}
    )
    assert matches({"detail": {"errorCode": [{"exists": False}]}}, {"detail": {}})
    assert matches({"detail": {"errorCode": [{"exists": False}]}}, {})


# ------------------------------------------------------------------------- the templates' shape
def test_the_account_template_forwards_through_an_api_destination() -> None:
    template = _account()
    assert "CloudTrail trail" in template["Description"]
    assert "organization trail" in template["Description"]
    token = template["Parameters"]["IngestToken"]
    assert token["Type"] == "String"
    assert token["NoEcho"] is True
    assert token["MinLength"] >= 32
    assert "/connections/{id}/ingest-token" in token["Description"]
    assert re.fullmatch(token["AllowedPattern"].strip("^$"), TOKEN)
    assert not re.fullmatch(token["AllowedPattern"].strip("^$"), f"{TOKEN}\n")

    resources = template["Resources"]
    assert resources["IngestConnection"] == {
        "Type": "AWS::Events::Connection",
        "Properties": {
            "Description": resources["IngestConnection"]["Properties"]["Description"],
            "AuthorizationType": "API_KEY",
            "AuthParameters": {
                "ApiKeyAuthParameters": {
                    "ApiKeyName": "X-Onboarder-Ingest-Token",
                    "ApiKeyValue": {"Ref": "IngestToken"},
                }
            },
        },
    }
    destination = resources["IngestDestination"]["Properties"]
    assert destination["ConnectionArn"] == {"Fn::GetAtt": ["IngestConnection", "Arn"]}
    assert destination["InvocationEndpoint"] == INGEST_URL
    assert destination["HttpMethod"] == "POST"
    assert destination["InvocationRateLimitPerSecond"] == 10

    role = resources["ForwardingRole"]["Properties"]
    assert "RoleName" not in role  # a StackSet puts one in every region of an account
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
    [policy] = role["Policies"]
    assert _document(policy["PolicyDocument"])["Statement"] == [
        {
            "Effect": "Allow",
            "Action": "events:InvokeApiDestination",
            "Resource": {"Fn::GetAtt": ["IngestDestination", "ArnForPolicy"]},
        }
    ]

    rule = resources["ForwardingRule"]["Properties"]
    assert rule["EventBusName"] == "default"
    assert rule["State"] == "ENABLED"
    assert rule["Targets"] == [
        {
            "Id": "OnboarderIngest",
            "Arn": {"Fn::GetAtt": ["IngestDestination", "Arn"]},
            "RoleArn": {"Fn::GetAtt": ["ForwardingRole", "Arn"]},
            "RetryPolicy": {"MaximumEventAgeInSeconds": 3600},
        }
    ]
    # No input transformer: the endpoint receives each event as EventBridge has it.
    assert TOKEN not in event_forwarding_template(ingest_url=INGEST_URL)


def test_the_stackset_template_deploys_the_account_template_to_the_organization() -> None:
    text = event_forwarding_stackset_template(ingest_url=INGEST_URL, regions=REGIONS)
    template = yaml.safe_load(text)
    assert "never deploy to the management account" in template["Description"]
    parameters = template["Parameters"]
    assert parameters["IngestToken"] == _account()["Parameters"]["IngestToken"]  # NoEcho too
    assert parameters["OrganizationalUnitIds"]["Type"] == "CommaDelimitedList"
    assert "Default" not in parameters["OrganizationalUnitIds"]
    assert "r-xxxx" in parameters["OrganizationalUnitIds"]["Description"]
    assert parameters["Regions"]["Type"] == "CommaDelimitedList"
    assert parameters["Regions"]["Default"] == "eu-west-1,us-east-1"

    stackset = template["Resources"]["EventForwardingStackSet"]
    assert stackset["Type"] == "AWS::CloudFormation::StackSet"
    properties = stackset["Properties"]
    assert properties["PermissionModel"] == "SERVICE_MANAGED"
    assert properties["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert properties["Capabilities"] == ["CAPABILITY_IAM"]
    assert properties["OperationPreferences"]["RegionConcurrencyType"] == "PARALLEL"
    assert properties["Parameters"] == [
        {"ParameterKey": "IngestToken", "ParameterValue": {"Ref": "IngestToken"}}
    ]
    assert properties["StackInstancesGroup"] == [
        {
            "DeploymentTargets": {"OrganizationalUnitIds": {"Ref": "OrganizationalUnitIds"}},
            "Regions": {"Ref": "Regions"},
        }
    ]
    assert properties["TemplateBody"] == event_forwarding_template(ingest_url=INGEST_URL)
    # Small enough to pass inline (--template-body, the console's upload) rather than from S3.
    assert len(text.encode()) < 51_200


def test_regions_are_kept_in_order_once_and_must_be_regions() -> None:
    template = _organization(["us-east-1", "eu-west-1", "us-east-1"])
    assert template["Parameters"]["Regions"]["Default"] == "us-east-1,eu-west-1"
    # None given: the customer names them when creating the stack.
    assert "Default" not in _organization([])["Parameters"]["Regions"]
    for bad in (["us-east-1", "Europe"], ["us-east-1 "], [""]):
        with pytest.raises(ValueError, match="not AWS region names"):
            event_forwarding_stackset_template(ingest_url=INGEST_URL, regions=bad)


# ------------------------------------------------------------------------------------ cfn-lint
def _region_without_the_type(match: Any) -> str | None:
    """The region of an E3006 finding that an EventBridge API destination type does not exist
    there: a fact about AWS (API destinations are not offered in every region), which the
    instructions pass on, not a flaw of the template."""
    if match.rule.id != "E3006" or not any(kind in match.message for kind in EVENTBRIDGE_TYPES):
        return None
    found = re.search(r"does not exist in '([a-z0-9-]+)'", match.message)
    return found.group(1) if found else None


@pytest.mark.parametrize(
    "text",
    [
        event_forwarding_template(ingest_url=INGEST_URL),
        event_forwarding_stackset_template(ingest_url=INGEST_URL, regions=REGIONS),
    ],
    ids=["account", "organization"],
)
def test_cfn_lint_finds_no_error_or_warning(text: str) -> None:
    findings = lint_all(text)
    elsewhere = {_region_without_the_type(match) for match in findings} - {None}
    serious = [
        str(match)
        for match in findings
        if match.rule.id[0] in {"E", "W"} and _region_without_the_type(match) is None
    ]
    assert not serious
    assert not elsewhere & set(MAIN_REGIONS)
    main = [str(m) for m in lint(text, regions=MAIN_REGIONS) if m.rule.id[0] in {"E", "W"}]
    assert not main


# ----------------------------------------------------------------------------- moto deployment
def _resolve_eventbridge_resources(template: dict[str, Any], events: Any) -> dict[str, Any]:
    """The template with its connection and API destination made as CloudFormation would make
    them, through EventBridge's API, and references to them resolved.

    moto's CloudFormation (5.2.5) has no AWS::Events::Connection or AWS::Events::ApiDestination:
    it skips them with a warning, and the first Fn::GetAtt on them fails the stack ("references
    undefined resource"). Its EventBridge API has both, so they are created there from the
    template's own properties; the rest of the template deploys as it is.
    """
    template = copy.deepcopy(template)
    resources = template["Resources"]
    connection = resources.pop("IngestConnection")["Properties"]
    connection["AuthParameters"]["ApiKeyAuthParameters"]["ApiKeyValue"] = TOKEN
    connection_arn = events.create_connection(Name="onboarder-IngestConnection", **connection)[
        "ConnectionArn"
    ]
    destination = resources.pop("IngestDestination")["Properties"]
    assert destination.pop("ConnectionArn") == {"Fn::GetAtt": ["IngestConnection", "Arn"]}
    destination_arn = events.create_api_destination(
        Name="onboarder-IngestDestination", ConnectionArn=connection_arn, **destination
    )["ApiDestinationArn"]
    attributes = {
        "Arn": destination_arn,
        # arn:...:api-destination/<name>, without the id that follows: what IAM matches.
        "ArnForPolicy": destination_arn.rsplit("/", 1)[0],
    }

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            target = node.get("Fn::GetAtt")
            if target is not None and target[0] == "IngestDestination":
                return attributes[target[1]]
            assert target is None or target[0] != "IngestConnection"
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(value) for value in node]
        return node

    resolved: dict[str, Any] = resolve(template)
    return resolved


def _document(value: str | dict[str, Any]) -> Any:
    # moto's CloudFormation (5.2.5) keeps a role's inline policy as Python's repr of the
    # template's dict, which get_role_policy then returns as a string (AWS returns JSON, which
    # boto3 decodes).
    return value if isinstance(value, dict) else ast.literal_eval(value)


def _stack(cloudformation: Any, name: str) -> dict[str, Any]:
    stack: dict[str, Any] = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    return stack


def _shown(stack: dict[str, Any], *, but: str | None = None) -> str:
    """What describe_stacks shows of a stack's outputs and parameters (but one parameter)."""
    shown = [stack.get("Outputs", [])]
    shown += [p for p in stack.get("Parameters", []) if p["ParameterKey"] != but]
    return json.dumps(shown)


def test_the_account_template_deploys_and_creates_what_it_describes() -> None:
    template = _account()
    with mock_aws():
        cloudformation, events, iam = (boto3.client(s) for s in ("cloudformation", "events", "iam"))
        deployable = _resolve_eventbridge_resources(template, events)
        cloudformation.create_stack(
            StackName="onboarder-events",
            TemplateBody=yaml.safe_dump(deployable),
            Parameters=[{"ParameterKey": "IngestToken", "ParameterValue": TOKEN}],
            Capabilities=["CAPABILITY_IAM"],
        )
        stack = _stack(cloudformation, "onboarder-events")
        [rule] = events.list_rules()["Rules"]
        [target] = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        connection = events.describe_connection(Name="onboarder-IngestConnection")
        destination = events.describe_api_destination(Name="onboarder-IngestDestination")
        role_name = target["RoleArn"].rsplit("/", 1)[1]
        role = iam.get_role(RoleName=role_name)["Role"]
        [policy_name] = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
        policy = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)

    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert stack["Outputs"] == [
        {
            "OutputKey": "RuleArn",
            "OutputValue": rule["Arn"],
            "Description": stack["Outputs"][0]["Description"],
        }
    ]
    # AWS shows a NoEcho parameter as '****'; moto 5.2.5 shows it in clear (Stack.parameter_list
    # compares each value, not each key, with the NoEcho keys), so the parameter's NoEcho is
    # asserted on the template above and here everything else is.
    assert TOKEN not in _shown(stack, but="IngestToken")
    assert INGEST_URL not in _shown(stack)

    assert rule["EventBusName"] == "default"
    assert rule["State"] == "ENABLED"
    assert json.loads(rule["EventPattern"]) == templates.event_forwarding_pattern()
    assert target == {
        "Id": "OnboarderIngest",
        "Arn": destination["ApiDestinationArn"],
        "RoleArn": role["Arn"],
        "RetryPolicy": {"MaximumEventAgeInSeconds": 3600},
    }
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
    assert _document(policy["PolicyDocument"])["Statement"] == [
        {
            "Effect": "Allow",
            "Action": "events:InvokeApiDestination",
            "Resource": destination["ApiDestinationArn"].rsplit("/", 1)[0],
        }
    ]
    assert connection["AuthorizationType"] == "API_KEY"
    # EventBridge never shows the key's value back; it keeps it in a secret of its own.
    assert connection["AuthParameters"] == {
        "ApiKeyAuthParameters": {"ApiKeyName": "X-Onboarder-Ingest-Token"}
    }
    assert destination["ConnectionArn"] == connection["ConnectionArn"]
    assert destination["InvocationEndpoint"] == INGEST_URL
    assert destination["HttpMethod"] == "POST"
    assert destination["InvocationRateLimitPerSecond"] == 10


def test_the_stackset_template_deploys_as_far_as_moto_goes() -> None:
    template = _organization()
    properties = template["Resources"]["EventForwardingStackSet"]["Properties"]
    with mock_aws():
        cloudformation = boto3.client("cloudformation")
        # moto's CloudFormation (5.2.5) has no AWS::CloudFormation::StackSet: it skips the
        # resource with this warning, so the stack completes with its parameters resolved and
        # nothing created. The StackSet is then made through moto's StackSets API from the
        # resource's own properties.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*AWS::CloudFormation::StackSet.*")
            cloudformation.create_stack(
                StackName="onboarder-events-org",
                TemplateBody=event_forwarding_stackset_template(
                    ingest_url=INGEST_URL, regions=REGIONS
                ),
                Parameters=[
                    {"ParameterKey": "IngestToken", "ParameterValue": TOKEN},
                    {"ParameterKey": "OrganizationalUnitIds", "ParameterValue": "r-a1b2"},
                ],
            )
            stack = _stack(cloudformation, "onboarder-events-org")
        cloudformation.create_stack_set(
            StackSetName="onboarder-events-org",
            Description=properties["Description"],
            TemplateBody=properties["TemplateBody"],
            Parameters=[{"ParameterKey": "IngestToken", "ParameterValue": TOKEN}],
            Capabilities=properties["Capabilities"],
            PermissionModel=properties["PermissionModel"],
            AutoDeployment=properties["AutoDeployment"],
        )
        stackset = cloudformation.describe_stack_set(StackSetName="onboarder-events-org")[
            "StackSet"
        ]
        # Creating its instances would deploy the account template, which moto cannot (above);
        # the request itself is checked against the API's model.
        create_instances = cloudformation.meta.service_model.operation_model("CreateStackInstances")
        validate_parameters(
            {
                "StackSetName": "onboarder-events-org",
                "DeploymentTargets": {"OrganizationalUnitIds": ["r-a1b2"]},
                "Regions": REGIONS,
                "OperationPreferences": properties["OperationPreferences"],
            },
            create_instances.input_shape,
        )

    assert stack["StackStatus"] == "CREATE_COMPLETE"
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert parameters["Regions"] == "eu-west-1,us-east-1"
    assert TOKEN not in _shown(stack, but="IngestToken")  # moto shows NoEcho values (above)
    assert INGEST_URL not in _shown(stack)
    assert stackset["PermissionModel"] == "SERVICE_MANAGED"
    assert stackset["TemplateBody"] == event_forwarding_template(ingest_url=INGEST_URL)


# ------------------------------------------------------------------------- what a person is told
def test_a_central_role_connection_gets_a_stackset_and_the_account_template() -> None:
    setup = event_forwarding(
        credential_type="central_role", ingest_url=INGEST_URL, regions=["us-east-1", "eu-west-1"]
    )
    assert setup.template_kind == "stackset"
    assert setup.token_header == "X-Onboarder-Ingest-Token"
    assert setup.ingest_url == INGEST_URL
    assert setup.regions == ["us-east-1", "eu-west-1"]
    assert setup.cloudformation_template == event_forwarding_stackset_template(
        ingest_url=INGEST_URL, regions=["us-east-1", "eu-west-1"]
    )
    assert setup.account_template == event_forwarding_template(ingest_url=INGEST_URL)
    steps = " ".join(setup.instructions)
    for fact in (
        "/connections/{id}/ingest-token",
        "shown once",
        "management account",
        "r-xxxx",
        "OrganizationalUnitIds",
        "pre-filled with us-east-1, eu-west-1",
        "never deploy to the management account",
        "account_template",
        "CloudTrail trail",
        "organization trail",
        "scheduled",
    ):
        assert fact in steps, fact
    assert "not HTTPS" not in steps
    assert TOKEN not in steps


@pytest.mark.parametrize("credential_type", ["aws_user", "assume_role"])
def test_a_single_account_connection_gets_a_stack_per_region(credential_type: str) -> None:
    setup = event_forwarding(
        credential_type=credential_type, ingest_url=INGEST_URL, regions=REGIONS
    )
    assert setup.template_kind == "stack"
    assert setup.cloudformation_template == setup.account_template
    assert setup.account_template == event_forwarding_template(ingest_url=INGEST_URL)
    steps = " ".join(setup.instructions)
    for fact in (
        "/connections/{id}/ingest-token",
        "one stack per region",
        "eu-west-1, us-east-1",
        "aws cloudformation deploy",
        "--capabilities CAPABILITY_IAM",
        "IngestToken=",
        "CloudTrail trail",
        "scheduled",
    ):
        assert fact in steps, fact
    assert "StackSet" not in steps


def test_an_ingest_url_that_is_not_https_is_called_out() -> None:
    # The service may run on plain HTTP (a test, a laptop); API destinations call HTTPS only.
    url = "http://localhost:8000/api/v1/aws/events/7d0c9a52-3f5e-4d8b-9a41-2b6f0e1c8d3a"
    setup = event_forwarding(credential_type="aws_user", ingest_url=url, regions=[])
    assert "not HTTPS" in setup.instructions[0]
    assert "ONBOARDER_PUBLIC_URL" in setup.instructions[0]
    assert "each region where it has APIs" in " ".join(setup.instructions)


def test_regions_that_are_not_regions_are_a_programming_error() -> None:
    # The service passes the schedule's regions (validated when saved) or the partition's.
    with pytest.raises(ValueError, match="mars-1"):
        event_forwarding(credential_type="central_role", ingest_url=INGEST_URL, regions=["mars-1"])

"""classify() on AWS's exact answers: bad signatures, API Gateway's 401, clock skew, AssumeRole
denied by the caller's own policy or by an SCP, and API Gateway denied in a region by an SCP.

The messages are AWS's wording (the SigV4 time check, IAM's "is not authorized to perform"
with its reason), which moto does not produce.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError

from app.integrations.aws.errors import (
    CHILD_TEMPLATE_ACCOUNT_PARAMETER,
    AwsFailure,
    CallContext,
    classify,
)
from app.setup import templates

PLATFORM = "arn:aws:iam::111111111111:user/platform"
ROLE = "arn:aws:iam::999988887777:role/APIGatewayAccessRole"
CENTRAL = "arn:aws:iam::222233334444:role/APIsecCentralRole"
CHILD = "arn:aws:iam::555566667777:role/APIsecChildRole"
BAD_SECRET = (
    "The request signature we calculated does not match the signature you provided. Check "
    "your AWS Secret Access Key and signing method. Consult the service documentation for "
    "details."
)
SIGNATURE_EXPIRED = (
    "Signature expired: 20261201T040000Z is now earlier than 20261201T045500Z "
    "(20261201T050000Z - 5 min.)"
)
SIGNATURE_NOT_YET_CURRENT = (
    "Signature not yet current: 20261201T060000Z is still later than 20261201T050500Z "
    "(20261201T050000Z + 5 min.)"
)


def client_error(code: str, message: str, status: int) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "Operation",
    )


def platform_assume() -> CallContext:
    return CallContext(
        action="sts:AssumeRole",
        role_arn=ROLE,
        external_id_sent=True,
        principal_arn=PLATFORM,
        account_id="999988887777",
    )


def child_assume(*, in_management_account: bool = False) -> CallContext:
    return CallContext(
        action="sts:AssumeRole",
        role_arn=CHILD,
        external_id_sent=True,
        principal_arn=CENTRAL,
        account_id="555566667777",
        child_role_in_management_account=in_management_account,
        central_role_arn=CENTRAL,
    )


def denied(reason: str, caller: str = PLATFORM, resource: str = ROLE) -> str:
    return (
        f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: "
        f"{resource}{reason}"
    )


# ----------------------------------------------------------------------- signatures and 401
def test_a_json_services_bad_signature_is_invalid_credentials_pointing_at_the_secret() -> None:
    failure = classify(
        client_error("InvalidSignatureException", BAD_SECRET, 403),
        CallContext(action="apigateway:GET", region="us-east-1"),
    )
    assert failure.code == "invalid_credentials"
    assert "secret access key does not belong to this access key id" in failure.hint


def test_api_gateways_401_is_invalid_credentials() -> None:
    failure = classify(
        client_error("UnauthorizedException", "Unauthorized", 401),
        CallContext(action="apigateway:GET", region="eu-west-1"),
    )
    assert failure.code == "invalid_credentials"
    assert "refused to authenticate" in failure.hint
    assert "session token" in failure.hint


# ------------------------------------------------------------------------------- clock skew
@pytest.mark.parametrize(
    ("code", "message", "status"),
    [
        ("RequestExpired", "Request has expired.", 400),
        (
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
            403,
        ),
        ("InvalidSignatureException", SIGNATURE_EXPIRED, 403),
        ("SignatureDoesNotMatch", SIGNATURE_EXPIRED, 403),
        ("InvalidSignatureException", SIGNATURE_NOT_YET_CURRENT, 403),
    ],
)
@pytest.mark.parametrize("action", ["sts:GetCallerIdentity", "apigateway:GET"])
def test_a_request_outside_aws_time_window_is_clock_skew(
    code: str, message: str, status: int, action: str
) -> None:
    failure = classify(client_error(code, message, status), CallContext(action=action))
    assert failure.code == "clock_skew"
    assert "clock" in failure.hint
    assert "NTP" in failure.hint
    assert "expired" not in failure.hint


@pytest.mark.parametrize("context", [platform_assume(), child_assume()])
def test_clock_skew_is_not_blamed_on_a_trust_policy_or_the_platforms_key(
    context: CallContext,
) -> None:
    failure = classify(client_error("SignatureDoesNotMatch", SIGNATURE_EXPIRED, 403), context)
    assert failure.code == "clock_skew"
    platform = CallContext(action="sts:GetCallerIdentity", uses_platform_credentials=True)
    failure = classify(client_error("SignatureDoesNotMatch", SIGNATURE_EXPIRED, 403), platform)
    assert failure.code == "clock_skew"


def test_an_expired_token_is_still_expired_credentials() -> None:
    failure = classify(
        client_error("ExpiredToken", "The security token included in the request is expired", 403),
        CallContext(action="sts:GetCallerIdentity"),
    )
    assert failure.code == "expired_credentials"


# ---------------------------------------------------------------- AssumeRole: whose policy
def test_assume_role_without_an_identity_policy_allowing_it_blames_the_platform() -> None:
    message = denied(" because no identity-based policy allows the sts:AssumeRole action")
    failure = classify(client_error("AccessDenied", message, 403), platform_assume())
    assert failure.code == "platform_not_permitted"
    assert "operator" in failure.hint
    assert f"sts:AssumeRole on {ROLE}" in failure.hint
    assert PLATFORM in failure.hint
    assert "trust policy is not the cause" in failure.hint


def test_a_child_role_without_the_central_roles_permission_blames_the_central_role() -> None:
    message = denied(
        " because no identity-based policy allows the sts:AssumeRole action",
        caller="arn:aws:sts::222233334444:assumed-role/APIsecCentralRole/APIsec-Onboarder",
        resource=CHILD,
    )
    failure = classify(client_error("AccessDenied", message, 403), child_assume())
    assert failure.code == "access_denied"
    assert f"permissions policy of the central role {CENTRAL}" in failure.hint
    assert "arn:aws:iam::*:role/APIsecChildRole" in failure.hint
    # Even in the management account: the central role's own policy is what lacks it.
    failure = classify(
        client_error("AccessDenied", message, 403), child_assume(in_management_account=True)
    )
    assert failure.code == "access_denied"


@pytest.mark.parametrize(
    ("context", "whose"),
    [(platform_assume(), PLATFORM), (child_assume(), CENTRAL)],
)
def test_assume_role_denied_by_a_service_control_policy_says_so(
    context: CallContext, whose: str
) -> None:
    message = denied(" with an explicit deny in a service control policy")
    failure = classify(client_error("AccessDenied", message, 403), context)
    assert failure.code == "access_denied"
    assert "service control policy (SCP)" in failure.hint
    assert whose in failure.hint


def test_a_plain_denial_is_still_the_trust_policy() -> None:
    failure = classify(client_error("AccessDenied", denied(""), 403), platform_assume())
    assert failure.code == "role_not_assumable"
    assert f"sts:AssumeRole to {PLATFORM}" in failure.hint
    assert "sts:ExternalId" in failure.hint


# --------------------------------------------------------------- API Gateway denied by an SCP
def test_api_gateway_denied_by_a_service_control_policy_is_region_denied_by_policy() -> None:
    message = (
        "User: arn:aws:sts::555566667777:assumed-role/APIsecChildRole/APIsec-Onboarder is not "
        "authorized to perform: apigateway:GET on resource: arn:aws:apigateway:eu-west-3::"
        "/restapis with an explicit deny in a service control policy"
    )
    failure = classify(
        client_error("AccessDeniedException", message, 403),
        CallContext(action="apigateway:GET", account_id="555566667777", region="eu-west-3"),
    )
    assert failure.code == "region_denied_by_policy"
    assert failure.message.startswith(
        "The organization's service control policy denies API Gateway in region eu-west-3 for "
        "account 555566667777."
    )
    assert "Control Tower" in failure.hint
    assert "Remove the region from the schedule" in failure.hint


def test_api_gateway_denied_by_the_identity_policy_is_still_access_denied() -> None:
    message = (
        "User: arn:aws:iam::123456789012:user/x is not authorized to perform: apigateway:GET on "
        "resource: arn:aws:apigateway:us-east-1::/restapis because no identity-based policy "
        "allows the apigateway:GET action"
    )
    failure = classify(
        client_error("AccessDeniedException", message, 403),
        CallContext(action="apigateway:GET", region="us-east-1"),
    )
    assert failure.code == "access_denied"


# ------------------------------------------------------- the child-role hint and its template
def _child_trust_statement(template: str) -> dict[str, Any]:
    parsed = yaml.safe_load(template)
    role = parsed["Resources"][templates.CHILD_ROLE_NAME]["Properties"]
    statements = role["AssumeRolePolicyDocument"]["Statement"]
    assert len(statements) == 1
    statement: dict[str, Any] = statements[0]
    return statement


def test_the_child_role_hint_claims_what_the_child_role_template_grants() -> None:
    failure: AwsFailure = classify(client_error("AccessDenied", denied(""), 403), child_assume())
    assert failure.code == "role_not_assumable"
    template = templates.child_role_template()
    statement = _child_trust_statement(template)
    parameters = yaml.safe_load(template)["Parameters"]

    # The principal the template trusts, filled in for the central role's account: the hint
    # names exactly that ARN, and the parameter to set by the template's own name.
    assert CHILD_TEMPLATE_ACCOUNT_PARAMETER in parameters
    principal = statement["Principal"]["AWS"]["Fn::Sub"]
    trusted = principal.replace("${AWS::Partition}", "aws").replace(
        "${" + CHILD_TEMPLATE_ACCOUNT_PARAMETER + "}", "222233334444"
    )
    assert trusted == CENTRAL
    assert f"allows sts:AssumeRole to {trusted}" in failure.hint
    assert f"parameter {CHILD_TEMPLATE_ACCOUNT_PARAMETER} must be 222233334444" in failure.hint
    assert statement["Action"] == "sts:AssumeRole"

    # An external id condition is claimed exactly when the template has one.
    template_has_external_id = "sts:ExternalId" in str(statement.get("Condition", {}))
    assert ("sts:ExternalId" in failure.hint) is template_has_external_id

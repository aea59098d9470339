"""One mapping from whatever boto3 raises to a stable code and a hint that says what to fix."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)

# Regions that exist but must be enabled per account ("opt-in" regions).
OPT_IN_REGIONS = frozenset(
    {
        "af-south-1",
        "ap-east-1",
        "ap-east-2",
        "ap-south-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "ca-west-1",
        "eu-central-2",
        "eu-south-1",
        "eu-south-2",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "mx-central-1",
    }
)

_INVALID_KEY_CODES = {
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
    "AuthFailure",
    "IncompleteSignature",
    "MissingAuthenticationToken",
}
_EXPIRED_CODES = {"ExpiredToken", "ExpiredTokenException", "TokenRefreshRequired"}
# A bad signature: SignatureDoesNotMatch (query and XML services such as STS),
# InvalidSignatureException (JSON and REST-JSON services: Organizations, API Gateway).
_SIGNATURE_CODES = {"SignatureDoesNotMatch", "InvalidSignatureException"}
# The request's time and AWS's differ by more than AWS allows: the host's clock, not the key.
_CLOCK_SKEW_CODES = {"RequestExpired", "RequestTimeTooSkewed"}
# What a signature error says when only the time is wrong ("Signature expired: 20250101T000000Z
# is now earlier than ...", "Signature not yet current: ... is still later than ...").
_CLOCK_SKEW_WORDS = (
    "signature expired",
    "is now earlier than",
    "signature not yet current",
    "is still later than",
    "request time too skewed",
)
THROTTLE_CODES = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "RequestThrottled",
    "RequestThrottledException",
    "ProvisionedThroughputExceededException",
}
_DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Forbidden"}
# The reasons AWS appends to "... is not authorized to perform: <action>".
_DENIED_BY_SCP = re.compile(
    r"(with an explicit deny in a|because no) service control policy", re.IGNORECASE
)
_NO_IDENTITY_POLICY = "because no identity-based policy allows"
# The child-role template's parameter that names the central role's account (setup/templates).
CHILD_TEMPLATE_ACCOUNT_PARAMETER = "ManagementAccountId"

_ACCESS_KEY_ID = re.compile(r"\b(AKIA|ASIA|AIDA|AROA)[A-Z0-9]{12,124}\b")
_SECRET_LIKE = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])")


@dataclass(frozen=True)
class AwsFailure:
    code: str
    message: str
    hint: str


class AwsError(Exception):
    """An AWS call failed in a way the user can act on; str() is safe to show and log."""

    def __init__(self, failure: AwsFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


@dataclass(frozen=True)
class CallContext:
    """What was being attempted, so the hint can name the exact policy or role to fix."""

    action: str
    role_arn: str | None = None
    external_id_sent: bool = False
    # Who does the assuming: the platform's principal, or the central role for a child role.
    principal_arn: str | None = None
    account_id: str | None = None
    region: str | None = None
    uses_platform_credentials: bool = False
    # The organization's management account (read with DescribeOrganization), where
    # service-managed StackSets deploy no child role.
    child_role_in_management_account: bool = False
    # Set when role_arn is a child role: the central role that assumes it.
    central_role_arn: str | None = None
    # What the call named, where the message needs it (an organizational unit's id).
    resource: str | None = None


def mask_access_key_id(value: str) -> str:
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def scrub(text: str) -> str:
    """AWS messages can quote the caller's access key id; never pass one on unmasked."""
    text = _ACCESS_KEY_ID.sub(lambda match: mask_access_key_id(match.group(0)), text)
    return _SECRET_LIKE.sub("[REDACTED]", text)


_XML_CODE = re.compile(r"<Code>([^<]+)</Code>")
_XML_MESSAGE = re.compile(r"<Message>([^<]*)</Message>")


def _client_error_parts(exc: ClientError) -> tuple[str, str, int]:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "") or "")
    message = str(error.get("Message", "") or "")
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if code.isdigit():
        # Some endpoints (moto's API Gateway among them) answer a bare status as the code and
        # an XML error document as the message: take the real code and message from it.
        status = status or int(code)
        inner_code, inner_message = _XML_CODE.search(message), _XML_MESSAGE.search(message)
        if inner_code:
            code = inner_code.group(1)
        if inner_message:
            message = inner_message.group(1)
    return code, scrub(message), status


def classify(exc: BaseException, context: CallContext) -> AwsFailure:
    """The stable code, a message, and what to fix, for an exception raised by a boto3 call."""
    action = context.action
    where = _where(context)

    if isinstance(exc, AwsError):
        return exc.failure
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return AwsFailure(
            code="platform_credentials_missing",
            message="The service has no AWS credentials of its own to call AWS with.",
            hint="The operator must give the service AWS credentials (environment, shared "
            "config, or an instance/container role) before roles can be assumed.",
        )
    if isinstance(exc, ReadTimeoutError):
        # Connected, and no answer within the SDK's read timeout, attempt after attempt.
        return timed_out(context)
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ConnectionClosedError):
        return AwsFailure(
            code="aws_unreachable",
            message=f"AWS could not be reached for {action}{where}.",
            hint="Check the service's network access to AWS (proxy, firewall, DNS) and try "
            "again; nothing is wrong with the connection's settings as far as is known.",
        )
    if not isinstance(exc, ClientError):
        if isinstance(exc, BotoCoreError):
            return AwsFailure(
                code="aws_error",
                message=f"The AWS SDK failed on {action}{where}: {type(exc).__name__}.",
                hint="Try again; if it persists, report it with the request id.",
            )
        raise exc

    code, message, status = _client_error_parts(exc)
    quoted = f" AWS said: {message}" if message else ""

    if code in THROTTLE_CODES or status == 429:
        return AwsFailure(
            code="throttled",
            message=f"AWS throttled {action}{where} and retries did not get through.{quoted}",
            hint="Wait a minute and try again; if other tools use the same account heavily, "
            "AWS's per-account API quota is shared with them.",
        )
    if code in _CLOCK_SKEW_CODES or (
        code in _SIGNATURE_CODES and any(words in message.lower() for words in _CLOCK_SKEW_WORDS)
    ):
        return AwsFailure(
            code="clock_skew",
            message=f"AWS refused {action}{where}: the time on the request differs from AWS's "
            f"by more than AWS allows.{quoted}",
            hint="The clock of the host the service runs on is wrong. The operator must "
            "synchronize it (NTP: chrony or systemd-timesyncd; a container takes its host's "
            "clock) and try again; the credentials are not the cause.",
        )
    if code in _EXPIRED_CODES:
        return AwsFailure(
            code="expired_credentials",
            message=f"The credentials used for {action} have expired.{quoted}",
            hint="Temporary credentials expire; give the connection a long-term access key of "
            "an IAM user, or, for a role, test again to assume it anew.",
        )
    if code == "AWSOrganizationsNotInUseException":
        return AwsFailure(
            code="organizations_not_in_use",
            message=f"The account of the central role is not in an AWS organization.{quoted}",
            hint="A central role must live in the management account of an AWS Organization "
            "(or a delegated administrator account). For a single account, use the "
            "'assume_role' connection type instead.",
        )
    if code == "OptInRequired" or (context.region in OPT_IN_REGIONS and code in _INVALID_KEY_CODES):
        return AwsFailure(
            code="region_not_enabled",
            message=f"Region {context.region} is not enabled for the account{where}.",
            hint=f"Enable {context.region} in the account's settings (Account > AWS Regions) "
            "or leave the region out.",
        )

    if context.uses_platform_credentials and (
        code in _INVALID_KEY_CODES or code in _SIGNATURE_CODES
    ):
        return AwsFailure(
            code="platform_credentials_invalid",
            message=f"The service's own AWS credentials were refused.{quoted}",
            hint="The operator must fix the service's AWS credentials; the customer's "
            "role cannot be assumed until then.",
        )

    if action == "sts:AssumeRole" and (
        code in _DENIED_CODES or code in _INVALID_KEY_CODES or status in {401, 403}
    ):
        if _DENIED_BY_SCP.search(message):
            return _assume_denied_by_scp(context, quoted)
        if _NO_IDENTITY_POLICY in message:
            return _assumer_not_permitted(context, quoted)
        return _role_not_assumable(context, quoted)

    if code in _INVALID_KEY_CODES or code in _SIGNATURE_CODES:
        if code in _SIGNATURE_CODES:
            hint = (
                "The secret access key does not belong to this access key id. Paste the "
                "secret that was shown when the key was created, or create a new key."
            )
        else:
            hint = (
                "AWS does not know this access key id: it is mistyped, deleted or inactive. "
                "Create a new access key for the IAM user (IAM > Users > Security "
                "credentials) and update the connection."
            )
        return AwsFailure(
            code="invalid_credentials",
            message=f"AWS rejected the credentials for {action}.{quoted}",
            hint=hint,
        )
    if code == "UnauthorizedException":
        # API Gateway's 401: it did not authenticate the request at all.
        return AwsFailure(
            code="invalid_credentials",
            message=f"AWS refused to authenticate {action}{where}.{quoted}",
            hint="AWS refused to authenticate the request: the access key id or its secret is "
            "wrong, or the session token of assumed-role credentials has expired. Check the "
            "key (or create a new one) and test the connection again, which also assumes "
            "a role anew.",
        )

    if code in _DENIED_CODES or status == 403:
        return _access_denied(context, code, message, quoted)

    if code == "ParentNotFoundException":
        return AwsFailure(
            code="ou_not_found",
            message=f"The organization has no organizational unit or root {context.resource}."
            f"{quoted}",
            hint="Check the OU id (ou-... or r-...) in the schedule's organizational_units: "
            "the OU may have been deleted or moved to another organization.",
        )
    if code in {"NotFoundException", "NoSuchEntity", "ResourceNotFoundException"}:
        return AwsFailure(
            code="not_found",
            message=f"AWS did not find what {action} asked for{where}.{quoted}",
            hint="It may have been deleted in AWS; list again.",
        )
    return AwsFailure(
        code="aws_error",
        message=f"{action}{where} failed with {code or status or 'an unknown error'}.{quoted}",
        hint="Try again; if it persists, check the AWS service health and report the code.",
    )


def timed_out(context: CallContext, *, seconds: float | None = None) -> AwsFailure:
    """AWS took the request and did not answer: within `seconds` (the deadline of the work),
    or, without them, within the SDK's read timeout on every attempt."""
    within = f"within {seconds:g} s" if seconds is not None else "before the SDK gave up"
    endpoint = (
        " The SDK is pointed at another endpoint (AWS_ENDPOINT_URL): check that it answers."
        if any(name.startswith("AWS_ENDPOINT_URL") for name in os.environ)
        else ""
    )
    return AwsFailure(
        code="aws_timeout",
        message=f"AWS did not answer {context.action}{_where(context)} {within}.",
        hint="Try again in a minute. If it keeps happening, something between the service and "
        "AWS holds requests without answering: the operator should check the service's "
        "network egress (a proxy, firewall or NAT, a VPC endpoint's route or security group)."
        + endpoint,
    )


def _where(context: CallContext) -> str:
    parts = []
    if context.account_id:
        parts.append(f"account {context.account_id}")
    if context.region:
        parts.append(f"region {context.region}")
    return f" in {', '.join(parts)}" if parts else ""


def _role_not_assumable(context: CallContext, quoted: str) -> AwsFailure:
    role = context.role_arn or "the role"
    if context.child_role_in_management_account:
        return AwsFailure(
            code="role_not_assumable",
            message=f"{role} cannot be assumed in the management account.{quoted}",
            hint="Service-managed StackSets never deploy to the management account, so it "
            "usually has no child role. Create the role there by hand (same template) if it "
            "has APIs to test; otherwise nothing needs doing.",
        )
    if context.central_role_arn:
        # What the child-role template (GET /aws/setup) grants: sts:AssumeRole to the central
        # role, named through the template's account parameter, and no external id condition.
        central = context.central_role_arn
        return AwsFailure(
            code="role_not_assumable",
            message=f"{role} could not be assumed by the central role.{quoted}",
            hint=f"Check that {role} exists (the child-role StackSet deploys it to the "
            f"account) and that its trust policy allows sts:AssumeRole to {central}. In the "
            f"child-role template, the parameter {CHILD_TEMPLATE_ACCOUNT_PARAMETER} must be "
            f"{_account_of(central)}, the account of the central role.",
        )
    trust = context.principal_arn or "the platform's principal (see GET /aws/setup)"
    external = (
        " with the condition StringEquals sts:ExternalId equal to the external id of this "
        "connection (or of your tenant, see GET /aws/setup)"
        if context.external_id_sent
        else ""
    )
    return AwsFailure(
        code="role_not_assumable",
        message=f"{role} could not be assumed.{quoted}",
        hint=f"Check that {role} exists, and that its trust policy allows sts:AssumeRole to "
        f"{trust}{external}.",
    )


def _assumer_not_permitted(context: CallContext, quoted: str) -> AwsFailure:
    """No identity-based policy of the caller allows sts:AssumeRole: the caller's own
    permissions, not the role's trust policy."""
    role = context.role_arn or "the role"
    if context.central_role_arn:
        central = context.central_role_arn
        role_name = role.rsplit("/", 1)[-1]
        pattern = f"arn:{_partition_of(central)}:iam::*:role/{role_name}"
        return AwsFailure(
            code="access_denied",
            message=f"The central role {central} may not call sts:AssumeRole on {role}.{quoted}",
            hint=f"Allow sts:AssumeRole on {pattern} (or on *) in the permissions policy of the "
            f"central role {central} (GET /aws/setup shows it); the trust policy of {role_name} "
            "is not the cause.",
        )
    principal = context.principal_arn or "the platform's principal (see GET /aws/setup)"
    return AwsFailure(
        code="platform_not_permitted",
        message=f"The service's own identity {principal} may not call sts:AssumeRole on "
        f"{role}.{quoted}",
        hint=f"The operator must allow sts:AssumeRole on {role} (or on the customers' roles, "
        f"e.g. arn:{_partition_of(role)}:iam::*:role/*) in the IAM policy of the platform's "
        f"principal {principal}; the customer's trust policy is not the cause.",
    )


def _assume_denied_by_scp(context: CallContext, quoted: str) -> AwsFailure:
    role = context.role_arn or "the role"
    if context.central_role_arn:
        central = context.central_role_arn
        return AwsFailure(
            code="access_denied",
            message=f"A service control policy denies the central role sts:AssumeRole on "
            f"{role}.{quoted}",
            hint=f"A service control policy (SCP) of the organization denies sts:AssumeRole to "
            f"{central} (SCPs apply in every account but the management account). Ask the "
            "organization's administrators to exempt the central role from it.",
        )
    principal = context.principal_arn or "the platform's principal"
    return AwsFailure(
        code="access_denied",
        message=f"A service control policy denies {principal} sts:AssumeRole on {role}.{quoted}",
        hint=f"A service control policy (SCP) of the organization of the platform's own account "
        f"denies sts:AssumeRole to {principal}; the operator must have it exempted from that "
        "SCP. The customer's role and trust policy are not the cause.",
    )


def _account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


def _partition_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[1] if len(parts) > 2 and parts[1] else "aws"


def _access_denied(context: CallContext, code: str, message: str, quoted: str) -> AwsFailure:
    action = context.action
    where = _where(context)
    if action.startswith("apigateway") and _DENIED_BY_SCP.search(message):
        region = context.region or "this region"
        account = context.account_id or "this account"
        return AwsFailure(
            code="region_denied_by_policy",
            message=f"The organization's service control policy denies API Gateway in region "
            f"{region} for account {account}.{quoted}",
            hint="Regions denied by a service control policy (SCP) or by Control Tower's "
            "region deny control are skipped. Remove the region from the schedule, or ask the "
            "organization's administrators to allow API Gateway there.",
        )
    if action.startswith("apigateway"):
        return AwsFailure(
            code="access_denied",
            message=f"Listing API Gateway APIs was denied{where}.{quoted}",
            hint="Allow the action apigateway:GET on resource * in the policy of the IAM user "
            "or role this connection uses (GET /aws/setup shows the read-only policy). "
            "Check also for a service control policy that denies it.",
        )
    if action == "organizations:ListAccounts":
        if "not authorized to perform" in message:
            return AwsFailure(
                code="access_denied",
                message=f"The central role may not list the organization's accounts.{quoted}",
                hint="Add organizations:ListAccounts (and sts:AssumeRole) on * to the central "
                "role's permissions policy.",
            )
        return AwsFailure(
            code="not_management_account",
            message="The central role's account may not list the organization's accounts: it "
            f"is not the management account or a delegated administrator.{quoted}",
            hint="Create the central role in the organization's management account, or "
            "register its account as a delegated administrator for AWS Organizations.",
        )
    if action.startswith("organizations:List") and (
        action.endswith("ForParent") or action.endswith("Roots")
    ):
        return AwsFailure(
            code="access_denied",
            message=f"The central role may not read the organization's structure ({action})."
            f"{quoted}",
            hint="Choosing and using organizational_units needs organizations:ListRoots, "
            "organizations:ListAccountsForParent and "
            "organizations:ListOrganizationalUnitsForParent on * in the central role's "
            "permissions policy (GET /aws/setup has the updated template).",
        )
    return AwsFailure(
        code="access_denied",
        message=f"{action}{where} was denied.{quoted}",
        hint=f"Allow {action} in the policy of the IAM user or role this connection uses.",
    )

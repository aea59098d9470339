"""What a customer sets up in AWS for each credential type, filled in for one tenant."""

from __future__ import annotations

from app.core.errors import DomainError
from app.integrations.aws.platform import PlatformIdentityError, platform_principal_arn
from app.integrations.aws.sessions import partition_of_arn
from app.models import Tenant
from app.setup import templates
from app.setup.schemas import AwsSetup, RoleSetup, SetupInstructions


class PlatformIdentityUnavailableError(DomainError):
    status = 503
    code = "platform_identity_unavailable"
    title = "Platform identity unavailable"
    hint = (
        "Configure AWS credentials for the service (environment variables, a shared config "
        "profile, or an instance or container role) so that sts:GetCallerIdentity succeeds, "
        "or set ONBOARDER_PLATFORM_PRINCIPAL_ARN to the ARN customers' roles should trust."
    )


def resolve_platform_principal_arn(configured: str | None) -> str:
    """The configured ARN if there is one, else who the service's own credentials are."""
    try:
        return platform_principal_arn(configured)
    except PlatformIdentityError as exc:
        raise PlatformIdentityUnavailableError(
            f"The service could not determine its own AWS identity: {exc}",
            extra={"aws_code": exc.failure.code},
        ) from None


def aws_setup(
    *, tenant: Tenant, configured_principal_arn: str | None, management_account_id: str | None
) -> AwsSetup:
    external_id = tenant.external_id
    try:
        principal = resolve_platform_principal_arn(configured_principal_arn)
    except PlatformIdentityUnavailableError as exc:
        # The IAM-user path trusts no platform identity: the problem still carries it (RFC 9457
        # extension members), so a person can set that up while the operator fixes the rest.
        exc.extra.update(
            external_id=external_id,
            read_only_policy=templates.read_only_policy(),
            instructions={"aws_user": _aws_user_instructions()},
        )
        raise
    platform_trust = templates.trust_policy(principal, external_id)
    # Roles can only trust principals of their own partition, so the customer's accounts share
    # the platform's.
    central_role_arn = templates.central_role_arn(
        management_account_id or templates.MANAGEMENT_ACCOUNT_PLACEHOLDER,
        partition=partition_of_arn(principal),
    )
    return AwsSetup(
        platform_principal_arn=principal,
        external_id=external_id,
        read_only_policy=templates.read_only_policy(),
        trust_policy=platform_trust,
        central_role=RoleSetup(
            role_name=templates.CENTRAL_ROLE_NAME,
            policy=templates.central_role_policy(),
            trust_policy=platform_trust,
            cloudformation_template=templates.central_role_template(
                platform_principal_arn=principal, external_id=external_id
            ),
        ),
        child_role=RoleSetup(
            role_name=templates.CHILD_ROLE_NAME,
            policy=templates.read_only_policy(),
            trust_policy=templates.trust_policy(central_role_arn),
            cloudformation_template=templates.child_role_template(
                management_account_id=management_account_id
            ),
        ),
        instructions=_instructions(
            principal=principal,
            external_id=external_id,
            management_account_id=management_account_id,
        ),
    )


def _instructions(
    *, principal: str, external_id: str, management_account_id: str | None
) -> SetupInstructions:
    central, child = templates.CENTRAL_ROLE_NAME, templates.CHILD_ROLE_NAME
    parameter = templates.MANAGEMENT_ACCOUNT_PARAMETER
    account_parameter = (
        f"{parameter} is already {management_account_id}"
        if management_account_id
        else f"set {parameter} to the management account's 12-digit id (or call this endpoint "
        "with ?management_account_id= to have it filled in)"
    )
    return SetupInstructions(
        aws_user=_aws_user_instructions(),
        assume_role=[
            "In the AWS account whose APIs you want to discover, open IAM > Roles > Create "
            "role, choose 'Custom trust policy' and paste the JSON of trust_policy: only "
            f"{principal} may assume the role, and only with your external id {external_id}.",
            "Add the JSON of read_only_policy to the role as its permissions policy "
            "(apigateway:GET on *, read only).",
            "Name the role, e.g. APIGatewayAccessRole, create it and copy its ARN.",
            "Create a connection with credential_type 'assume_role' and that role_arn; "
            "the service always sends your external id (you cannot choose another), and the "
            "optional session_name shows in your CloudTrail.",
        ],
        central_role=[
            "Sign in to the organization's management account. AWS Organizations must have all "
            "features enabled, and trusted access for CloudFormation StackSets must be on "
            "(CloudFormation > StackSets > Enable trusted access).",
            "Create a stack from central_role.cloudformation_template (CloudFormation > Create "
            "stack > Upload a template file) and acknowledge that it creates a named IAM role "
            f"(CAPABILITY_NAMED_IAM). It creates {central}, which only {principal} may assume, "
            "and only with your external id. Copy the stack's RoleArn output.",
            "Create a StackSet from child_role.cloudformation_template with service-managed "
            f"permissions; {account_parameter}. Deploy it to the organization's root or to the "
            "OUs to scan, turn automatic deployment on so that accounts added later get "
            f"{child} too, pick a single region (IAM roles are global) and acknowledge "
            "CAPABILITY_NAMED_IAM.",
            "StackSets never deploy to the management account itself. If it has APIs to "
            f"discover, create {child} there too: a plain stack from "
            "child_role.cloudformation_template.",
            f"Create a connection with credential_type 'central_role' and the {central} ARN as "
            f"central_role_arn; child_role_name defaults to {child}.",
        ],
    )


def _aws_user_instructions() -> list[str]:
    return [
        "In the AWS account whose APIs you want to discover, open IAM > Users and create a "
        "user without console access, e.g. onboarder-reader.",
        "Add an inline policy to the user with the JSON of read_only_policy. It allows "
        "only apigateway:GET: it reads API Gateway's configuration and can change nothing.",
        "Create an access key for the user (use case: application running outside AWS) "
        "and copy the access key id and the secret access key; AWS shows the secret once.",
        "Create a connection with credential_type 'aws_user', access_key_id and "
        "secret_access_key (POST /api/v1/connections/test checks it without saving it).",
    ]

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from app.core.openapi import string_pattern
from app.integrations.aws.sessions import ACCOUNT_ID_PATTERN

_ACCOUNT_ID = re.compile(r"\d{12}")


def _account_id(value: str) -> str:
    if not _ACCOUNT_ID.fullmatch(value):
        raise ValueError("must be a 12-digit AWS account id, e.g. 123456789012")
    return value


AccountId = Annotated[str, AfterValidator(_account_id), string_pattern(ACCOUNT_ID_PATTERN)]


class RoleSetup(BaseModel):
    role_name: str
    policy: dict[str, Any] = Field(description="The role's permissions policy (IAM JSON).")
    trust_policy: dict[str, Any] = Field(description="Who may assume the role (IAM JSON).")
    cloudformation_template: str = Field(description="A CloudFormation template (YAML).")


class SetupInstructions(BaseModel):
    """Ordered steps, one list per credential type."""

    aws_user: list[str]
    assume_role: list[str]
    central_role: list[str]


class AwsSetup(BaseModel):
    platform_principal_arn: str = Field(
        description="The identity customers' roles trust: the service's own AWS principal."
    )
    external_id: str = Field(description="The tenant's sts:ExternalId.")
    read_only_policy: dict[str, Any] = Field(
        description="The permissions an IAM user or role needs: apigateway:GET on *."
    )
    trust_policy: dict[str, Any] = Field(
        description="The trust policy of an 'assume_role' role, with the external id condition."
    )
    central_role: RoleSetup
    child_role: RoleSetup
    instructions: SetupInstructions


class EventForwardingSetup(BaseModel):
    """What a customer deploys so that API Gateway's changes reach the service in seconds."""

    ingest_url: str = Field(
        description="Where the EventBridge API destination posts each event (filled in)."
    )
    token_header: str = Field(description="The header that carries the connection's ingest token.")
    template_kind: Literal["stack", "stackset"] = Field(
        description="'stackset' for a central_role connection: cloudformation_template is a "
        "stack for the management account that deploys a service-managed StackSet; 'stack': "
        "cloudformation_template is one stack per region in the connection's account."
    )
    regions: list[str] = Field(
        description="The regions to forward from (the StackSet's default Regions)."
    )
    cloudformation_template: str = Field(description="A CloudFormation template (YAML).")
    account_template: str = Field(
        description="The single-account, single-region template (YAML): the stack each "
        "account gets, and what the management account, which StackSets never deploy to, "
        "deploys itself. The same as cloudformation_template for a 'stack'."
    )
    instructions: list[str] = Field(description="Ordered steps.")

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, field_validator
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from app.core.errors import UNION_TAGS, VALIDATION_HINTS
from app.integrations.aws.credentials import (
    CREDENTIAL_TYPES,
    AccessKeyId,
    AccountStatus,
    AssumeRoleCredentials,
    AwsUserCredentials,
    CentralRoleCredentials,
    Partition,
    RoleArn,
    RoleName,
    SecretAccessKey,
    SessionName,
)
from app.integrations.aws.errors import AwsFailure
from app.schedules.schemas import ScheduleSummary

UNION_TAGS.update(CREDENTIAL_TYPES)

ConnectionName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
]


EXTERNAL_ID_REFUSED = "external_id_not_accepted"


def refuse_external_id(value: Any) -> None:
    """A tenant never chooses the external id its roles are assumed with: the service always
    sends the tenant's own (AWS's guard against the confused deputy: were it choosable, a
    tenant could send another customer's id and assume that customer's role)."""
    if value is not None:
        raise PydanticCustomError(
            EXTERNAL_ID_REFUSED,
            "is not accepted: every role is assumed with your tenant's external id, which "
            "the service issues",
        )


VALIDATION_HINTS[EXTERNAL_ID_REFUSED] = (
    "Remove external_id. Put your tenant's external id (GET /api/v1/aws/setup, or Setup in the "
    "console) in the role's trust policy as the sts:ExternalId condition."
)


class _RefusesExternalId(BaseModel):
    # In the body only to be refused by name; not part of the documented schema.
    external_id: SkipJsonSchema[Any] = None

    @field_validator("external_id", mode="before")
    @classmethod
    def _refuse(cls, value: Any) -> None:
        refuse_external_id(value)


class _Named(BaseModel):
    name: ConnectionName


class _CarriesTestToken(BaseModel):
    # SecretStr: repr() and logs show '**********'; the token is never logged.
    test_token: SecretStr | None = Field(
        default=None,
        description="The test_token of a successful POST /connections/test of these same "
        "fields (15 minutes): the connection is stored as tested (status ok, last_tested_at, "
        "account_id from that test). A token that does not verify, has expired or was made "
        "for other fields is ignored: the connection is stored untested.",
        json_schema_extra={"writeOnly": True},
    )


class AwsUserConnectionCreate(_RefusesExternalId, _CarriesTestToken, AwsUserCredentials, _Named):
    pass


class AssumeRoleConnectionCreate(
    _RefusesExternalId, _CarriesTestToken, AssumeRoleCredentials, _Named
):
    pass


class CentralRoleConnectionCreate(
    _RefusesExternalId, _CarriesTestToken, CentralRoleCredentials, _Named
):
    pass


ConnectionCreate = Annotated[
    AwsUserConnectionCreate | AssumeRoleConnectionCreate | CentralRoleConnectionCreate,
    Field(discriminator="credential_type"),
]


class _MaybeNamed(BaseModel):
    name: ConnectionName | None = None


class AwsUserConnectionTest(_RefusesExternalId, AwsUserCredentials, _MaybeNamed):
    pass


class AssumeRoleConnectionTest(_RefusesExternalId, AssumeRoleCredentials, _MaybeNamed):
    pass


class CentralRoleConnectionTest(_RefusesExternalId, CentralRoleCredentials, _MaybeNamed):
    pass


ConnectionTestRequest = Annotated[
    AwsUserConnectionTest | AssumeRoleConnectionTest | CentralRoleConnectionTest,
    Field(discriminator="credential_type"),
]


class ConnectionUpdate(_RefusesExternalId):
    """Fields a connection may change; a field of another credential type is refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # null resets session_name and child_role_name to their defaults; the other fields cannot
    # be removed (the service says so), so the document does not offer null for them.
    name: ConnectionName | SkipJsonSchema[None] = None
    session_name: SessionName = None
    child_role_name: RoleName | None = None
    role_arn: RoleArn | SkipJsonSchema[None] = None
    central_role_arn: RoleArn | SkipJsonSchema[None] = None
    access_key_id: AccessKeyId | SkipJsonSchema[None] = None
    secret_access_key: SecretAccessKey | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra={"writeOnly": True}
    )
    # aws_user only; null resets it to aws.
    partition: Partition | None = None

    def changes(self) -> dict[str, Any]:
        return {
            name: getattr(self, name) for name in self.model_fields_set if name != "external_id"
        }


class AwsFailureRead(BaseModel):
    code: str
    message: str
    hint: str | None = None

    @classmethod
    def of(cls, failure: AwsFailure | None) -> AwsFailureRead | None:
        if failure is None:
            return None
        return cls(code=failure.code, message=failure.message, hint=failure.hint)


class CheckRead(BaseModel):
    name: str
    ok: bool
    detail: str


class AccountRead(BaseModel):
    account_id: str
    name: str | None
    status: str | None
    reachable: bool
    error: AwsFailureRead | None = None
    management_account: bool = Field(
        default=False,
        description="The organization's management account (DescribeOrganization; the "
        "central role's account if that was denied). Service-managed StackSets deploy no "
        "child role there.",
    )

    @classmethod
    def of(cls, account: AccountStatus) -> AccountRead:
        return cls(
            account_id=account.account_id,
            name=account.name,
            status=account.status,
            reachable=account.reachable,
            error=AwsFailureRead.of(account.error),
            management_account=account.management_account,
        )


class ConnectionTestRead(BaseModel):
    ok: bool
    account_id: str | None
    arn: str | None
    checks: list[CheckRead]
    accounts: list[AccountRead] | None = None
    error: AwsFailureRead | None = None
    test_token: str | None = Field(
        default=None,
        description="POST /connections/test only, when ok: pass it as test_token to "
        "POST /connections with the same fields (within 15 minutes) to store the connection "
        "as tested.",
    )


class ConnectionRead(BaseModel):
    id: uuid.UUID
    name: str
    credential_type: Literal["aws_user", "assume_role", "central_role"]
    access_key_id_masked: str | None
    role_arn: str | None
    central_role_arn: str | None
    session_name: str | None
    child_role_name: str | None
    partition: str = Field(
        description="The AWS partition (aws, aws-cn, aws-us-gov): declared for aws_user, "
        "the role ARN's for the others."
    )
    # A connection saved before 0.6 with an external id of the tenant's choosing keeps using
    # it until its next edit, which switches it to the tenant's own.
    external_id_override: bool
    external_id: str | None = Field(
        description="The external id such a connection still uses; null for every other one."
    )
    account_id: str | None
    status: Literal["untested", "ok", "failed"]
    last_tested_at: datetime | None
    last_error_code: str | None
    created_at: datetime
    updated_at: datetime
    auto_onboard: ScheduleSummary | None = None  # null: auto-onboard is not enabled


# Secrets are typed SecretStr everywhere they are accepted, so repr() and logs show '**********'.
__all__ = [
    "AccountRead",
    "ConnectionCreate",
    "ConnectionRead",
    "ConnectionTestRead",
    "ConnectionTestRequest",
    "ConnectionUpdate",
    "SecretStr",
]

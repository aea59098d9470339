from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints

from app.core.errors import UNION_TAGS
from app.integrations.aws.credentials import (
    CREDENTIAL_TYPES,
    AccessKeyId,
    AccountStatus,
    AssumeRoleCredentials,
    AwsUserCredentials,
    CentralRoleCredentials,
    ExternalId,
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


class _Named(BaseModel):
    name: ConnectionName


class AwsUserConnectionCreate(AwsUserCredentials, _Named):
    pass


class AssumeRoleConnectionCreate(AssumeRoleCredentials, _Named):
    pass


class CentralRoleConnectionCreate(CentralRoleCredentials, _Named):
    pass


ConnectionCreate = Annotated[
    AwsUserConnectionCreate | AssumeRoleConnectionCreate | CentralRoleConnectionCreate,
    Field(discriminator="credential_type"),
]


class _MaybeNamed(BaseModel):
    name: ConnectionName | None = None


class AwsUserConnectionTest(AwsUserCredentials, _MaybeNamed):
    pass


class AssumeRoleConnectionTest(AssumeRoleCredentials, _MaybeNamed):
    pass


class CentralRoleConnectionTest(CentralRoleCredentials, _MaybeNamed):
    pass


ConnectionTestRequest = Annotated[
    AwsUserConnectionTest | AssumeRoleConnectionTest | CentralRoleConnectionTest,
    Field(discriminator="credential_type"),
]


class ConnectionUpdate(BaseModel):
    """Fields a connection may change; a field of another credential type is refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: ConnectionName | None = None
    session_name: SessionName = None
    external_id: ExternalId = None
    child_role_name: RoleName | None = None
    role_arn: RoleArn | None = None
    central_role_arn: RoleArn | None = None
    access_key_id: AccessKeyId | None = None
    secret_access_key: SecretAccessKey | None = Field(
        default=None, json_schema_extra={"writeOnly": True}
    )

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


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

    @classmethod
    def of(cls, account: AccountStatus) -> AccountRead:
        return cls(
            account_id=account.account_id,
            name=account.name,
            status=account.status,
            reachable=account.reachable,
            error=AwsFailureRead.of(account.error),
        )


class ConnectionTestRead(BaseModel):
    ok: bool
    account_id: str | None
    arn: str | None
    checks: list[CheckRead]
    accounts: list[AccountRead] | None = None
    error: AwsFailureRead | None = None


class ConnectionRead(BaseModel):
    id: uuid.UUID
    name: str
    credential_type: Literal["aws_user", "assume_role", "central_role"]
    access_key_id_masked: str | None
    role_arn: str | None
    central_role_arn: str | None
    session_name: str | None
    child_role_name: str | None
    external_id: str | None
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

"""The credential types: one small class each, that validates its fields and opens a session.

The registry maps `credential_type` to its class; callers never branch on the type themselves.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Protocol, get_args

from botocore.exceptions import ClientError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, WithJsonSchema

from app.integrations.aws import organizations
from app.integrations.aws.deadlines import RUN_TIMEOUTS, AwsTimeouts, Deadline, carry, within
from app.integrations.aws.errors import (
    AwsError,
    AwsFailure,
    CallContext,
    classify,
    mask_access_key_id,
)
from app.integrations.aws.organizations import OrganizationalUnit, OrganizationalUnits
from app.integrations.aws.platform import PlatformIdentityError, platform_principal_arn
from app.integrations.aws.sessions import (
    AwsSession,
    SessionCache,
    account_of_arn,
    call_aws,
    partition_home_region,
    partition_of_arn,
)

logger = logging.getLogger(__name__)

DEFAULT_SESSION_NAME = "APIsec-Onboarder"
# The partitions an IAM user's access key may belong to (botocore's partition names).
Partition = Literal["aws", "aws-cn", "aws-us-gov"]
PARTITIONS: tuple[str, ...] = get_args(Partition)
DEFAULT_CHILD_ROLE_NAME = "APIsecChildRole"

ROLE_ARN = re.compile(
    r"arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-[a-z]|aws-eusc):iam::\d{12}:role/"
    r"(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}"
)
ACCESS_KEY_ID = re.compile(r"AKIA[A-Z0-9]{16}")
SECRET_ACCESS_KEY = re.compile(r"[A-Za-z0-9/+=]{40}")
SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}")
EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}")
ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}")


def validate_role_arn(value: str) -> str:
    value = value.strip()
    if not ROLE_ARN.fullmatch(value):
        raise ValueError(
            "must be an IAM role ARN: arn:<partition>:iam::<12-digit account id>:role/<path/name>"
        )
    return value


def validate_session_name(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not SESSION_NAME.fullmatch(value):
        raise ValueError("must be 2 to 64 characters of letters, digits and +=,.@_-")
    return value


def validate_external_id(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not EXTERNAL_ID.fullmatch(value):
        raise ValueError("must be 2 to 1224 characters of letters, digits and +=,.@:/_-")
    return value


def validate_access_key_id(value: str) -> str:
    value = value.strip()
    if value.startswith("ASIA"):
        raise ValueError(
            "is a temporary key (ASIA...), which expires; create a long-term access key "
            "(AKIA...) for an IAM user"
        )
    if not ACCESS_KEY_ID.fullmatch(value):
        raise ValueError(
            "must be an IAM user's access key id: AKIA followed by 16 letters or digits"
        )
    return value


def validate_secret_access_key(value: SecretStr) -> SecretStr:
    secret = value.get_secret_value().strip()
    if not SECRET_ACCESS_KEY.fullmatch(secret):
        # Never echo the value: pydantic would put `input` in the error, so raise plainly.
        raise ValueError(
            "must be the 40-character secret access key shown when the key was created"
        )
    return SecretStr(secret)


def validate_role_name(value: str) -> str:
    value = value.strip()
    if not ROLE_NAME.fullmatch(value):
        raise ValueError(
            "must be an IAM role name: 1 to 64 characters of letters, digits and +=,.@_-"
        )
    return value


def _pattern_of(regex: re.Pattern[str], **schema: Any) -> WithJsonSchema:
    """What the schema says of a string its validator matches against `regex`: the OpenAPI
    document names the rule, and the validator keeps its own messages."""
    return WithJsonSchema({"type": "string", "pattern": f"^{regex.pattern}$", **schema})


RoleArn = Annotated[str, AfterValidator(validate_role_arn), _pattern_of(ROLE_ARN)]
SessionName = Annotated[
    str | None,
    AfterValidator(validate_session_name),
    WithJsonSchema({"anyOf": [_pattern_of(SESSION_NAME).json_schema, {"type": "null"}]}),
]
ExternalId = Annotated[str | None, AfterValidator(validate_external_id)]
AccessKeyId = Annotated[str, AfterValidator(validate_access_key_id), _pattern_of(ACCESS_KEY_ID)]
SecretAccessKey = Annotated[
    SecretStr,
    AfterValidator(validate_secret_access_key),
    _pattern_of(SECRET_ACCESS_KEY, format="password", writeOnly=True),
]
RoleName = Annotated[str, AfterValidator(validate_role_name), _pattern_of(ROLE_NAME)]


# ------------------------------------------------------------------------------ probe results
@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class AccountStatus:
    account_id: str
    name: str | None
    status: str | None
    reachable: bool
    error: AwsFailure | None = None
    # The organization's management account (as DescribeOrganization says; else the central
    # role's account): service-managed StackSets deploy no child role there.
    management_account: bool = False


@dataclass
class ProbeResult:
    ok: bool
    account_id: str | None = None
    arn: str | None = None
    checks: list[Check] = field(default_factory=list)
    accounts: list[AccountStatus] | None = None
    error: AwsFailure | None = None


@dataclass(frozen=True)
class ProbeContext:
    """What every credential type needs from the service to open a session."""

    platform: Callable[[], AwsSession]
    tenant_external_id: str
    max_workers: int = 32
    # Configured (ONBOARDER_PLATFORM_PRINCIPAL_ARN); else asked of STS when a hint needs it.
    platform_principal_arn: str | None = None
    # Discovery reuses assumed sessions; a connection test always assumes afresh.
    sessions: SessionCache | None = None
    # The SDK's limits on each call: short where a person waits, patient in runs.
    timeouts: AwsTimeouts = RUN_TIMEOUTS
    # When the operation this context serves gives up with aws_timeout (a request a person
    # waits on); None: only the SDK's limits bound it.
    deadline: Deadline | None = None
    # Runs: each account or region (reaching the account, listing the region, inspecting one
    # of its APIs) gives up after this many seconds with aws_timeout, and the rest go on.
    region_seconds: float | None = None

    def with_deadline(self, seconds: float) -> ProbeContext:
        """This context with a deadline `seconds` from now (or the one it has, if earlier)."""
        deadline = self.timeouts.deadline_after(seconds).earlier(self.deadline)
        return replace(self, deadline=deadline)

    def region_deadline(self) -> Deadline | None:
        """A deadline for one account or region's work, starting now."""
        if self.region_seconds is None:
            return None
        return self.timeouts.deadline_after(self.region_seconds)

    def assumed(self, key: tuple[str, ...], assume: Callable[[], AwsSession]) -> AwsSession:
        if self.sessions is None:
            return assume()
        # A session keeps the SDK limits it was opened with: interactive and patient apart.
        return self.sessions.get_or_compute((*key, self.timeouts), assume)

    def platform_session(self) -> AwsSession:
        """The platform's session, knowing its principal ARN (for trust-policy hints)."""
        session = self.platform().with_config(self.timeouts.config)
        try:
            session.principal_arn = platform_principal_arn(self.platform_principal_arn)
        except PlatformIdentityError as exc:
            raise AwsError(exc.failure) from None
        return session


class _Failed(Exception):
    def __init__(self, failure: AwsFailure) -> None:
        self.failure = failure


def _apigateway_check(session: AwsSession, region: str, account_id: str | None) -> Check:
    context = CallContext(action="apigateway:GET", account_id=account_id, region=region)
    call_aws(context, lambda: session.client("apigateway", region).get_rest_apis(limit=1))
    return Check(
        name="apigateway:GET",
        ok=True,
        detail=f"Listed REST APIs in {region} (one item asked for).",
    )


def _apigateway_step(result: ProbeResult, session: AwsSession) -> None:
    _run(
        result,
        "apigateway:GET",
        lambda: _apigateway_check(session, session.home_region, result.account_id),
    )


def _run(result: ProbeResult, name: str, step: Callable[[], Check]) -> Check:
    try:
        check = step()
    except AwsError as exc:
        result.checks.append(Check(name=name, ok=False, detail=exc.failure.message))
        raise _Failed(exc.failure) from None
    result.checks.append(check)
    return check


def _assume_step(
    result: ProbeResult, open_session: Callable[[], AwsSession], what: str
) -> AwsSession:
    """The "assume_role" check: assume (with the external id) and say who we became."""
    opened: list[AwsSession] = []

    def assume() -> Check:
        session = open_session()
        opened.append(session)
        found = session.caller_identity()
        result.account_id, result.arn = found["Account"], found["Arn"]
        return Check(
            name="assume_role",
            ok=True,
            detail=f"Assumed {what} with an external id as {found['Arn']}.",
        )

    _run(result, "assume_role", assume)
    return opened[0]


class AccountSource(Protocol):
    """The accounts a connection reaches, and a session in each, for discovery."""

    def account_pages(self) -> Iterator[list[AccountStatus]]:
        """Accounts as they are listed, a page at a time (raises AwsError if listing fails)."""
        ...

    def session_for(self, account_id: str) -> AwsSession:
        """A session in the account (raises AwsError if it cannot be reached)."""
        ...

    def default_account(self) -> str | None:
        """The account to look in when none is named: the only one, or None for many."""
        ...

    def organizational_units(self, ou_ids: Iterable[str]) -> OrganizationalUnits:
        """The accounts under each OU (an organization's sources only)."""
        ...

    def organization_tree(self) -> list[OrganizationalUnit]:
        """The root and every OU under it (an organization's sources only; else empty)."""
        ...


class _SingleAccount:
    def __init__(
        self, open_session: Callable[[], AwsSession], account_id: str | None = None
    ) -> None:
        self._open = open_session
        self._account_id = account_id

    def default_account(self) -> str:
        if self._account_id is None:
            self._account_id = self._open().caller_identity()["Account"]
        return self._account_id

    def account_pages(self) -> Iterator[list[AccountStatus]]:
        account_id = self.default_account()
        yield [AccountStatus(account_id=account_id, name=None, status=None, reachable=True)]

    def session_for(self, account_id: str) -> AwsSession:
        return self._open()

    def organizational_units(self, ou_ids: Iterable[str]) -> OrganizationalUnits:
        failure = AwsFailure(
            code="not_an_organization",
            message="Only a central_role connection reaches organizational units.",
            hint="Leave organizational_units out of this connection's schedule.",
        )
        return OrganizationalUnits(failures=dict.fromkeys(ou_ids, failure))

    def organization_tree(self) -> list[OrganizationalUnit]:
        return []


_NOT_IN_USE = ClientError(
    {
        "Error": {
            "Code": "AWSOrganizationsNotInUseException",
            "Message": "ListAccounts listed no account",
        }
    },
    "ListAccounts",
)


class _Organization:
    """One listing of an organization's accounts: its management account is read once, with
    the first page, and kept for the child roles assumed afterwards."""

    def __init__(
        self, spec: CentralRoleCredentials, central: AwsSession, context: ProbeContext
    ) -> None:
        self._spec, self._central, self._context = spec, central, context
        self._lock = threading.Lock()
        self._management: ManagementAccount | None = None

    def management_account_id(self) -> str:
        with self._lock:
            if self._management is None:
                self._management = self._spec.management_account_of(self._central)
            return self._management.account_id

    def account_pages(self) -> Iterator[list[AccountStatus]]:
        return self._spec.account_pages(
            self._central, management_account_id=self.management_account_id()
        )

    def default_account(self) -> None:
        return None

    def organizational_units(self, ou_ids: Iterable[str]) -> OrganizationalUnits:
        return organizations.resolve(
            self._central, ou_ids, central_role_arn=self._spec.central_role_arn
        )

    def organization_tree(self) -> list[OrganizationalUnit]:
        return organizations.tree(self._central, central_role_arn=self._spec.central_role_arn)

    def session_for(self, account_id: str) -> AwsSession:
        spec = self._spec
        key = (
            "child",
            spec.child_role_arn(account_id),
            spec.external_id_for(self._context),
            spec.session_name or DEFAULT_SESSION_NAME,
            spec.central_role_arn,
        )
        return self._context.assumed(
            key,
            lambda: spec.child_session(
                self._central,
                account_id,
                self._context,
                management_account_id=self.management_account_id(),
            ),
        )


@dataclass(frozen=True)
class ManagementAccount:
    """The organization's management account; `failure` says why DescribeOrganization did not
    answer, in which case it is the central role's own account (a guess)."""

    account_id: str
    failure: AwsFailure | None = None

    def describe(self, central_account_id: str) -> str:
        if self.failure is not None:
            return (
                f" organizations:DescribeOrganization failed ({self.failure.code}), so the "
                f"central role's account {central_account_id} is taken for the management "
                "account; allow organizations:DescribeOrganization to the central role."
            )
        if self.account_id == central_account_id:
            return f" Its management account is {self.account_id}, where the central role is."
        return (
            f" Its management account is {self.account_id}; the central role is in "
            f"{central_account_id}, a delegated administrator account."
        )


# ------------------------------------------------------------------------------ the registry
def _credential_type_required(schema: dict[str, Any]) -> None:
    # Bodies are told apart by credential_type: one without it is refused, whatever the default.
    schema["properties"]["credential_type"].pop("default", None)
    schema["required"] = ["credential_type", *schema.get("required", [])]


class CredentialSpec(BaseModel):
    """Fields of one credential type. Subclasses register themselves by credential_type."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra=_credential_type_required
    )

    type_name: ClassVar[str]
    registry: ClassVar[dict[str, type[CredentialSpec]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = getattr(cls, "type_name", None)
        if name and name not in CredentialSpec.registry:
            CredentialSpec.registry[name] = cls

    if TYPE_CHECKING:
        # The AWS partition the credentials live in (aws, aws-cn, aws-us-gov): declared by an
        # aws_user connection, read from the role ARN by the others. Not defined here at run
        # time: pydantic would refuse aws_user's field of the same name as shadowing it.
        @property
        def partition(self) -> str: ...

    def external_id_for(self, context: ProbeContext) -> str:
        own = getattr(self, "external_id", None)
        return own or context.tenant_external_id

    def open(self, context: ProbeContext) -> AwsSession:
        """A session in the connection's own account (the central role's, for central_role)."""
        raise NotImplementedError

    def accounts(self, context: ProbeContext) -> AccountSource:
        """Where discovery looks: the connection's one account, or every account it reaches."""
        raise NotImplementedError

    def probe(self, context: ProbeContext) -> ProbeResult:
        """Try the credentials step by step; the answer says which step failed and why."""
        result = ProbeResult(ok=False)
        try:
            with within(context.deadline):
                self._probe(context, result)
        except _Failed as failed:
            result.ok = False
            result.error = failed.failure
            return result
        result.ok = True
        return result

    def _probe(self, context: ProbeContext, result: ProbeResult) -> None:
        raise NotImplementedError


class AwsUserCredentials(CredentialSpec):
    type_name: ClassVar[str] = "aws_user"
    credential_type: Literal["aws_user"] = "aws_user"
    access_key_id: AccessKeyId = Field(examples=["AKIAIOSFODNN7EXAMPLE"])
    secret_access_key: SecretAccessKey = Field(json_schema_extra={"writeOnly": True})
    partition: Partition = Field(
        default="aws",
        description="The AWS partition the IAM user belongs to: aws, aws-cn (China) or "
        "aws-us-gov (GovCloud (US)); STS and API Gateway are called in its regions.",
    )

    @property
    def masked_access_key_id(self) -> str:
        return mask_access_key_id(self.access_key_id)

    def open(self, context: ProbeContext) -> AwsSession:
        return AwsSession.from_access_key(
            access_key_id=self.access_key_id,
            secret_access_key=self.secret_access_key.get_secret_value(),
            partition=self.partition,
            config=context.timeouts.config,
        )

    def accounts(self, context: ProbeContext) -> AccountSource:
        session = self.open(context)
        return _SingleAccount(lambda: session)

    def _probe(self, context: ProbeContext, result: ProbeResult) -> None:
        session = self.open(context)

        def identity() -> Check:
            try:
                found = session.caller_identity()
            except AwsError as exc:
                raise AwsError(self._in_another_partition(exc.failure)) from None
            result.account_id, result.arn = found["Account"], found["Arn"]
            detail = f"The access key {self.masked_access_key_id} belongs to {found['Arn']}."
            found_partition = partition_of_arn(found["Arn"])
            if found_partition != self.partition:
                detail += (
                    f" That ARN is in partition {found_partition}, not in the declared "
                    f"{self.partition}: set partition to {found_partition}."
                )
            return Check(name="credentials", ok=True, detail=detail)

        _run(result, "credentials", identity)
        _apigateway_step(result, session)

    def _in_another_partition(self, failure: AwsFailure) -> AwsFailure:
        """An unknown key may belong to another partition: each has its own IAM."""
        if failure.code != "invalid_credentials":
            return failure
        others = " or ".join(p for p in PARTITIONS if p != self.partition)
        return replace(
            failure,
            hint=f"{failure.hint} The key was tried in partition {self.partition}; if the IAM "
            f"user belongs to another one (aws-cn: China, aws-us-gov: GovCloud (US)), set "
            f"partition to {others}.",
        )


class AssumeRoleCredentials(CredentialSpec):
    type_name: ClassVar[str] = "assume_role"
    credential_type: Literal["assume_role"] = "assume_role"
    role_arn: RoleArn = Field(examples=["arn:aws:iam::999988887777:role/APIGatewayAccessRole"])
    session_name: SessionName = None
    external_id: ExternalId = None

    @property
    def partition(self) -> str:
        return partition_of_arn(self.role_arn)

    def open(self, context: ProbeContext) -> AwsSession:
        return context.platform_session().assume_role(
            role_arn=self.role_arn,
            session_name=self.session_name or DEFAULT_SESSION_NAME,
            external_id=self.external_id_for(context),
        )

    def accounts(self, context: ProbeContext) -> AccountSource:
        key = (
            "role",
            self.role_arn,
            self.external_id_for(context),
            self.session_name or DEFAULT_SESSION_NAME,
        )
        return _SingleAccount(
            lambda: context.assumed(key, lambda: self.open(context)), account_of_arn(self.role_arn)
        )

    def _probe(self, context: ProbeContext, result: ProbeResult) -> None:
        session = _assume_step(result, lambda: self.open(context), f"the role {self.role_arn}")
        _apigateway_step(result, session)


class CentralRoleCredentials(CredentialSpec):
    type_name: ClassVar[str] = "central_role"
    credential_type: Literal["central_role"] = "central_role"
    central_role_arn: RoleArn = Field(examples=["arn:aws:iam::111122223333:role/APIsecCentralRole"])
    session_name: SessionName = None
    child_role_name: RoleName = DEFAULT_CHILD_ROLE_NAME
    external_id: ExternalId = None

    @property
    def partition(self) -> str:
        return partition_of_arn(self.central_role_arn)

    @property
    def central_account_id(self) -> str:
        """The central role's account: the management account or a delegated administrator."""
        return account_of_arn(self.central_role_arn)

    def management_account_of(self, central: AwsSession) -> ManagementAccount:
        """The organization's management account, as DescribeOrganization says (the central
        role may be in a delegated administrator account); the central role's own account if
        it may not ask. Never fails."""
        context = CallContext(
            action="organizations:DescribeOrganization", role_arn=self.central_role_arn
        )
        organizations = central.client("organizations")
        try:
            answer = call_aws(context, lambda: organizations.describe_organization())
            return ManagementAccount(str(answer["Organization"]["MasterAccountId"]))
        except AwsError as exc:
            logger.info(
                "DescribeOrganization failed; the central role's account is taken for the "
                "management account",
                extra={"central_role_arn": self.central_role_arn, "error_code": exc.failure.code},
            )
            return ManagementAccount(self.central_account_id, exc.failure)

    def child_role_arn(self, account_id: str) -> str:
        partition = partition_of_arn(self.central_role_arn)
        return f"arn:{partition}:iam::{account_id}:role/{self.child_role_name}"

    def open(self, context: ProbeContext) -> AwsSession:
        return context.platform_session().assume_role(
            role_arn=self.central_role_arn,
            session_name=self.session_name or DEFAULT_SESSION_NAME,
            external_id=self.external_id_for(context),
        )

    def accounts(self, context: ProbeContext) -> AccountSource:
        key = (
            "central",
            self.central_role_arn,
            self.external_id_for(context),
            self.session_name or DEFAULT_SESSION_NAME,
        )
        return _Organization(self, context.assumed(key, lambda: self.open(context)), context)

    def account_pages(
        self, central: AwsSession, *, management_account_id: str | None = None
    ) -> Iterator[list[AccountStatus]]:
        """The organization's accounts, a page at a time (AWS gives at most 20 a page).

        `management_account_id` is asked of AWS (DescribeOrganization) when not given."""
        if management_account_id is None:
            management_account_id = self.management_account_of(central).account_id
        context = CallContext(action="organizations:ListAccounts", role_arn=self.central_role_arn)
        paginator = central.client("organizations").get_paginator("list_accounts")
        pages = iter(paginator.paginate(PaginationConfig={"PageSize": 20}))
        listed = 0
        while True:
            page = call_aws(context, lambda: next(pages, None))
            if page is None:
                if not listed:
                    # An organization always has its management account: no account at all
                    # means there is none (AWS says so with this error; moto lists nothing).
                    raise AwsError(classify(_NOT_IN_USE, context))
                return
            accounts = [
                AccountStatus(
                    account_id=account["Id"],
                    name=account.get("Name"),
                    status=account.get("State") or account.get("Status"),
                    reachable=False,
                    management_account=account["Id"] == management_account_id,
                )
                for account in page.get("Accounts", [])
            ]
            listed += len(accounts)
            yield accounts

    def list_accounts(
        self, central: AwsSession, *, management_account_id: str | None = None
    ) -> list[AccountStatus]:
        """Every account of the organization, all pages."""
        pages = self.account_pages(central, management_account_id=management_account_id)
        return [account for page in pages for account in page]

    def child_session(
        self,
        central: AwsSession,
        account_id: str,
        context: ProbeContext,
        *,
        management_account_id: str,
    ) -> AwsSession:
        role_arn = self.child_role_arn(account_id)
        external_id = self.external_id_for(context)
        return central.assume_role(
            role_arn=role_arn,
            session_name=self.session_name or DEFAULT_SESSION_NAME,
            external_id=external_id,
            context=CallContext(
                action="sts:AssumeRole",
                role_arn=role_arn,
                external_id_sent=True,
                principal_arn=self.central_role_arn,
                account_id=account_id,
                child_role_in_management_account=account_id == management_account_id,
                central_role_arn=self.central_role_arn,
            ),
        )

    def _probe_child(
        self,
        central: AwsSession,
        account: AccountStatus,
        context: ProbeContext,
        management_account_id: str,
    ) -> None:
        region = partition_home_region(self.partition)
        try:
            child = self.child_session(
                central, account.account_id, context, management_account_id=management_account_id
            )
            _apigateway_check(child, region, account.account_id)
        except AwsError as exc:
            account.reachable = False
            account.error = exc.failure
            return
        account.reachable = True

    def _probe(self, context: ProbeContext, result: ProbeResult) -> None:
        central = _assume_step(
            result, lambda: self.open(context), f"the central role {self.central_role_arn}"
        )
        accounts: list[AccountStatus] = []
        management = self.management_account_of(central)

        def list_all() -> Check:
            accounts.extend(
                self.list_accounts(central, management_account_id=management.account_id)
            )
            active = sum(1 for account in accounts if account.status == "ACTIVE")
            return Check(
                name="organizations:ListAccounts",
                ok=True,
                detail=f"The organization has {len(accounts)} accounts, {active} of them active."
                + management.describe(self.central_account_id),
            )

        _run(result, "organizations:ListAccounts", list_all)
        result.accounts = accounts
        active = [account for account in accounts if account.status == "ACTIVE"]
        if active:
            workers = max(1, min(context.max_workers, len(active)))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="child-role") as pool:
                probe_child = carry(
                    lambda account: self._probe_child(
                        central, account, context, management.account_id
                    )
                )
                list(pool.map(probe_child, active))

        reachable = [account for account in active if account.reachable]
        unreachable = [account for account in active if not account.reachable]
        detail = (
            f"{len(reachable)} of {len(active)} active accounts reachable through "
            f"{self.child_role_name} with apigateway:GET."
        )
        if unreachable:
            detail += " Unreachable: " + ", ".join(
                f"{account.account_id} ({account.error.code if account.error else 'unknown'})"
                for account in unreachable
            )
        members = [a for a in active if not a.management_account]
        ok = bool(reachable) or not members
        result.checks.append(Check(name="child_roles", ok=ok, detail=detail))
        if not ok:
            first = unreachable[0].error if unreachable else None
            raise _Failed(
                AwsFailure(
                    code=first.code if first else "role_not_assumable",
                    message=f"No account of the organization could be reached through "
                    f"{self.child_role_name}.",
                    hint=(first.hint if first else "")
                    + " Check that the child-role StackSet (service-managed, automatic "
                    "deployment on) has deployed to the organization's accounts.",
                )
            )


def credential_type(name: str) -> type[CredentialSpec]:
    return CredentialSpec.registry[name]


CREDENTIAL_TYPES: tuple[str, ...] = tuple(CredentialSpec.registry)

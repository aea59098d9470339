"""The platform's own AWS identity: the standard boto3 credential chain."""

from __future__ import annotations

import re
from collections.abc import Callable

import boto3
from botocore.config import Config

from app.integrations.aws.errors import AwsError, AwsFailure, CallContext
from app.integrations.aws.sessions import call_aws

# A request waits for this call: fail within seconds rather than after botocore's defaults.
_STS_CONFIG = Config(
    connect_timeout=3,
    read_timeout=5,
    retries={"mode": "standard", "total_max_attempts": 2},
    user_agent_extra="onboarder",
)
_CONTEXT = CallContext(action="sts:GetCallerIdentity", uses_platform_credentials=True)

# The session name is not part of the role ARN.
_ASSUMED_ROLE_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):sts::(?P<account>\d{12}):assumed-role/(?P<role>[^/]+)/.+$"
)


class PlatformIdentityError(Exception):
    """The platform's own AWS identity could not be determined; str() is safe to show."""

    def __init__(self, failure: AwsFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def principal_arn_from_caller_arn(caller_arn: str) -> str:
    """The ARN a trust policy names for the identity ``sts:GetCallerIdentity`` reported.

    An assumed-role session (``arn:aws:sts::123456789012:assumed-role/Name/session``) becomes
    its role (``arn:aws:iam::123456789012:role/Name``), in the same partition: a trust policy
    cannot name a session. Every other ARN (IAM user, root) is already what trust policies name
    and comes back unchanged. A role's path (``/service-role/``, AWS SSO's ``/aws-reserved/``)
    is not in the session ARN; such deployments set ONBOARDER_PLATFORM_PRINCIPAL_ARN.
    """
    match = _ASSUMED_ROLE_ARN.match(caller_arn)
    if match is None:
        return caller_arn
    return f"arn:{match['partition']}:iam::{match['account']}:role/{match['role']}"


def caller_arn() -> str:
    """Who the service's own credentials are, as ``sts:GetCallerIdentity`` says.

    A new boto3 session, so the environment is read as it is now. The configured region is
    kept (a China or GovCloud deployment must call its own partition's STS); without one,
    us-east-1, where the global STS endpoint lives.
    """

    def call() -> str:
        session = boto3.session.Session()
        client = session.client(
            "sts", region_name=session.region_name or "us-east-1", config=_STS_CONFIG
        )
        arn: str = client.get_caller_identity()["Arn"]
        return arn

    try:
        return call_aws(_CONTEXT, call)
    except AwsError as exc:
        raise PlatformIdentityError(exc.failure) from None


class PlatformPrincipal:
    """The platform's principal ARN, looked up once per process: it cannot change while the
    process lives. Failures are not remembered, so fixing the credentials or the network needs
    no restart.
    """

    def __init__(self, lookup: Callable[[], str] = caller_arn) -> None:
        self._lookup = lookup
        self._arn: str | None = None

    def get(self) -> str:
        # No lock: requests racing at start each ask STS and store the same answer, which is
        # better than queueing them all behind one call that may take seconds to fail.
        if self._arn is None:
            self._arn = principal_arn_from_caller_arn(self._lookup())
        return self._arn

    def forget(self) -> None:
        self._arn = None


platform_principal = PlatformPrincipal()


def platform_principal_arn(configured: str | None = None) -> str:
    """The ARN customers trust in their roles: the configured one (ONBOARDER_PLATFORM_
    PRINCIPAL_ARN) if any, else who the service's own credentials are (looked up once).

    Raises ``PlatformIdentityError`` when it cannot be determined.
    """
    return configured or platform_principal.get()

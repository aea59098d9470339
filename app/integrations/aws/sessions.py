"""boto3 sessions that are safe to share between threads, and role assumption that refreshes.

boto3 Session objects are not thread-safe; clients are. An AwsSession creates each client once,
under a lock, and hands the same client to every thread. Assumed-role credentials are
botocore RefreshableCredentials: they renew themselves before they expire, so work that
outlives a role-chained session (at most one hour) keeps going instead of failing at minute 61.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from botocore.loaders import create_loader

from app.integrations.aws.errors import AwsError, CallContext, classify

T = TypeVar("T")

# Parsing the service models is the costliest part of a new session; share one loader.
_LOADER = create_loader()
_CLIENT_CREATION_LOCK = threading.Lock()

PARTITION_HOME_REGION = {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}
# Sessions obtained through a role chain last at most an hour.
ROLE_SESSION_SECONDS = 3600

DEFAULT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 5},
    connect_timeout=5,
    read_timeout=30,
    max_pool_connections=64,
    user_agent_extra="onboarder",
)


def clock() -> datetime:
    """Now, as credential refresh sees it (tests move it forward to cross an expiry)."""
    return datetime.now(UTC)


def partition_of_arn(arn: str) -> str:
    parts = arn.split(":")
    return parts[1] if len(parts) > 2 and parts[1] else "aws"


def account_of_arn(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


def call_aws(context: CallContext, function: Callable[[], T]) -> T:
    """Run one AWS call; any failure becomes an AwsError with a stable code and a hint."""
    try:
        return function()
    except AwsError:
        raise
    except Exception as exc:
        failure = classify(exc, context)
        raise AwsError(failure) from None


def _new_botocore_session() -> botocore.session.Session:
    session = botocore.session.Session()
    session.register_component("data_loader", _LOADER)
    return session


class AwsSession:
    """Credentials for one identity, and the clients made from them."""

    def __init__(
        self,
        boto_session: boto3.Session,
        *,
        partition: str = "aws",
        principal_arn: str | None = None,
        config: Config | None = None,
    ) -> None:
        self._boto_session = boto_session
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}
        self.partition = partition
        self.principal_arn = principal_arn
        self._config = config or DEFAULT_CONFIG

    @property
    def home_region(self) -> str:
        return PARTITION_HOME_REGION.get(self.partition, "us-east-1")

    @classmethod
    def platform(cls, *, config: Config | None = None) -> AwsSession:
        """The service's own credentials, from the standard chain."""
        return cls(boto3.Session(botocore_session=_new_botocore_session()), config=config)

    @classmethod
    def from_access_key(
        cls, *, access_key_id: str, secret_access_key: str, config: Config | None = None
    ) -> AwsSession:
        botocore_session = _new_botocore_session()
        botocore_session.set_credentials(access_key_id, secret_access_key)
        return cls(boto3.Session(botocore_session=botocore_session), config=config)

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.home_region)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                with _CLIENT_CREATION_LOCK:
                    client = self._boto_session.client(
                        service, region_name=key[1], config=self._config
                    )
                self._clients[key] = client
            return client

    def caller_identity(self, *, action_context: CallContext | None = None) -> dict[str, str]:
        context = action_context or CallContext(action="sts:GetCallerIdentity")
        identity = call_aws(context, lambda: self.client("sts").get_caller_identity())
        return {"Account": identity["Account"], "Arn": identity["Arn"]}

    def assume_role(
        self,
        *,
        role_arn: str,
        session_name: str,
        external_id: str | None,
        duration_seconds: int = ROLE_SESSION_SECONDS,
        context: CallContext | None = None,
    ) -> AwsSession:
        """Assume a role now (so a failure surfaces here) and keep its credentials fresh."""
        params: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": session_name,
            "DurationSeconds": duration_seconds,
        }
        if external_id:
            params["ExternalId"] = external_id
        call_context = context or CallContext(
            action="sts:AssumeRole",
            role_arn=role_arn,
            external_id_sent=bool(external_id),
            principal_arn=self.principal_arn,
            account_id=account_of_arn(role_arn),
        )
        sts = self.client("sts", PARTITION_HOME_REGION.get(partition_of_arn(role_arn)))

        def fetch() -> dict[str, str]:
            response = call_aws(call_context, lambda: sts.assume_role(**params))
            credentials = response["Credentials"]
            expiration = credentials["Expiration"]
            return {
                "access_key": credentials["AccessKeyId"],
                "secret_key": credentials["SecretAccessKey"],
                "token": credentials["SessionToken"],
                "expiry_time": expiration.isoformat()
                if isinstance(expiration, datetime)
                else str(expiration),
            }

        first = fetch()
        credentials = RefreshableCredentials(
            access_key=first["access_key"],
            secret_key=first["secret_key"],
            token=first["token"],
            expiry_time=datetime.fromisoformat(first["expiry_time"]),
            refresh_using=fetch,
            method="sts-assume-role",
            # Looked up at each call so that tests can move the clock.
            time_fetcher=lambda: clock(),
        )
        botocore_session = _new_botocore_session()
        botocore_session._credentials = credentials
        return AwsSession(
            boto3.Session(botocore_session=botocore_session),
            partition=partition_of_arn(role_arn),
            principal_arn=role_arn,
            config=self._config,
        )

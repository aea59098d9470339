"""boto3 sessions that are safe to share between threads, and role assumption that refreshes.

boto3 Session objects are not thread-safe; clients are. An AwsSession creates each client once,
under a lock, and hands the same client to every thread. Assumed-role credentials are
botocore RefreshableCredentials: they renew themselves before they expire, so work that
outlives a role-chained session (at most one hour) keeps going instead of failing at minute 61.
"""

from __future__ import annotations

import platform
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TypeVar

import boto3
import botocore
import botocore.session
from botocore.config import Config
from botocore.credentials import Credentials, ReadOnlyCredentials, RefreshableCredentials
from botocore.exceptions import NoCredentialsError
from botocore.loaders import create_loader

from app.core.cache import TtlCache
from app.integrations.aws.deadlines import RUN_TIMEOUTS, bounded
from app.integrations.aws.errors import THROTTLE_CODES, AwsError, CallContext, classify

T = TypeVar("T")

# Parsing the service models is the costliest part of a new session; share one loader.
_LOADER = create_loader()
_CLIENT_CREATION_LOCK = threading.Lock()

PARTITION_HOME_REGION = {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}


def region_data_source() -> dict[str, str]:
    """Where the region lists come from: the endpoint data shipped with the installed botocore,
    so a stale install (a region AWS opened since is missing) shows in the answer."""
    return {"botocore_version": botocore.__version__, "data": "endpoints.json"}


def partition_home_region(partition: str) -> str:
    """Where the service calls STS (and checks API Gateway) for credentials of a partition."""
    return PARTITION_HOME_REGION.get(partition, "us-east-1")


# The shapes of AWS names as the OpenAPI document states them (ECMA-262 regular expressions).
# Whether API Gateway exists in a region is `discovery.apigateway_regions`' answer.
ACCOUNT_ID_PATTERN = r"^[0-9]{12}$"
REGION_PATTERN = r"^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$"

# Sessions obtained through a role chain last at most an hour.
ROLE_SESSION_SECONDS = 3600

# The patient limits of runs; interactive work passes its own (see deadlines.AwsTimeouts).
DEFAULT_CONFIG = RUN_TIMEOUTS.config


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
    """Run one AWS call; any failure becomes an AwsError with a stable code and a hint.

    Under a deadline (deadlines.within) the call is not made once it has passed, and is given
    up on when it does (`aws_timeout`).
    """
    try:
        return bounded(context, function)
    except AwsError:
        raise
    except Exception as exc:
        failure = classify(exc, context)
        raise AwsError(failure) from None


def _new_botocore_session() -> botocore.session.Session:
    session = botocore.session.Session()
    session.register_component("data_loader", _LOADER)
    # STS is always called in the region the client is made for (sts.<region>.<domain>), never
    # at the global endpoint, whatever AWS_STS_REGIONAL_ENDPOINTS says: the global one lives
    # in us-east-1 and does not exist outside the aws partition.
    session.set_config_variable("sts_regional_endpoints", "regional")
    return session


class AwsSession:
    """Credentials for one identity, and the clients made from them.

    The boto3 session behind it is made on first use of `client`: a botocore session costs
    milliseconds of CPU, and discovery signs through SharedClients with `credentials` alone.
    """

    def __init__(
        self,
        credentials: Credentials | None = None,
        *,
        partition: str = "aws",
        principal_arn: str | None = None,
        config: Config | None = None,
    ) -> None:
        # None: the standard credential chain (environment, config files, instance role).
        self._explicit_credentials = credentials
        self._boto: boto3.Session | None = None
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}
        self.partition = partition
        self.principal_arn = principal_arn
        self._config = config or DEFAULT_CONFIG

    @property
    def home_region(self) -> str:
        return partition_home_region(self.partition)

    def _boto_session(self) -> boto3.Session:
        """Called with self._lock held."""
        if self._boto is None:
            botocore_session = _new_botocore_session()
            if self._explicit_credentials is not None:
                botocore_session._credentials = self._explicit_credentials
            self._boto = boto3.Session(botocore_session=botocore_session)
        return self._boto

    @property
    def credentials(self) -> Credentials | None:
        if self._explicit_credentials is not None:
            return self._explicit_credentials
        with self._lock:
            credentials: Credentials | None = self._boto_session().get_credentials()
        return credentials

    @classmethod
    def platform(cls, *, config: Config | None = None) -> AwsSession:
        """The service's own credentials, from the standard chain."""
        return cls(config=config)

    def with_config(self, config: Config) -> AwsSession:
        """The same identity, its clients made with other SDK limits."""
        return AwsSession(
            self._explicit_credentials,
            partition=self.partition,
            principal_arn=self.principal_arn,
            config=config,
        )

    @classmethod
    def from_access_key(
        cls,
        *,
        access_key_id: str,
        secret_access_key: str,
        partition: str = "aws",
        config: Config | None = None,
    ) -> AwsSession:
        credentials = Credentials(access_key_id, secret_access_key)
        return cls(credentials, partition=partition, config=config)

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.home_region)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                with _CLIENT_CREATION_LOCK:
                    client = self._boto_session().client(
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
        sts = self.client("sts", partition_home_region(partition_of_arn(role_arn)))

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
        return AwsSession(
            credentials,
            partition=partition_of_arn(role_arn),
            principal_arn=role_arn,
            config=self._config,
        )


# --------------------------------------------------------------------------- session cache
class SessionCache(TtlCache):
    """Assumed-role sessions, reused across regions and requests instead of assumed again.

    Their credentials refresh themselves before expiry; an entry is still dropped after 50
    minutes so that a session is assumed afresh (and a revoked trust noticed) at least that
    often. Failures are never cached: a fixed trust policy works at the next request.
    """

    def __init__(self) -> None:
        super().__init__(50 * 60, max_entries=20_000)


# --------------------------------------------------------------------------- shared clients
_ACTING_AS: ContextVar[Credentials | None] = ContextVar("aws_acting_as", default=None)


class _ActingAsCredentials(Credentials):  # type: ignore[misc]
    """The credentials of whichever identity the calling thread is acting as.

    botocore's request signer asks its credentials object for a frozen copy at every request
    (and every retry), in the thread that makes the call; answering from a context variable
    lets one client serve every account.
    """

    def __init__(self) -> None:
        super().__init__(access_key="", secret_key="", method="acting-as")

    def _current(self) -> Credentials:
        current = _ACTING_AS.get()
        if current is None:
            raise RuntimeError("a shared AWS client was called outside SharedClients.acting_as()")
        return current

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        frozen: ReadOnlyCredentials = self._current().get_frozen_credentials()
        return frozen


class SharedClients:
    """One boto3 client per (service, region), used by every account the process works for.

    Creating a client costs milliseconds of CPU (a new botocore session, its event handlers, the
    endpoint rules); discovery over a thousand accounts and 17 regions would create 34,000 of
    them. Clients are thread-safe, so each is created once, under a lock, and signs every
    request with the credentials of the identity set by `acting_as` in the calling thread.
    """

    def __init__(self, *, config: Config | None = None) -> None:
        botocore_session = _new_botocore_session()
        botocore_session._credentials = _ActingAsCredentials()
        self._boto_session = boto3.Session(botocore_session=botocore_session)
        # A fixed User-Agent: botocore otherwise assembles and sanitizes it from a dozen parts,
        # twice per request, a tenth of the CPU a discovery call costs.
        versions = f"Botocore/{botocore.__version__} Python/{platform.python_version()}"
        fixed_user_agent = Config(user_agent=f"onboarder {versions}")
        self._config = (config or DEFAULT_CONFIG).merge(fixed_user_agent)
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}
        self.throttles = 0  # throttled answers met (and retried by botocore where it could)

    def _count_throttle(self, response: Any = None, **_: Any) -> None:
        if response is None:
            return
        http, parsed = response
        code = (parsed or {}).get("Error", {}).get("Code", "")
        if getattr(http, "status_code", 0) == 429 or code in THROTTLE_CODES:
            with self._lock:
                self.throttles += 1

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        client = self._clients.get(key)
        if client is not None:
            return client
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                with _CLIENT_CREATION_LOCK:
                    client = self._boto_session.client(
                        service, region_name=region, config=self._config
                    )
                client.meta.events.register("needs-retry", self._count_throttle)
                self._clients[key] = client
            return client

    @staticmethod
    @contextmanager
    def acting_as(session: AwsSession) -> Iterator[None]:
        """Calls made through shared clients in this block are signed as `session`."""
        credentials = session.credentials
        if credentials is None:
            failure = classify(NoCredentialsError(), CallContext(action="sts:AssumeRole"))
            raise AwsError(failure)
        token = _ACTING_AS.set(credentials)
        try:
            yield
        finally:
            _ACTING_AS.reset(token)

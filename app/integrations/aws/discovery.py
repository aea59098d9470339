"""The discovery engine: every API of every account and region a connection reaches.

One engine serves the discovery endpoints and auto-onboard. What it guarantees:

- A bounded number of AWS requests in flight per discovery (`max_in_flight` worker threads,
  each making one request at a time).
- API Gateway's control-plane quota (10 requests per second, burst 40, per account and
  region) is respected on our side with a token bucket per account and region, so AWS rarely
  has to throttle; when it does, botocore retries with back-off, and the engine retries again
  with a longer wait before it gives up on that region only.
- Credentials are assumed once per account (cached, refreshed before they expire) and reused
  for every region; one thread-safe client per service and region serves all accounts.
- Work starts as soon as the first page of accounts arrives; a failing account or region is
  reported with its error and never stops the rest.
- Nothing waits on AWS for ever: a request's work ends at its context's deadline, and a run
  gives up on an account or region after the context's `region_seconds` (`aws_timeout`),
  going on with the rest.
"""

from __future__ import annotations

import functools
import itertools
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

import boto3
import botocore.session
from botocore.config import Config

from app.integrations.aws.apigateway import (
    GET_RESOURCES,
    Call,
    ClientFor,
    DiscoveredApi,
    Each,
    list_region,
    one_by_one,
)
from app.integrations.aws.credentials import (
    AccountSource,
    AccountStatus,
    CredentialSpec,
    ProbeContext,
)
from app.integrations.aws.deadlines import (
    RUN_TIMEOUTS,
    AwsTimeouts,
    carry,
    time_left,
    within,
)
from app.integrations.aws.errors import OPT_IN_REGIONS, AwsError, AwsFailure, CallContext
from app.integrations.aws.organizations import OrganizationalUnit, OrganizationalUnits
from app.integrations.aws.sessions import (
    _LOADER,
    AwsSession,
    SessionCache,
    SharedClients,
    call_aws,
)

logger = logging.getLogger(__name__)

# API Gateway control plane, per account and region (AWS's documented default quota).
APIGATEWAY_RATE = 10.0
APIGATEWAY_BURST = 40
# GetResources has a fixed quota of its own: 5 requests every 2 seconds per account. AWS's
# table of fixed quotas says "per account"; one bucket across the account's regions is the
# reading that never exceeds it.
GET_RESOURCES_RATE = 2.5
GET_RESOURCES_BURST = 5

# denied_by_policy: the organization denies API Gateway in the region (a service control
# policy, Control Tower's region deny control): its intent, reported but not a failure.
# Reaching an account goes before listing any region (see _discover).
_REACH_FIRST = float("inf")
RegionStatus = Literal["ok", "not_enabled", "denied_by_policy", "failed"]
REGION_DENIED = "region_denied_by_policy"
# A region with this many APIs per helper lends its stage listings (one GetStages per API) to
# idle workers, up to SPREAD_HELPERS of them: one request at a time (a round trip each) is
# slower than its quota allows, and the largest region sets when discovery ends.
SPREAD_PER_HELPER = 20
SPREAD_HELPERS = 3
T = TypeVar("T")
U = TypeVar("U")


class AccountNotReached(LookupError):
    """The connection does not reach the account asked for (or reaches many, and none was
    named)."""

    def __init__(self, account_id: str | None) -> None:
        super().__init__(account_id)
        self.account_id = account_id


@dataclass(frozen=True)
class RegionAccess:
    """Calls in one account and region, under discovery's quota, retries and credentials."""

    account_id: str
    region: str
    call: Call
    client_for: ClientFor


class RateLimiter:
    """A token bucket per key; `acquire` reserves a token and sleeps until it is due."""

    def __init__(
        self,
        rate: float = APIGATEWAY_RATE,
        burst: int = APIGATEWAY_BURST,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate, self.burst = rate, float(burst)
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._buckets: dict[Any, list[float]] = {}  # key -> [tokens, stamp]

    def acquire(self, key: Any) -> None:
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = [self.burst, now]
            bucket[0] = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate) - 1.0
            bucket[1] = now
            wait = -bucket[0] / self.rate if bucket[0] < 0 else 0.0
        if wait > 0:
            self._sleep(wait)

    def drain(self, key: Any) -> None:
        """After a throttle: the quota is shared with other callers, so start from empty."""
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is not None:
                bucket[0] = min(bucket[0], 0.0)


@dataclass
class RegionOutcome:
    account_id: str
    region: str
    status: RegionStatus
    apis: list[DiscoveredApi] = field(default_factory=list)
    error: AwsFailure | None = None
    # Parts of an "ok" region that could not be read (a custom domain): its APIs still list.
    problems: list[AwsFailure] = field(default_factory=list)


@dataclass
class DiscoveryResult:
    accounts: list[AccountStatus] = field(default_factory=list)
    outcomes: list[RegionOutcome] = field(default_factory=list)
    # Accounts listed but left out by the scope (never assumed into), with the reason.
    excluded: list[tuple[AccountStatus, str]] = field(default_factory=list)

    @property
    def apis(self) -> list[DiscoveredApi]:
        return [api for outcome in self.outcomes for api in outcome.apis]

    @property
    def timed_out(self) -> bool:
        """Some account or region did not answer in time: an answer not to reuse."""
        return any_timed_out(
            [account.error for account in self.accounts]
            + [outcome.error for outcome in self.outcomes]
        )


def region_status(failure: AwsFailure) -> RegionStatus:
    if failure.code == "region_not_enabled":
        return "not_enabled"
    if failure.code == REGION_DENIED:
        return "denied_by_policy"
    return "failed"


def settle_region_denials(outcomes: Iterable[RegionOutcome]) -> None:
    """An explicit deny in some regions of an account whose other regions answer is a policy
    that denies those regions on purpose, not a missing permission: the same identity lists
    API Gateway elsewhere. A service control policy is named in AWS's message (errors.classify
    reads it); this covers the other policies that deny by region (an identity policy's or a
    permissions boundary's region condition). An implicit deny ("no identity-based policy
    allows") stays a failure: a permission is missing, and its hint says which."""
    outcomes = list(outcomes)
    answered = {outcome.account_id for outcome in outcomes if outcome.status == "ok"}
    for outcome in outcomes:
        error = outcome.error
        if (
            outcome.status == "failed"
            and error is not None
            and error.code == "access_denied"
            and "explicit deny" in error.message
            and outcome.account_id in answered
        ):
            outcome.status = "denied_by_policy"
            outcome.error = AwsFailure(
                code=REGION_DENIED,
                message=f"API Gateway is denied in region {outcome.region} for account "
                f"{outcome.account_id}, while the account's other regions answer: a policy "
                f"denies this region on purpose. {error.message}",
                hint="Organizations deny unused regions with a service control policy or "
                "Control Tower's region deny control (or a role's policy can name regions). "
                "Nothing is listed there; leave the region out, or ask the organization's "
                "administrators to allow it if it has APIs to test.",
            )


def any_timed_out(errors: Iterable[AwsFailure | None]) -> bool:
    return any(error is not None and error.code == "aws_timeout" for error in errors)


@dataclass
class RegionAvailability:
    region: str
    opt_in: bool
    enabled: bool | None  # None: not checked (an opt-in region, and no account to check in)
    error: AwsFailure | None = None


@functools.cache
def apigateway_regions(partition: str = "aws") -> tuple[str, ...]:
    """The regions where API Gateway exists in the partition, from botocore's endpoint data."""
    botocore_session = botocore.session.Session()
    botocore_session.register_component("data_loader", _LOADER)
    regions = boto3.Session(botocore_session=botocore_session).get_available_regions(
        "apigateway", partition_name=partition
    )
    return tuple(sorted(regions))


class _PriorityTasks:
    """Tasks run by `workers` threads of their own, the highest `priority` first, then in the
    order they were submitted; `wait` returns when all are done, `close` ends the threads
    (dropping what has not started)."""

    def __init__(self, workers: int, name: str) -> None:
        self._queue: queue.PriorityQueue[tuple[float, int, Any, tuple[Any, ...]]] = (
            queue.PriorityQueue()
        )
        self._order = itertools.count()
        self._pending = 0
        self._done = threading.Condition()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{index}", daemon=True)
            for index in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, function: Callable[..., object], *args: Any, priority: float = 0) -> None:
        with self._done:
            self._pending += 1
        self._queue.put((-priority, next(self._order), carry(function), args))

    def spread(self, enter: Callable[[], Any]) -> Each:
        """An `Each` whose items are also taken by up to SPREAD_HELPERS helper tasks, queued
        with as many items as priority (as a region's task is queued with its expected APIs),
        each running inside `enter()` (e.g. the region's credentials). The calling task takes
        items too, so it never waits on a helper that has not started."""

        def each(function: Callable[[T], U], items: list[T], /) -> list[U]:
            helpers = min(SPREAD_HELPERS, len(items) // SPREAD_PER_HELPER)
            if helpers == 0:
                return one_by_one(function, items)
            results: list[Any] = [None] * len(items)
            pending = list(enumerate(items))[::-1]
            failures: list[BaseException] = []
            taken = threading.Condition()
            running = 0

            def take() -> None:
                nonlocal running
                while True:
                    with taken:
                        if not pending or failures:
                            return
                        index, item = pending.pop()
                        running += 1
                    try:
                        results[index] = function(item)
                    except BaseException as exc:  # raised again by the calling task
                        with taken:
                            failures.append(exc)
                    finally:
                        with taken:
                            running -= 1
                            taken.notify_all()

            def helper() -> None:
                with enter():
                    take()

            for _ in range(helpers):
                self.submit(helper, priority=len(items))
            take()
            with taken:
                while running:
                    taken.wait()
            if failures:
                raise failures[0]
            return results

        return each

    def _work(self) -> None:
        while True:
            _, _, function, args = self._queue.get()
            if function is None:
                return
            try:
                function(*args)
            except Exception:
                logger.exception("discovery task failed unexpectedly")
            finally:
                self._finished()

    def _finished(self) -> None:
        with self._done:
            self._pending -= 1
            if self._pending == 0:
                self._done.notify_all()

    def wait(self) -> None:
        with self._done:
            while self._pending:
                self._done.wait()

    def close(self) -> None:
        while True:
            try:
                _, _, function, _ = self._queue.get_nowait()
            except queue.Empty:
                break
            if function is not None:
                self._finished()
        for _ in self._threads:
            self._queue.put((float("inf"), next(self._order), None, ()))
        for thread in self._threads:
            thread.join()


class DiscoveryEngine:
    def __init__(
        self,
        *,
        max_in_flight: int = 32,
        rate: float = APIGATEWAY_RATE,
        burst: int = APIGATEWAY_BURST,
        throttle_retries: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.max_in_flight = max(1, max_in_flight)
        self._lock = threading.Lock()
        self._clients: dict[AwsTimeouts, SharedClients] = {}
        # The clients of runs (patient limits); requests get their own through clients_for.
        self.clients = self.clients_for(RUN_TIMEOUTS)
        self.sessions = SessionCache()
        self.limiter = RateLimiter(rate, burst, sleep=sleep)
        self.quotas = {
            GET_RESOURCES: RateLimiter(GET_RESOURCES_RATE, GET_RESOURCES_BURST, sleep=sleep)
        }
        self.throttle_retries = throttle_retries
        self._sleep = sleep

    def clients_for(self, timeouts: AwsTimeouts) -> SharedClients:
        """The shared clients whose calls have these SDK limits (one set per kind of work)."""
        with self._lock:
            clients = self._clients.get(timeouts)
            if clients is None:
                config = timeouts.config.merge(Config(max_pool_connections=self.max_in_flight))
                clients = self._clients[timeouts] = SharedClients(config=config)
            return clients

    # ------------------------------------------------------------------ accounts
    def accounts(self, spec: CredentialSpec, context: ProbeContext) -> list[AccountStatus]:
        """Every account the connection reaches, each checked by assuming into it."""
        with within(context.deadline):
            return self._accounts(spec, context)

    def _accounts(self, spec: CredentialSpec, context: ProbeContext) -> list[AccountStatus]:
        source = spec.accounts(replace(context, sessions=self.sessions))
        accounts: list[AccountStatus] = []
        tasks = _PriorityTasks(self.max_in_flight, "accounts")
        try:
            for page in source.account_pages():
                for account in page:
                    accounts.append(account)
                    if account.status in (None, "ACTIVE"):
                        tasks.submit(self._reach, source, account)
            tasks.wait()
        finally:
            tasks.close()
        return accounts

    @staticmethod
    def _reach(source: AccountSource, account: AccountStatus) -> AwsSession | None:
        try:
            session = source.session_for(account.account_id)
        except AwsError as exc:
            account.reachable, account.error = False, exc.failure
            return None
        account.reachable, account.error = True, None
        return session

    def organizational_units(
        self, spec: CredentialSpec, context: ProbeContext, ou_ids: Iterable[str]
    ) -> OrganizationalUnits:
        """The accounts under each OU (nested OUs included), read once for a run."""
        with within(context.deadline):
            source = spec.accounts(replace(context, sessions=self.sessions))
            return source.organizational_units(ou_ids)

    def organization_tree(
        self, spec: CredentialSpec, context: ProbeContext
    ) -> list[OrganizationalUnit]:
        """The organization's root and OUs with their names and direct accounts."""
        with within(context.deadline):
            source = spec.accounts(replace(context, sessions=self.sessions))
            return source.organization_tree()

    # ------------------------------------------------------------------ regions
    def regions(
        self,
        spec: CredentialSpec,
        context: ProbeContext,
        *,
        partition: str = "aws",
        account_id: str | None = None,
    ) -> list[RegionAvailability]:
        """API Gateway's regions; opt-in ones are checked in the account when there is one."""
        with within(context.deadline):
            return self._regions(spec, context, partition=partition, account_id=account_id)

    def _regions(
        self,
        spec: CredentialSpec,
        context: ProbeContext,
        *,
        partition: str,
        account_id: str | None,
    ) -> list[RegionAvailability]:
        regions = apigateway_regions(partition)
        found = [
            RegionAvailability(region=r, opt_in=r in OPT_IN_REGIONS, enabled=None) for r in regions
        ]
        for availability in found:
            if not availability.opt_in:
                availability.enabled = True
        opt_in = [a for a in found if a.opt_in]
        if not opt_in:
            return found
        source = spec.accounts(replace(context, sessions=self.sessions))
        account_id = account_id or source.default_account()
        if account_id is None:
            return found
        session = source.session_for(account_id)
        target = account_id
        clients = self.clients_for(context.timeouts)

        def check(availability: RegionAvailability) -> None:
            call = self._caller(target, availability.region)
            client = clients.client("apigateway", availability.region)
            with clients.acting_as(session):
                try:
                    call(lambda: client.get_rest_apis(limit=1))
                except AwsError as exc:
                    availability.enabled = (
                        False if exc.failure.code == "region_not_enabled" else None
                    )
                    availability.error = exc.failure
                    return
            availability.enabled = True

        with ThreadPoolExecutor(
            min(self.max_in_flight, len(opt_in)), thread_name_prefix="regions"
        ) as pool:
            list(pool.map(carry(check), opt_in))
        return found

    # ------------------------------------------------------------------ one account
    def in_region(
        self,
        spec: CredentialSpec,
        context: ProbeContext,
        *,
        account_id: str | None,
        region: str,
        work: Callable[[RegionAccess], T],
    ) -> T:
        """Run `work` in one account and region of the connection, in the calling thread,
        under the context's deadline and the bound of one region."""
        with within(context.deadline), within(context.region_deadline()):
            source = spec.accounts(replace(context, sessions=self.sessions))
            only = source.default_account()
            if account_id is None:
                account_id = only
            elif only is not None and account_id != only:
                raise AccountNotReached(account_id)
            if account_id is None:
                raise AccountNotReached(None)
            session = source.session_for(account_id)
            clients = self.clients_for(context.timeouts)
            access = RegionAccess(
                account_id=account_id,
                region=region,
                call=self._caller(account_id, region),
                client_for=lambda service: clients.client(service, region),
            )
            with clients.acting_as(session):
                return work(access)

    # ------------------------------------------------------------------ APIs
    def discover(
        self,
        spec: CredentialSpec,
        context: ProbeContext,
        *,
        regions: Iterable[str],
        account_ids: Collection[str] | None = None,
        on_outcome: Callable[[RegionOutcome], None] | None = None,
        sizes: Mapping[tuple[str, str], int] | None = None,
        account_out_of_scope: Callable[[str], str | None] | None = None,
        api_out_of_scope: Callable[[DiscoveredApi], str | None] | None = None,
    ) -> DiscoveryResult:
        """Every API in `regions` of every account (or of `account_ids`) the connection reaches.

        A schedule's scope applies before AWS is asked: an account `account_out_of_scope`
        gives a reason for is listed in `excluded` and never assumed into; an API
        `api_out_of_scope` gives a reason for is listed with it, and its stages and domains
        are not asked for.

        `sizes`: how many APIs each (account, region) is expected to hold (a run knows it
        from what it onboarded): the largest are listed first, since the region with the most
        APIs, held to its quota, takes longest; listed last, it would finish last.

        Raises AwsError only when no account can be listed at all (the central role cannot be
        assumed or may not list the organization, or an access key is refused). Reaching an
        account, and listing one of its regions, each give up after the context's
        `region_seconds` (runs), and all of it at its deadline (requests): that account or
        region then fails with `aws_timeout` and the others go on. `on_outcome` sees each
        region as it ends; the result settles, once all have, which access denials were a
        policy denying the region (settle_region_denials).
        """
        with within(context.deadline):
            return self._discover(
                spec,
                context,
                regions=regions,
                account_ids=account_ids,
                on_outcome=on_outcome,
                sizes=sizes or {},
                account_out_of_scope=account_out_of_scope,
                api_out_of_scope=api_out_of_scope,
            )

    def _discover(
        self,
        spec: CredentialSpec,
        context: ProbeContext,
        *,
        regions: Iterable[str],
        account_ids: Collection[str] | None,
        on_outcome: Callable[[RegionOutcome], None] | None,
        sizes: Mapping[tuple[str, str], int],
        account_out_of_scope: Callable[[str], str | None] | None = None,
        api_out_of_scope: Callable[[DiscoveredApi], str | None] | None = None,
    ) -> DiscoveryResult:
        region_list = list(dict.fromkeys(regions))
        wanted = set(account_ids) if account_ids is not None else None
        source = spec.accounts(replace(context, sessions=self.sessions))
        result = DiscoveryResult()
        lock = threading.Lock()
        clients = self.clients_for(context.timeouts)

        def record(outcome: RegionOutcome) -> None:
            with lock:
                result.outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)

        def account_task(account: AccountStatus) -> None:
            with within(context.region_deadline()):
                session = self._reach(source, account)
            if session is not None:
                for region in region_list:
                    expected = sizes.get((account.account_id, region), 0)
                    tasks.submit(
                        region_task, session, account.account_id, region, priority=expected
                    )

        def region_task(session: AwsSession, account_id: str, region: str) -> None:
            with within(context.region_deadline()):
                each = tasks.spread(lambda: clients.acting_as(session))
                self._region(clients, session, account_id, region, record, each, api_out_of_scope)

        # One queue: reaching an account (one AssumeRole, or none when cached) goes before any
        # region's listing, so that an account listed on a late page is not queued behind the
        # regions of the accounts before it; then the regions, the largest expected first.
        tasks = _PriorityTasks(self.max_in_flight, "discovery")
        try:
            for page in source.account_pages():
                for account in page:
                    if wanted is not None and account.account_id not in wanted:
                        continue
                    result.accounts.append(account)
                    reason = account_out_of_scope and account_out_of_scope(account.account_id)
                    if reason:
                        result.excluded.append((account, reason))
                    elif account.status in (None, "ACTIVE"):
                        tasks.submit(account_task, account, priority=_REACH_FIRST)
                if wanted is not None and len(result.accounts) == len(wanted):
                    break
            tasks.wait()
        finally:
            tasks.close()
        settle_region_denials(result.outcomes)
        return result

    def _region(
        self,
        clients: SharedClients,
        session: AwsSession,
        account_id: str,
        region: str,
        record: Callable[[RegionOutcome], None],
        each: Each = one_by_one,
        out_of_scope: Callable[[DiscoveredApi], str | None] | None = None,
    ) -> None:
        problems: list[AwsFailure] = []
        try:
            with clients.acting_as(session):
                apis = list_region(
                    call=self._caller(account_id, region),
                    client_for=lambda service: clients.client(service, region),
                    account_id=account_id,
                    region=region,
                    problems=problems,
                    each=each,
                    out_of_scope=out_of_scope,
                )
        except AwsError as exc:
            record(RegionOutcome(account_id, region, region_status(exc.failure), error=exc.failure))
            return
        except Exception:
            logger.exception("listing %s in account %s failed unexpectedly", region, account_id)
            record(
                RegionOutcome(
                    account_id,
                    region,
                    "failed",
                    error=AwsFailure(
                        code="aws_error",
                        message=f"The answer of API Gateway in account {account_id}, region "
                        f"{region} could not be read.",
                        hint="Try again; if it persists, report it with the request id.",
                    ),
                )
            )
            return
        record(RegionOutcome(account_id, region, "ok", apis=apis, problems=problems))

    def _caller(self, account_id: str, region: str) -> Call:
        key = (account_id, region)
        context = CallContext(action="apigateway:GET", account_id=account_id, region=region)

        def call(
            fetch: Callable[[], dict[str, Any]], /, *, quota: str | None = None
        ) -> dict[str, Any]:
            own = self.quotas.get(quota) if quota else None
            attempt = 0
            while True:
                if own is not None:
                    own.acquire(account_id)
                self.limiter.acquire(key)
                try:
                    return call_aws(context, fetch)
                except AwsError as exc:
                    if exc.failure.code != "throttled" or attempt >= self.throttle_retries:
                        raise
                    # botocore has already retried with back-off; wait longer, from an empty
                    # bucket, unless the deadline would pass first: then say AWS throttled.
                    wait = min(20.0, 2.0 ** (attempt + 1)) * random.uniform(0.5, 1.0)  # noqa: S311
                    if wait >= time_left():
                        raise
                attempt += 1
                self.limiter.drain(key)
                if own is not None:
                    own.drain(account_id)
                self._sleep(wait)

        return call

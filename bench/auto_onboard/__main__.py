"""Auto-onboard benchmark: a run over a large organization, a run that finds nothing new, then
a run after the organization changed.

    python -m bench.auto_onboard                    # 200 accounts x 4 regions, 50 ms latency
    python -m bench.auto_onboard --accounts 1000    # about 6 minutes
    python -m bench.auto_onboard --repeat 3         # three fresh databases, medians printed
    python -m bench.auto_onboard --delegated-admin  # the central role in a member account
    python -m bench.auto_onboard --profile run2.pstats  # run 2 once more under cProfile

The service is the real one: a SQLite database built by the migrations (in a temporary
directory), `app.main.create_app` spoken to over HTTP with TestClient for the tenant's
central_role connection, its schedule (explicit regions) and run-now, and the run executed as
the scheduler does (`runs.claim_queued_run`, then `runs.execute`). AWS is the discovery
benchmark's simulated endpoint (bench/discovery/simulated_aws.py, its own process, reached
through AWS_ENDPOINT_URL), which also answers what onboarding reads of each API, under the
same latency and the same 10/s burst 40 quota per account and region, and AWS's quota of
GetResources besides: 5 every 2 seconds per account, all regions together.

Onboarding reads, for each REST API, each stage's export and each deployment its stages serve
(GetDeployment with apiSummary; a share of the APIs, 25% by default, answer without one and
onboarding reads the draft instead: GetAuthorizers and GetResources); for each HTTP API each
stage's export; for each WebSocket API its routes and their authorizers.

Run 1 onboards every API; run 2 finds them all onboarded (skipped_existing) and unchanged: it
re-reads nothing (no call after discovery). Then the organization changes (the endpoint's
/__mutate, organization.mutate, seeded): 5% of the APIs get a new deployment on one stage (a later
lastUpdatedDate, one more operation: a GET without authorization), 1% are deleted (404 from then
on). Run 3 should re-read exactly the changed stages (the calls onboarding makes for one stage:
plan_of) and retire the deleted APIs' applications: the benchmark reads the run's lifecycle
counters (synced, definitions_changed, retired; with .get), GET /applications?status=retired and
the changed applications' definitions (a new version of the stage's new deployment, with its
operations), and its calls by operation against the plan. For each run: wall
time (and how much of it discovery took), AWS calls by operation (discovery's beside what it
should make, organization.discovery_calls: the listings, custom domains' mappings and routing
rules, DescribeOrganization; onboarding's beside what the plan above makes), calls/s, CPU, peak
RSS, throttles (429 answers by quota, and the `throttled` errors that reached the run: there
must be none), the run's counters and status, how long database connections were checked out of
the pool (longest and total: a run must never hold one while AWS answers), and floors to
compare the wall time with, with and without the GetResources quota, and what took discovery's
time (probes.Timeline: when each page of accounts arrived, each account was reached, each
account-region listed; the busiest account-region's calls). Run 2's wall time
against discovery's floor is printed last (the target: 1.2x). It exits 1 if a run did
not do what the organization calls for (every API onboarded once, a definition for each stage
with its deployment's operations, then none; discovery's calls as expected, AssumeRole at most
as many: the service may reuse a session; run 3 as above).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select

from app.core.config import LogFormat, Mode, Settings
from app.core.db import Database
from app.core.migrations import upgrade
from app.integrations.aws.apigateway import Call, DiscoveredApi, Each, one_by_one
from app.integrations.aws.credentials import (
    AccountSource,
    AccountStatus,
    CredentialSpec,
    ProbeContext,
)
from app.integrations.aws.discovery import (
    APIGATEWAY_BURST,
    APIGATEWAY_RATE,
    DiscoveryEngine,
    DiscoveryResult,
    RateLimiter,
    RegionOutcome,
)
from app.integrations.aws.sessions import AwsSession, SharedClients
from app.main import create_app
from app.models import Application, ApplicationDefinition
from app.models.base import utcnow
from app.schedules import runs
from app.schedules.runs import RunServices
from app.schedules.schemas import RUN_COUNTERS
from app.tenants import service as tenants
from bench.auto_onboard.probes import Checkouts, PoolWatch, RssSampler, ThreadProfiles, Timeline
from bench.discovery.organization import (
    CHANGED_SHARE,
    DELETED_SHARE,
    NO_SUMMARY_SHARE,
    ApiKey,
    Mutation,
    SimApi,
    SimOrganization,
    build_organization,
    deployed_methods,
    deployed_routes,
    deployment_ids,
    discovery_calls,
    has_api_summary,
    mutate,
    surface_of,
)
from bench.discovery.simulated_aws import (
    APIGATEWAY_MAX_PAGE,
    LIST_ACCOUNTS_PAGE,
    PLATFORM_ACCESS_KEY_ID,
    PLATFORM_SECRET_ACCESS_KEY,
    QUOTA_BURST,
    QUOTA_RATE,
    RESOURCES_QUOTA_BURST,
    RESOURCES_QUOTA_RATE,
    SimulatedEndpoint,
)

PLATFORM_PRINCIPAL = "arn:aws:iam::999999999999:user/bench"
API = "/api/v1"
WORKER = "bench"
# The function that writes an application (and so takes a connection) for each API onboarded.
STORE_TAKER = "app/applications/service.py:store"
COUNTERS = RUN_COUNTERS
# The lifecycle's counters (read with .get: the service may not have them yet).
LIFECYCLE_COUNTERS = ("synced", "definitions_changed", "retired", "orphaned", "restored")
# Run 2 finds nothing new and nothing changed: its wall time against discovery's floor.
RUN2_TARGET = 1.2


# ------------------------------------------------------------------------------ expectations
@dataclass(frozen=True)
class Expected:
    """What the organization holds for the connection to find and onboard."""

    apis: int
    operations: int  # what the applications' definitions (one per stage) count, all together
    onboarding_calls: int  # the fewest AWS calls that onboarding them all takes
    onboarding_chain: int  # the longest run of calls one API takes, one after the other
    busiest_onboarding: int  # onboarding calls of the account-region with the most
    by_operation: Counter[str]  # onboarding_calls by operation
    busiest_get_resources: int  # GetResources calls of the account with the most
    sources: Counter[str]  # definitions by where their operations were read
    discovery_by_operation: Counter[str]  # what discovery calls, each run


@dataclass(frozen=True)
class Plan:
    """What onboarding one API takes and finds."""

    calls: Counter[str]  # by operation, as the simulated endpoint names them
    operations: int  # all its definitions' operations together (one definition per stage)
    sources: Counter[str]  # its definitions by where their operations were read


def plan_of(api: SimApi, no_summary_share: float = NO_SUMMARY_SHARE) -> Plan:
    """The calls app/ makes to onboard an API it has just listed, every stage of which gets an
    instance (it does not ask for the API or its stages again), and what it should find."""
    surface = surface_of(api)
    stages = len(api.stages)
    calls: Counter[str] = Counter()
    if api.protocol == "REST":
        calls["apigateway:GetExport"] = stages
        # One per deployment the stages serve (stages may share one), canaries included.
        calls["apigateway:GetDeployment"] = len(deployment_ids(api))
        if has_api_summary(api, no_summary_share):
            operations = sum(
                len(deployed_methods(api, surface, stage.deployment_id)) for stage in api.stages
            )
            return Plan(calls, operations, Counter({"deployment": stages}))
        # No apiSummary: the draft, once for the API (authorizers fit one page).
        calls["apigateway:GetAuthorizers"] = 1
        calls["apigateway:GetResources"] = max(
            1, math.ceil(len(surface.resources) / APIGATEWAY_MAX_PAGE)
        )
        return Plan(calls, stages * surface.operations, Counter({"draft_resources": stages}))
    if api.protocol == "HTTP":
        # The stage's export always answers here, so the routes are never read.
        calls["apigatewayv2:ExportApi"] = stages
        operations = sum(
            len(deployed_routes(api, surface, stage.deployment_id)) for stage in api.stages
        )
        return Plan(calls, operations, Counter({"stage_export": stages}))
    referenced = {route.authorizer_id for route in surface.routes if route.authorizer_id}
    calls["apigatewayv2:GetRoutes"] = 1
    if referenced:
        calls["apigatewayv2:GetAuthorizer"] = len(referenced)
    return Plan(calls, stages * len(surface.routes), Counter({"draft_routes": stages}))


def expected_of(org: SimOrganization, no_summary_share: float = NO_SUMMARY_SHARE) -> Expected:
    reachable = {account.account_id for account in org.reachable_accounts()}
    plans = {
        key: [plan_of(api, no_summary_share) for api in apis]
        for key, apis in org.apis.items()
        if key[0] in reachable
    }
    every = [plan for key_plans in plans.values() for plan in key_plans]
    resources: Counter[str] = Counter()
    for (account, _), key_plans in plans.items():
        resources[account] += sum(plan.calls["apigateway:GetResources"] for plan in key_plans)
    return Expected(
        apis=len(every),
        operations=sum(plan.operations for plan in every),
        onboarding_calls=sum(plan.calls.total() for plan in every),
        onboarding_chain=max((plan.calls.total() for plan in every), default=0),
        busiest_onboarding=max(
            (sum(plan.calls.total() for plan in key_plans) for key_plans in plans.values()),
            default=0,
        ),
        by_operation=sum((plan.calls for plan in every), Counter()),
        busiest_get_resources=max(resources.values(), default=0),
        sources=sum((plan.sources for plan in every), Counter()),
        discovery_by_operation=discovery_calls(org),
    )


@dataclass(frozen=True)
class Lifecycle:
    """What run 3 should do after the organization changed (organization.mutate)."""

    mutation: Mutation
    listed: int  # onboarded APIs still listed: the applications run 3 compares (synced)
    discovery_by_operation: Counter[str]  # discovery's calls over the changed organization
    sync_by_operation: Counter[str]  # re-reading each changed stage, and nothing else
    chain: int  # the longest run of calls one changed stage takes
    busiest_sync: int  # sync calls of the account-region with the most
    operations: dict[ApiKey, int]  # the changed stage's definition's operations, by API

    @property
    def planned(self) -> Counter[str]:
        return self.discovery_by_operation + self.sync_by_operation


def lifecycle_of(
    org: SimOrganization, seed: int, no_summary_share: float = NO_SUMMARY_SHARE
) -> Lifecycle:
    mutation = mutate(org, seed)
    after = mutation.organization
    by_key = {
        (account, region, api.api_id): api
        for (account, region), apis in after.apis.items()
        for api in apis
    }
    sync: Counter[str] = Counter()
    per_place: Counter[tuple[str, str]] = Counter()
    chain = 0
    operations: dict[ApiKey, int] = {}
    for key, (stage_name, _) in mutation.changed.items():
        api = by_key[key]
        # Exactly what onboarding takes to read that one stage.
        one = replace(api, stages=tuple(s for s in api.stages if s.name == stage_name))
        plan = plan_of(one, no_summary_share)
        sync += plan.calls
        per_place[key[:2]] += plan.calls.total()
        chain = max(chain, plan.calls.total())
        operations[key] = plan.operations
    reachable = {account.account_id for account in org.reachable_accounts()}
    listed = sum(len(apis) for (account, _), apis in after.apis.items() if account in reachable)
    return Lifecycle(
        mutation=mutation,
        listed=listed,
        discovery_by_operation=discovery_calls(after),
        sync_by_operation=sync,
        chain=chain,
        busiest_sync=max(per_place.values(), default=0),
        operations=operations,
    )


# ------------------------------------------------------------------------------ the service
class _TimedSource:
    """An account source noting when each page of accounts arrives."""

    def __init__(self, source: AccountSource, timeline: Timeline) -> None:
        self._source, self._timeline = source, timeline

    def account_pages(self) -> Iterator[list[AccountStatus]]:
        for page in self._source.account_pages():
            now = time.perf_counter()
            with self._timeline.lock:
                self._timeline.pages.append(now)
                for account in page:
                    self._timeline.listed[account.account_id] = now
            yield page

    def __getattr__(self, name: str) -> Any:
        return getattr(self._source, name)


class _TimedSpec:
    """A connection's credentials whose account source notes when its pages arrive."""

    def __init__(self, spec: CredentialSpec, timeline: Timeline) -> None:
        self._spec, self._timeline = spec, timeline

    def accounts(self, context: ProbeContext) -> AccountSource:
        return cast(AccountSource, _TimedSource(self._spec.accounts(context), self._timeline))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._spec, name)


class TimedLimiter(RateLimiter):
    """The engine's quota buckets, timing how long each account-region waits for a token."""

    def __init__(self, timeline: Timeline) -> None:
        super().__init__(APIGATEWAY_RATE, APIGATEWAY_BURST)
        self.timeline = timeline

    def acquire(self, key: Any) -> None:
        started = time.perf_counter()
        super().acquire(key)
        waited = time.perf_counter() - started
        with self.timeline.lock:
            self.timeline.waits[key] += waited


class PhasedEngine(DiscoveryEngine):
    """The service's discovery engine, telling the benchmark when a run's discovery ends, and
    timing its phases (Timeline): accounts reached, account-regions listed, each call."""

    def __init__(self, *, on_discovered: Callable[[], None], max_in_flight: int) -> None:
        super().__init__(max_in_flight=max_in_flight)
        self.on_discovered = on_discovered
        self.timeline = Timeline()
        self.limiter = TimedLimiter(self.timeline)

    def _reach(self, source: AccountSource, account: AccountStatus) -> AwsSession | None:  # type: ignore[override]
        started = time.perf_counter()
        try:
            return DiscoveryEngine._reach(source, account)
        finally:
            with self.timeline.lock:
                self.timeline.reached[account.account_id] = (started, time.perf_counter())

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
        started = time.perf_counter()
        try:
            super()._region(clients, session, account_id, region, record, each, out_of_scope)
        finally:
            with self.timeline.lock:
                self.timeline.regions[(account_id, region)] = (started, time.perf_counter())

    def _caller(self, account_id: str, region: str) -> Call:
        call = super()._caller(account_id, region)
        times = self.timeline.calls[(account_id, region)]

        def timed(fetch: Callable[[], dict[str, Any]], /, *, quota: str | None = None) -> Any:
            started = time.perf_counter()
            try:
                return call(fetch, quota=quota)
            finally:
                if self.timeline.open:  # discovery's calls, not onboarding's
                    times.append(time.perf_counter() - started)

        return timed

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
        timed = cast(CredentialSpec, _TimedSpec(spec, self.timeline))
        self.timeline.open = True
        try:
            result = super().discover(
                timed,
                context,
                regions=regions,
                account_ids=account_ids,
                on_outcome=on_outcome,
                sizes=sizes,
                account_out_of_scope=account_out_of_scope,
                api_out_of_scope=api_out_of_scope,
            )
        finally:
            self.timeline.open = False
        self.on_discovered()
        return result


@dataclass
class Phases:
    """When the run's discovery ended, and its busiest account-region until then."""

    endpoint: SimulatedEndpoint
    discovered_at: float | None = None
    discovery_busiest: int = 0

    def reset(self) -> None:
        self.discovered_at, self.discovery_busiest = None, 0

    def discovered(self) -> None:
        self.discovered_at = time.perf_counter()
        self.discovery_busiest = self.endpoint.stats()["busiest_account_region_calls"]
        self.endpoint.mark()  # onboarding's calls are counted apart from here on


@dataclass
class Service:
    client: TestClient
    database: Database
    services: RunServices
    engine: PhasedEngine
    pool: PoolWatch
    headers: dict[str, str]
    connection_id: str


@contextmanager
def service(
    org: SimOrganization, *, in_flight: int, on_discovered: Callable[[], None]
) -> Iterator[Service]:
    """The service on a fresh SQLite database, with a tenant, its connection and schedule."""
    with tempfile.TemporaryDirectory(prefix="bench-auto-onboard-") as directory:
        url = f"sqlite:///{Path(directory) / 'onboarder.db'}"
        upgrade(url)
        settings = Settings(
            mode=Mode.EMBEDDED,
            data_dir=Path(directory),
            database_url=url,
            encryption_keys=[SecretStr(Fernet.generate_key().decode())],
            log_format=LogFormat.TEXT,
            auto_migrate=False,
            platform_principal_arn=PLATFORM_PRINCIPAL,
            aws_max_concurrency=in_flight,
            embedded_scheduler=False,
        )
        app = create_app(settings, configure_logs=False)
        engine = PhasedEngine(on_discovered=on_discovered, max_in_flight=in_flight)
        app.state.discovery = engine
        database: Database = app.state.db
        with database.session() as session:
            _, issued = tenants.create_tenant(session=session, name="bench")
        headers = {"Authorization": f"Bearer {issued.plaintext}"}
        with TestClient(app) as client:
            connection = _ok(
                client.post(
                    f"{API}/connections",
                    json={
                        "name": "organization",
                        "credential_type": "central_role",
                        "central_role_arn": org.central_role_arn,
                    },
                    headers=headers,
                ),
                201,
            )
            _ok(
                client.put(
                    f"{API}/connections/{connection['id']}/auto-onboard",
                    json={
                        "frequency": "daily",
                        "hour": 3,
                        "minute": 0,
                        "timezone": "UTC",
                        "regions": list(org.regions),
                    },
                    headers=headers,
                ),
                200,
            )
            yield Service(
                client=client,
                database=database,
                services=RunServices(engine=engine, box=app.state.secret_box, settings=settings),
                engine=engine,
                pool=PoolWatch(database.engine, mark_taker=STORE_TAKER),
                headers=headers,
                connection_id=connection["id"],
            )


def _ok(response: Any, status: int) -> dict[str, Any]:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
    body: dict[str, Any] = response.json()
    return body


# ------------------------------------------------------------------------------ one run
@dataclass
class Figures:
    wall: float
    discovery_wall: float
    cpu: float
    peak_rss_mb: float
    endpoint_cpu: float
    calls: Counter[str]
    discovery_calls: Counter[str]
    answers: dict[str, int]
    throttled: int
    throttled_by: dict[str, int]  # 429 answers by the quota that gave them
    onboarding_throttled: int  # 429 answers after discovery ended
    botocore_throttles: int
    busiest: int
    discovery_busiest: int
    onboarding_busiest: int
    onboarding_get_resources_busiest: int  # GetResources calls of the busiest account
    run: dict[str, Any]
    checkouts: Checkouts
    stored: dict[str, int] = field(default_factory=dict)
    store_ends: list[float] = field(default_factory=list)  # seconds after discovery ended
    timeline: list[str] = field(default_factory=list)  # what took discovery's time
    seen: LifecycleSeen | None = None  # run 3: what the service says of the changes

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def onboarding_calls(self) -> int:
        return self.total_calls - sum(self.discovery_calls.values())

    @property
    def onboarding_by_operation(self) -> Counter[str]:
        return self.calls - self.discovery_calls

    @property
    def throttled_errors(self) -> int:
        """The run's errors that say AWS throttled: a throttle retries did not get past."""
        return sum(1 for error in self.run["errors"] if error.get("code") == "throttled")


@dataclass
class LifecycleSeen:
    """What the service answers after run 3 about the APIs that changed."""

    retired: set[ApiKey]  # GET /applications?status=retired: those whose status says retired
    retired_answered: int  # how many that answer held (all of them, if status is not known)
    statuses: Counter[str]  # every application by status ("(none)" before the service has it)
    definitions: dict[ApiKey, dict[str, Any] | None]  # the changed stage's, by changed API


def _all_pages(stack: Service, query: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        url = f"{API}/applications?limit=500{query}" + (f"&cursor={cursor}" if cursor else "")
        page = _ok(stack.client.get(url, headers=stack.headers), 200)
        items.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def _key(application: dict[str, Any]) -> ApiKey:
    source = application["source"]
    return (source["account_id"], source["region"], source["api_id"])


def read_lifecycle(stack: Service, lifecycle: Lifecycle) -> LifecycleSeen:
    every = {_key(a): a for a in _all_pages(stack, "")}
    retired_answer = _all_pages(stack, "&status=retired")
    definitions: dict[ApiKey, dict[str, Any] | None] = {}
    for key, (stage, _) in lifecycle.mutation.changed.items():
        application = every.get(key)
        found = [d for d in (application or {}).get("definitions", []) if d["stage"] == stage]
        definitions[key] = found[0] if found else None
    return LifecycleSeen(
        retired={_key(a) for a in retired_answer if a.get("status") == "retired"},
        retired_answered=len(retired_answer),
        statuses=Counter(str(a.get("status", "(none)")) for a in every.values()),
        definitions=definitions,
    )


def execute_run(
    stack: Service,
    endpoint: SimulatedEndpoint,
    phases: Phases,
    profiles: ThreadProfiles | None = None,
) -> Figures:
    """Queue a run over HTTP, claim it, and execute it as a scheduler process would (under
    `profiles` when given)."""
    connection = f"{API}/connections/{stack.connection_id}/auto-onboard"
    queued = _ok(stack.client.post(f"{connection}/runs", headers=stack.headers), 202)
    run_id = runs.claim_queued_run(stack.database, worker=WORKER, now=utcnow())
    if run_id is None or str(run_id) != queued["id"]:
        raise RuntimeError(f"claimed {run_id}, queued {queued['id']}")
    # Runs are days apart: the quota the last run spent has come back, in AWS (the endpoint's
    # reset) and in the engine's own buckets (they refill in burst / rate seconds). Run back to
    # back, a run would start with the previous one's quota spent, which no floor here counts.
    time.sleep(max(QUOTA_BURST / QUOTA_RATE, RESOURCES_QUOTA_BURST / RESOURCES_QUOTA_RATE))
    endpoint.reset()
    stack.pool.reset()
    phases.reset()
    stack.engine.timeline.reset()
    throttles_before = stack.engine.clients.throttles
    endpoint_cpu = endpoint.stats()["cpu_seconds"]
    with RssSampler() as rss:
        cpu, started = time.process_time(), time.perf_counter()
        with profiles if profiles is not None else nullcontext():
            runs.execute(stack.database, stack.services, run_id, worker=WORKER)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    checkouts = stack.pool.figures
    stack.pool.reset()  # what follows (reading the run, counting the rows) is not the run's
    stats = endpoint.stats()
    since = stats.get(
        "since_mark",
        {
            "calls": {},
            "throttled": 0,
            "busiest_account_region_calls": 0,
            "busiest_account_get_resources": 0,
        },
    )
    calls: Counter[str] = Counter(stats["calls"])
    discovery_end = phases.discovered_at or started + wall
    return Figures(
        wall=wall,
        discovery_wall=discovery_end - started,
        cpu=cpu,
        peak_rss_mb=rss.peak_mb,
        endpoint_cpu=stats["cpu_seconds"] - endpoint_cpu,
        calls=calls,
        discovery_calls=calls - Counter(since["calls"]),
        answers=stats["answers"],
        throttled=stats["throttled"],
        throttled_by=stats["throttled_by"],
        onboarding_throttled=since["throttled"],
        botocore_throttles=stack.engine.clients.throttles - throttles_before,
        busiest=stats["busiest_account_region_calls"],
        discovery_busiest=phases.discovery_busiest,
        onboarding_busiest=since["busiest_account_region_calls"],
        onboarding_get_resources_busiest=since["busiest_account_get_resources"],
        run=_ok(stack.client.get(f"{connection}/runs/{run_id}", headers=stack.headers), 200),
        checkouts=checkouts,
        stored=_stored(stack.database),
        store_ends=[end - discovery_end for end in checkouts.marked_ends],
        timeline=stack.engine.timeline.summary(started, discovery_end),
    )


def _stored(database: Database) -> dict[str, int]:
    with database.session() as session:
        applications = session.scalar(select(func.count()).select_from(Application)) or 0
        operations = session.scalar(select(func.sum(ApplicationDefinition.operations))) or 0
        sources = dict(
            session.execute(
                select(ApplicationDefinition.source, func.count()).group_by(
                    ApplicationDefinition.source
                )
            ).all()
        )
    return {"applications": applications, "operations": operations, **sources}


def one_repetition(
    org: SimOrganization,
    endpoint: SimulatedEndpoint,
    in_flight: int,
    lifecycle: Lifecycle,
    *,
    seed: int,
    profile: Path | None = None,
) -> list[Figures]:
    """A fresh database: run 1, run 2; the organization changes; run 3. With `profile`, one
    more run like run 2 under cProfile (not in the figures) before the change."""
    phases = Phases(endpoint)
    with service(org, in_flight=in_flight, on_discovered=phases.discovered) as stack:
        first = execute_run(stack, endpoint, phases)
        second = execute_run(stack, endpoint, phases)
        if profile is not None:
            profiles = ThreadProfiles()
            profiled = execute_run(stack, endpoint, phases, profiles)
            _print_profile(profiles, profiled, profile)
        changed = endpoint.mutate(seed)
        try:
            if changed != {
                "changed": len(lifecycle.mutation.changed),
                "deleted": len(lifecycle.mutation.deleted),
            }:
                raise RuntimeError(f"the endpoint changed {changed}, the benchmark expects other")
            third = execute_run(stack, endpoint, phases)
            third.seen = read_lifecycle(stack, lifecycle)
        finally:
            endpoint.restore()
        return [first, second, third]


def _print_profile(profiles: ThreadProfiles, figures: Figures, path: Path) -> None:
    stats = profiles.stats()
    stats.dump_stats(path)
    print(
        f"\nrun 2 again under cProfile (thread CPU time; {figures.wall:.2f} s wall, "
        f"{figures.cpu:.2f} s CPU with the profiler's own cost): stats in {path}"
    )
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(r"app/|botocore/(endpoint|client|auth|parsers)", 30)


# ------------------------------------------------------------------------------ floors
@dataclass(frozen=True)
class Floor:
    chain: float
    throughput: float
    quota: float
    resources_quota: float = 0.0  # GetResources' own quota, in its busiest account

    @property
    def without_resources_quota(self) -> float:
        return max(self.chain, self.throughput, self.quota)

    @property
    def value(self) -> float:
        return max(self.without_resources_quota, self.resources_quota)

    def __str__(self) -> str:
        return (
            f"{self.value:.2f} s = max(chain {self.chain:.2f}, calls x latency / in flight "
            f"{self.throughput:.2f}, busiest account-region quota {self.quota:.2f}, "
            f"busiest account GetResources quota {self.resources_quota:.2f})"
        )


def _quota(busiest: int) -> float:
    return max(0.0, busiest - QUOTA_BURST) / QUOTA_RATE


def _resources_quota(busiest_account: int) -> float:
    """The time an account's GetResources calls take past the burst, at 5 every 2 s."""
    return max(0.0, busiest_account - RESOURCES_QUOTA_BURST) / RESOURCES_QUOTA_RATE


def _busiest_start(org: SimOrganization, latency: float, assumed: bool) -> float:
    """The earliest its busiest account-region can be listed: its account is known once the
    ListAccounts page that holds it has come (pages come one after the other), and reached
    one AssumeRole later (when sessions are not cached). The quota's time only starts then."""
    if not org.apis:
        return 0.0
    (account_id, _), _apis = max(org.apis.items(), key=lambda item: len(item[1]))
    order = [account.account_id for account in org.accounts]
    page = order.index(account_id) // LIST_ACCOUNTS_PAGE if account_id in order else 0
    # DescribeOrganization, then AssumeRole (central) when not cached, the pages through its
    # own, then AssumeRole (child) when not cached.
    return (1 + (2 if assumed else 0) + page + 1) * latency


def floors(
    figures: Figures, org: SimOrganization, chain: int, latency: float, in_flight: int
) -> tuple[Floor, Floor, Floor]:
    """The whole run's floor, and discovery's and onboarding's apart (`chain`: the longest run
    of calls one API takes after discovery, one after the other)."""
    pages = math.ceil(len(org.accounts) / LIST_ACCOUNTS_PAGE)
    assumed = figures.calls["sts:AssumeRole"] > 0
    # AssumeRole (central) -> ListAccounts pages -> AssumeRole (child) -> GetRestApis ->
    # GetStages -> GetBasePathMappings (DescribeOrganization beside ListAccounts, a domain's
    # ListRoutingRules beside its mappings); then one API's calls, one after the other.
    discovery_chain = (pages + (2 if assumed else 0) + 3) * latency
    onboarding_chain = chain * latency if figures.onboarding_calls else 0.0
    discovery = Floor(
        discovery_chain,
        sum(figures.discovery_calls.values()) * latency / in_flight,
        _busiest_start(org, latency, assumed) + _quota(figures.discovery_busiest),
    )
    # Discovery makes no GetResources call: the bucket is full when onboarding starts.
    resources = _resources_quota(figures.onboarding_get_resources_busiest)
    onboarding = Floor(
        onboarding_chain,
        figures.onboarding_calls * latency / in_flight,
        _quota(figures.onboarding_busiest),
        resources,
    )
    whole = Floor(
        discovery_chain + onboarding_chain,
        figures.total_calls * latency / in_flight,
        _quota(figures.busiest),
        resources,
    )
    return whole, discovery, onboarding


# ------------------------------------------------------------------------------ report
def _median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def _share(values: list[float], share: float) -> float:
    """The value below which `share` of `values` lie (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def _written(figures: Figures, share: float) -> float:
    """When `share` of the run's applications had been written, after discovery ended."""
    return _share(figures.store_ends, share)


def _table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        print("  " + "  ".join(cells))


def report(
    repetitions: list[list[Figures]],
    org: SimOrganization,
    expected: Expected,
    lifecycle: Lifecycle,
    latency: float,
    in_flight: int,
) -> list[str]:
    """Print the figures (medians over repetitions); return what did not match expectations."""
    problems: list[str] = []
    names = ("run 1 (onboards)", "run 2 (nothing new)", "run 3 (changes)")
    per_run = [[rep[i] for rep in repetitions] for i in range(3)]
    chains = (expected.onboarding_chain, 0, lifecycle.chain)
    medians = "median of " + str(len(repetitions)) if len(repetitions) > 1 else "one repetition"
    print(f"\nfigures ({medians}; CPU and RSS are this process, the endpoint has its own)")

    def row(label: str, value: Callable[[Figures], float], fmt: str) -> tuple[str, ...]:
        return (label, *(format(_median(value(f) for f in figures), fmt) for figures in per_run))

    def floor_values(f: Figures, chain: int) -> tuple[float, ...]:
        whole, discovery, onboarding = floors(f, org, chain, latency, in_flight)
        # Onboarding starts when discovery has ended, so the sum of their floors is one too
        # (a weaker one where both assume a full quota bucket in the same account-region).
        design = max(whole.value, discovery.value + onboarding.value)
        design_without = max(
            whole.without_resources_quota,
            discovery.value + onboarding.without_resources_quota,
        )
        return (
            whole.value,
            discovery.value,
            onboarding.value,
            design,
            design_without,
            onboarding.without_resources_quota,
            onboarding.resources_quota,
        )

    def floor_row(label: str, index: int, ratio: bool) -> tuple[str, ...]:
        cells = []
        for figures, chain in zip(per_run, chains, strict=True):
            values = [floor_values(f, chain)[index] for f in figures]
            if ratio:
                values = [f.wall / v if v else 0.0 for f, v in zip(figures, values, strict=True)]
            cells.append(format(_median(values), ".2f"))
        return (label, *cells)

    rows: list[tuple[str, ...]] = [
        ("", *names),
        row("wall time (s)", lambda f: f.wall, ".2f"),
        row("  discovery (s)", lambda f: f.discovery_wall, ".2f"),
        row("  onboarding and writes (s)", lambda f: f.wall - f.discovery_wall, ".2f"),
        row("AWS calls", lambda f: f.total_calls, ".0f"),
        row("  discovery", lambda f: sum(f.discovery_calls.values()), ".0f"),
        row("  onboarding", lambda f: f.onboarding_calls, ".0f"),
        row("calls per second", lambda f: f.total_calls / f.wall, ".0f"),
        row("CPU (s)", lambda f: f.cpu, ".2f"),
        row("CPU per call (ms)", lambda f: f.cpu / max(1, f.total_calls) * 1000, ".2f"),
        row("endpoint CPU (s)", lambda f: f.endpoint_cpu, ".2f"),
        row("peak RSS (MB)", lambda f: f.peak_rss_mb, ".0f"),
        row("throttled (429)", lambda f: f.throttled, ".0f"),
        row(
            "  by the account-region quota",
            lambda f: f.throttled_by.get("account-region", 0),
            ".0f",
        ),
        row(
            "  by the GetResources quota",
            lambda f: f.throttled_by.get("GetResources per account", 0),
            ".0f",
        ),
        row("  in onboarding", lambda f: f.onboarding_throttled, ".0f"),
        row("  seen by botocore", lambda f: f.botocore_throttles, ".0f"),
        row("throttled errors in the run (must be 0)", lambda f: f.throttled_errors, ".0f"),
        row("busiest account-region calls", lambda f: f.busiest, ".0f"),
        row("  in discovery", lambda f: f.discovery_busiest, ".0f"),
        row("  in onboarding", lambda f: f.onboarding_busiest, ".0f"),
        row(
            "busiest account GetResources calls",
            lambda f: f.onboarding_get_resources_busiest,
            ".0f",
        ),
        row("DB checkouts", lambda f: f.checkouts.count, ".0f"),
        row("DB checkout median (ms)", lambda f: _median(f.checkouts.held or [0]) * 1000, ".1f"),
        row("  99th percentile (ms)", lambda f: _share(f.checkouts.held, 0.99) * 1000, ".1f"),
        row("  longest (ms)", lambda f: f.checkouts.longest * 1000, ".1f"),
        row("DB checked out in total (s)", lambda f: f.checkouts.total, ".3f"),
        row("  share of wall time (%)", lambda f: f.checkouts.total / f.wall * 100, ".1f"),
        row("50% written (s after discovery)", lambda f: _written(f, 0.5), ".2f"),
        row("90% written", lambda f: _written(f, 0.9), ".2f"),
        row("100% written", lambda f: _written(f, 1.0), ".2f"),
        floor_row("floor, whole run (s)", 0, ratio=False),
        floor_row("  wall / floor", 0, ratio=True),
        floor_row("floor, onboarding after discovery (s)", 4, ratio=False),
        floor_row("  wall / floor", 4, ratio=True),
        floor_row("  with the GetResources quota (s)", 3, ratio=False),
        floor_row("  wall / floor", 3, ratio=True),
        floor_row("onboarding's own floor (s)", 5, ratio=False),
        floor_row("  with the GetResources quota (s)", 2, ratio=False),
        floor_row("  GetResources quota alone (s)", 6, ratio=False),
    ]
    _table(rows)

    print("\nAWS calls by operation (median)")
    operations = sorted({op for figures in per_run for f in figures for op in f.calls})
    _table(
        [
            ("", *names),
            *(
                (op, *(format(_median(f.calls[op] for f in figures), ".0f") for figures in per_run))
                for op in operations
            ),
        ]
    )
    print("\ndiscovery's AWS calls by operation (median), and what discovery makes")
    discovery_ops = sorted(
        {op for figures in per_run for f in figures for op in f.discovery_calls}
        | set(expected.discovery_by_operation)
        | set(lifecycle.discovery_by_operation)
    )
    _table(
        [
            ("", *names, "expected", "run 3 expected"),
            *(
                (
                    op,
                    *(
                        format(_median(f.discovery_calls[op] for f in figures), ".0f")
                        for figures in per_run
                    ),
                    str(expected.discovery_by_operation[op]),
                    str(lifecycle.discovery_by_operation[op]),
                )
                for op in discovery_ops
            ),
        ]
    )
    print("\nonboarding's AWS calls by operation, run 1 (median), and what the plan makes")
    onboarding_ops = sorted(
        {op for f in per_run[0] for op in f.onboarding_by_operation} | set(expected.by_operation)
    )
    _table(
        [
            ("", "run 1", "plan"),
            *(
                (
                    op,
                    format(_median(f.onboarding_by_operation[op] for f in per_run[0]), ".0f"),
                    str(expected.by_operation[op]),
                )
                for op in onboarding_ops
            ),
            (
                "total",
                format(_median(f.onboarding_calls for f in per_run[0]), ".0f"),
                str(expected.onboarding_calls),
            ),
        ]
    )
    answers = sorted({a for figures in per_run for f in figures for a in f.answers})
    if answers:
        print("\nanswers other than 200 (median)")
        _table(
            [
                ("", *names),
                *(
                    (
                        a,
                        *(
                            format(_median(f.answers.get(a, 0) for f in fs), ".0f")
                            for fs in per_run
                        ),
                    )
                    for a in answers
                ),
            ]
        )

    print("\nthe runs as the API reports them (last repetition)")
    last = repetitions[-1]
    _table(
        [
            ("", *names),
            ("status", *(f.run["status"] for f in last)),
            *((name, *(str(f.run[name]) for f in last)) for name in COUNTERS),
            *(
                (name, *(str(f.run.get(name, "-")) for f in last))
                for name in LIFECYCLE_COUNTERS
                if name not in COUNTERS
            ),
            ("errors", *(str(len(f.run["errors"])) for f in last)),
        ]
    )
    _report_lifecycle(per_run[2], lifecycle)
    for index, f in enumerate(last):
        whole, discovery, onboarding = floors(f, org, chains[index], latency, in_flight)
        print(f"\n{names[index]}, last repetition")
        print(f"  floor, whole run            {whole}")
        print(f"  floor, discovery            {discovery}")
        print(f"  floor, onboarding           {onboarding}")
        print(
            f"  longest DB checkout         {f.checkouts.longest * 1000:.1f} ms by "
            f"{f.checkouts.longest_by}"
        )
        held = ", ".join(
            f"{taker.split(':')[-1]} {seconds * 1000:.0f} ms"
            for taker, seconds in sorted(f.checkouts.by_taker.items(), key=lambda i: -i[1])[:4]
        )
        print(f"  DB held by                  {held}")
        print(f"  stored                      {json.dumps(f.stored, sort_keys=True)}")
        print("  discovery's time:")
        for line in f.timeline:
            print(f"  {line}")
        errors = f.run["errors"]
        if errors and all(_management_refusal(error, org) for error in errors):
            print(
                f"  errors                      {len(errors)}: the management account's child "
                "role cannot be assumed (role_not_assumable), so the run is partial"
            )
        elif errors:
            print(f"  first errors                {errors[:3]}")

    for rep, (first, second, third) in enumerate(repetitions, start=1):
        where = f"repetition {rep}"
        problems += _lifecycle_problems(f"{where}, run 3", third, lifecycle, org)
        if second.onboarding_calls:
            after = ", ".join(
                f"{op} {n}" for op, n in sorted(second.onboarding_by_operation.items())
            )
            problems.append(
                f"{where}: run 2 (nothing changed) made {second.onboarding_calls} calls after "
                f"discovery ({after}), none expected"
            )
        for name, figures in zip(names[:2], (first, second), strict=True):
            unexpected = [e for e in figures.run["errors"] if not _management_refusal(e, org)]
            if unexpected or figures.run["status"] not in {"succeeded", "partial"}:
                problems.append(f"{where}, {name}: {figures.run['status']}, {unexpected[:3]}")
        if first.run["onboarded"] != expected.apis or first.run["discovered"] != expected.apis:
            problems.append(
                f"{where}: run 1 discovered {first.run['discovered']} and onboarded "
                f"{first.run['onboarded']} of {expected.apis} APIs"
            )
        if second.run["skipped_existing"] != expected.apis or second.run["onboarded"]:
            problems.append(
                f"{where}: run 2 skipped {second.run['skipped_existing']} as existing and "
                f"onboarded {second.run['onboarded']}"
            )
        if first.stored.get("operations") != expected.operations:
            problems.append(
                f"{where}: definitions count {first.stored.get('operations')} operations, "
                f"the organization has {expected.operations}"
            )
        stored_sources = {k: first.stored.get(k, 0) for k in expected.sources}
        if stored_sources != dict(expected.sources):
            problems.append(
                f"{where}: definitions by source {json.dumps(stored_sources, sort_keys=True)}, "
                f"expected {json.dumps(dict(expected.sources), sort_keys=True)}"
            )
        if first.onboarding_calls < expected.onboarding_calls:
            problems.append(
                f"{where}: onboarding made {first.onboarding_calls} calls, fewer than the "
                f"{expected.onboarding_calls} expected"
            )
        for name, figures in zip(names[:2], (first, second), strict=True):
            for op in sorted(set(figures.discovery_calls) | set(expected.discovery_by_operation)):
                made, wanted = figures.discovery_calls[op], expected.discovery_by_operation[op]
                # A session assumed in run 1 may still serve run 2.
                if made > wanted or (made < wanted and op != "sts:AssumeRole"):
                    problems.append(
                        f"{where}, {name}: discovery made {made} {op} calls, {wanted} expected"
                    )
            if figures.throttled_errors:
                problems.append(
                    f"{where}, {name}: {figures.throttled_errors} throttled errors reached the run"
                )
    _headline(per_run, org, chains, latency, in_flight)
    print(
        f"\nexpected: {expected.apis} APIs, {expected.operations} operations in "
        f"{expected.sources.total()} definitions {json.dumps(dict(expected.sources))}, at least "
        f"{expected.onboarding_calls} onboarding calls (longest chain "
        f"{expected.onboarding_chain}), {expected.busiest_get_resources} GetResources calls in "
        "the busiest account"
    )
    return problems


def _report_lifecycle(figures: list[Figures], lifecycle: Lifecycle) -> None:
    mutation = lifecycle.mutation
    print(
        f"\nrun 3: between runs 2 and 3 the organization changed: {len(mutation.changed)} APIs "
        f"({CHANGED_SHARE:.0%}) got a new deployment on one stage serving one more operation, "
        f"{len(mutation.deleted)} ({DELETED_SHARE:.0%}) were deleted"
    )
    print(
        "AWS calls by operation, run 3 (median): made, and planned (discovery + re-reading "
        "each changed stage)"
    )
    ops = sorted({op for f in figures for op in f.calls} | set(lifecycle.planned))
    _table(
        [
            ("", "made", "after discovery", "planned", "plan: discovery", "plan: changed stages"),
            *(
                (
                    op,
                    format(_median(f.calls[op] for f in figures), ".0f"),
                    format(_median(f.onboarding_by_operation[op] for f in figures), ".0f"),
                    str(lifecycle.planned[op]),
                    str(lifecycle.discovery_by_operation[op]),
                    str(lifecycle.sync_by_operation[op]),
                )
                for op in ops
            ),
            (
                "total",
                format(_median(f.total_calls for f in figures), ".0f"),
                format(_median(f.onboarding_calls for f in figures), ".0f"),
                str(lifecycle.planned.total()),
                str(lifecycle.discovery_by_operation.total()),
                str(lifecycle.sync_by_operation.total()),
            ),
        ]
    )
    last = figures[-1]
    seen = last.seen
    counters = {name: last.run.get(name, "-") for name in LIFECYCLE_COUNTERS}
    expected = {
        "synced": lifecycle.listed,
        "definitions_changed": len(mutation.changed),
        "retired": len(mutation.deleted),
        "orphaned": 0,
        "restored": 0,
    }
    print(
        "the service's answer (last repetition): run counters "
        + ", ".join(f"{name} {counters[name]} (expected {expected[name]})" for name in counters)
    )
    if seen is not None:
        new_versions = sum(
            1
            for key, definition in seen.definitions.items()
            if definition is not None
            and definition.get("deployment_id") == mutation.changed[key][1]
            and definition.get("version", 1) > 1
        )
        print(
            f"  applications by status {json.dumps(dict(seen.statuses), sort_keys=True)}; "
            f"GET /applications?status=retired answered {seen.retired_answered}, of them "
            f"{len(seen.retired & mutation.deleted)} of the {len(mutation.deleted)} deleted APIs "
            f"retired ({len(seen.retired - mutation.deleted)} others); {new_versions} of the "
            f"{len(mutation.changed)} changed APIs have a new definition version of the stage"
        )


def _lifecycle_problems(
    where: str, figures: Figures, lifecycle: Lifecycle, org: SimOrganization
) -> list[str]:
    """What run 3 and the service's answers after it got wrong."""
    problems: list[str] = []
    mutation = lifecycle.mutation
    run = figures.run
    unexpected = [e for e in run["errors"] if not _management_refusal(e, org)]
    if unexpected or run["status"] not in {"succeeded", "partial"}:
        problems.append(f"{where}: {run['status']}, {unexpected[:3]}")
    if run["discovered"] != lifecycle.listed or run["onboarded"]:
        problems.append(
            f"{where}: discovered {run['discovered']} of {lifecycle.listed} APIs still listed, "
            f"onboarded {run['onboarded']} (none expected)"
        )
    expected_counters = {
        "synced": lifecycle.listed,
        "definitions_changed": len(mutation.changed),
        "retired": len(mutation.deleted),
    }
    for name, wanted in expected_counters.items():
        if name in run and run[name] != wanted:
            problems.append(f"{where}: the run's {name} is {run[name]}, {wanted} expected")
    for op in sorted(set(figures.calls) | set(lifecycle.planned)):
        made, planned = figures.calls[op], lifecycle.planned[op]
        if made > planned or (made < planned and op != "sts:AssumeRole"):
            problems.append(f"{where}: made {made} {op} calls, {planned} planned")
    seen = figures.seen
    if seen is None:
        return [*problems, f"{where}: the applications were not read"]
    missing = sorted(mutation.deleted - seen.retired)
    if missing:
        problems.append(
            f"{where}: {len(missing)} of the {len(mutation.deleted)} deleted APIs' applications "
            f"are not retired (GET /applications?status=retired), e.g. {missing[:3]}"
        )
    extra = sorted(seen.retired - mutation.deleted)
    if extra:
        problems.append(f"{where}: {len(extra)} applications retired wrongly, e.g. {extra[:3]}")
    wrong: list[str] = []
    for key, (stage, deployment_id) in sorted(mutation.changed.items()):
        definition = seen.definitions.get(key)
        if definition is None:
            wrong.append(f"{key[2]} {stage}: no definition")
        elif definition.get("deployment_id") != deployment_id or definition.get("version", 1) < 2:
            wrong.append(
                f"{key[2]} {stage}: version {definition.get('version')} of deployment "
                f"{definition.get('deployment_id')}, not a new version of {deployment_id}"
            )
        elif definition.get("operations") != lifecycle.operations[key]:
            wrong.append(
                f"{key[2]} {stage}: {definition.get('operations')} operations, "
                f"{lifecycle.operations[key]} expected"
            )
    if wrong:
        problems.append(
            f"{where}: {len(wrong)} of the {len(mutation.changed)} changed APIs have no right "
            f"new definition version, e.g. {wrong[:3]}"
        )
    return problems


def _headline(
    per_run: list[list[Figures]],
    org: SimOrganization,
    chains: tuple[int, ...],
    latency: float,
    in_flight: int,
) -> None:
    """Each run's wall time against its floor, run 2's against discovery's, prominently."""
    print()
    names = ("run 1 (onboards)", "run 2 (nothing changed)", "run 3 (changes)")
    for name, figures, chain in zip(names, per_run, chains, strict=True):
        wall = _median(f.wall for f in figures)
        floor = _median(
            max(w.value, d.value + o.value)
            for w, d, o in (floors(f, org, chain, latency, in_flight) for f in figures)
        )
        print(f"  {name:<24} {wall:6.2f} s, floor {floor:6.2f} s: {wall / floor:.2f}x")
    second = per_run[1]
    wall = _median(f.wall for f in second)
    floor = _median(floors(f, org, 0, latency, in_flight)[1].value for f in second)
    ratio = wall / floor if floor else 0.0
    verdict = "met" if ratio <= RUN2_TARGET else "NOT MET"
    print(
        f"  ==> RUN 2 (nothing changed): {wall:.2f} s / discovery floor {floor:.2f} s = "
        f"{ratio:.2f}x (target {RUN2_TARGET}x: {verdict})"
    )


def _management_refusal(error: dict[str, Any], org: SimOrganization) -> bool:
    """The management account's child role: no service-managed StackSet deploys there, so
    the simulated organization (like most real ones) has none."""
    return (
        error.get("account_id") == org.management_account_id
        and error.get("code") == "role_not_assumable"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--regions", type=int, default=4)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per AWS answer")
    parser.add_argument(
        "--in-flight",
        type=int,
        default=Settings.model_fields["aws_max_concurrency"].default,
        help="ONBOARDER_AWS_MAX_CONCURRENCY",
    )
    parser.add_argument("--repeat", type=int, default=1, help="fresh databases; medians shown")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--no-summary-share",
        type=float,
        default=NO_SUMMARY_SHARE,
        help="share of REST APIs whose deployments answer without apiSummary",
    )
    parser.add_argument(
        "--delegated-admin",
        action="store_true",
        help="the central role in a delegated administrator's account, not the management's",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="one more run like run 2 under cProfile (thread CPU time), its stats to FILE",
    )
    args = parser.parse_args()

    org = build_organization(
        args.accounts, args.regions, seed=args.seed, delegated_admin=args.delegated_admin
    )
    expected = expected_of(org, args.no_summary_share)
    lifecycle = lifecycle_of(org, args.seed, args.no_summary_share)
    print(
        f"organization: {args.accounts} accounts x {args.regions} regions, {expected.apis} APIs "
        f"({expected.operations} operations in {expected.sources.total()} stage definitions); "
        f"latency {args.latency * 1000:.0f} ms; quota {QUOTA_RATE:.0f}/s burst "
        f"{QUOTA_BURST:.0f} per account-region, GetResources {RESOURCES_QUOTA_RATE}/s burst "
        f"{RESOURCES_QUOTA_BURST:.0f} per account; {args.no_summary_share:.0%} of REST APIs "
        f"without apiSummary; {args.in_flight} requests in flight; {os.cpu_count()} CPUs; SQLite"
    )
    with SimulatedEndpoint(
        latency=args.latency,
        accounts=args.accounts,
        regions=args.regions,
        seed=args.seed,
        delegated_admin=args.delegated_admin,
        no_summary_share=args.no_summary_share,
    ) as endpoint:
        os.environ.update(
            AWS_ENDPOINT_URL=endpoint.url,
            AWS_ACCESS_KEY_ID=PLATFORM_ACCESS_KEY_ID,
            AWS_SECRET_ACCESS_KEY=PLATFORM_SECRET_ACCESS_KEY,
            AWS_DEFAULT_REGION="us-east-1",
        )
        for variable in ("AWS_SESSION_TOKEN", "AWS_PROFILE"):
            os.environ.pop(variable, None)
        repetitions = []
        for index in range(args.repeat):
            done = one_repetition(
                org, endpoint, args.in_flight, lifecycle, seed=args.seed, profile=args.profile
            )
            print(
                f"repetition {index + 1}: run 1 {done[0].wall:.2f} s "
                f"({done[0].run['status']}, {done[0].run['onboarded']} onboarded), "
                f"run 2 {done[1].wall:.2f} s ({done[1].run['status']}), "
                f"run 3 {done[2].wall:.2f} s ({done[2].run['status']})",
                flush=True,
            )
            repetitions.append(done)
    problems = report(repetitions, org, expected, lifecycle, args.latency, args.in_flight)
    if problems:
        print("\nNOT AS EXPECTED:")
        for problem in problems:
            print(f"  {problem}")
        raise SystemExit(1)
    print(
        "check: every API onboarded once, with its operations; run 2 onboarded and re-read "
        "nothing; run 3 retired every deleted API and gave every changed stage a new "
        "definition version, with the calls planned"
    )


if __name__ == "__main__":
    main()

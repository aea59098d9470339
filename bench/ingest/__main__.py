"""Real-time updates benchmark: 1,000 CloudTrail events for 200 APIs arriving in bursts; the
time from an event to its application updated, and the AWS calls per event after debouncing.

    python -m bench.ingest                        # 38 accounts x 16 regions: 200 APIs
    python -m bench.ingest --repeat 3             # three fresh databases, medians printed
    python -m bench.ingest --debounce 5 --threads 8 --poll 1
    python -m bench.ingest --per-second 10        # the bursts start 10 APIs a second

Flags: --accounts, --regions, --seed (the organization: 38 x 16 and 7 hold 200 APIs, at most
2 in one account-region), --latency (s per AWS answer, 0.05), --in-flight
(ONBOARDER_AWS_MAX_CONCURRENCY), --debounce (ONBOARDER_INGEST_DEBOUNCE_SECONDS, 3), --poll
(ONBOARDER_INGEST_POLL_SECONDS), --threads (ONBOARDER_INGEST_THREADS; the service's defaults
unless given), --per-second (APIs whose burst starts each second, 40), --senders (threads
posting, 8), --timeout (s to wait for every trigger to finish, 300), --repeat N (N fresh
databases, medians printed).

Set-up (not measured), as bench.auto_onboard does it: a SQLite database built by the
migrations in a temporary directory, `app.main.create_app` spoken to with TestClient, a
tenant with a central_role connection and its auto-onboard schedule; AWS is the discovery
benchmark's simulated endpoint (bench/discovery/simulated_aws.py, its own process, through
AWS_ENDPOINT_URL; --latency per answer, 10/s burst 40 per account-region). The organization
(--accounts x --regions, seeded) holds 200 APIs by default, none in a "big" account (an account
of 100 APIs in one region comes with --accounts 51 and more). One run onboards them all
(`runs.claim_queued_run`, `runs.execute`; its wall time is printed), then the connection gets
an ingest token (POST /connections/{id}/ingest-token).

Then every API gets a new deployment on one of its stages, serving one more operation (the
endpoint's /__mutate with changed=1 deleted=0: organization.mutate), and its deploy's five
calls reach the service as EventBridge would post them (bench/ingest/events.py:
CreateDeployment, UpdateStage x3, CreateDeployment with the stage), one event per POST to
/aws/events/{connection_id} with the X-Onboarder-Ingest-Token header, over TestClient from
--senders threads, each event at its planned time: the bursts of --per-second APIs start each
second, in a seeded order, each burst spread over 1 to 2 s, so they interleave. The scheduler's
`TriggerWorker` runs in this process on the real clock (started before the first event,
stopped once every trigger is finished), with ONBOARDER_INGEST_DEBOUNCE_SECONDS = --debounce
(3 s: the service's 15 s is long for a benchmark), ingest_poll_seconds = --poll and
ingest_threads = --threads (the service's defaults unless given); it is the real class, noting
when each poll and each sync ran.

"Updated" is exact: the application's new definition version of the changed stage was written
(its definition_changed change, ApplicationChange.occurred_at, the time the sync's write takes
inside its transaction, just before it commits); its trigger's finished_at, written right
after that commit, is the upper bound. Printed (medians of the repetitions): from each event's
POST to its application updated, p50, p95 and max, raw and less the debounce window, and from
the last event of each burst (the service's own delay after the API went quiet); the ingest
endpoint's latency (p50/p95/max of its 202) and how late the senders were; the syncs (claims:
one per API if the debounce works), how long after due each API was claimed, how long a sync
took and how long all the worker's threads were busy at once, polls; the AWS calls of the
event phase by operation, per event and per API, against what one sync of one changed stage
should take (describe the API: GetRestApi, or GetApi for HTTP/WebSocket APIs, and GetStages;
then what bench.auto_onboard's plan_of re-reads for that one stage; custom domains again
where the application has a custom-domain instance); throttles;
the wall time of the event phase; CPU and peak RSS of this process (service, worker and
senders together) and the endpoint's CPU; database connections held (by function), and the
WARNINGs `app` logged.

It exits 1 unless every event was accepted (202, one trigger each), every trigger is done
(none pending, failed or dropped), every API was synced once (one claim per API, when the
debounce is longer than a burst), and every one of the applications got exactly one new
definition version: of the changed stage, its new deployment, with its operations.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.core.config import Settings
from app.core.db import Database
from app.ingest import service as ingest
from app.lifecycle.changes import DEFINITION_CHANGED
from app.lifecycle.service import has_domain_instances
from app.models import Application, ApplicationChange, ApplicationDefinition, IngestTrigger
from app.setup.templates import INGEST_TOKEN_HEADER
from bench.auto_onboard.__main__ import (
    API,
    Phases,
    Service,
    _median,
    _ok,
    _table,
    execute_run,
    expected_of,
    plan_of,
    service,
)
from bench.auto_onboard.probes import Checkouts, RssSampler
from bench.discovery.organization import (
    NO_SUMMARY_SHARE,
    ApiKey,
    Mutation,
    SimApi,
    SimOrganization,
    build_organization,
    domain_urls,
    mutate,
)
from bench.discovery.simulated_aws import (
    PLATFORM_ACCESS_KEY_ID,
    PLATFORM_SECRET_ACCESS_KEY,
    QUOTA_BURST,
    QUOTA_RATE,
    SimulatedEndpoint,
)
from bench.ingest.events import BURST_SECONDS, DEPLOY_BURST, Deploy, Planned, bursts
from bench.load.clients import percentile
from bench.webhooks.watch import WorkerLog
from scheduler.ingest import TriggerWorker

WORKER = "bench-ingest"
DEBOUNCE = 3.0
PER_SECOND = 40.0
SENDERS = 8
# The operations that read custom domains again (an application with a custom-domain URL).
DOMAIN_OPERATIONS = frozenset(
    {
        "apigateway:GetDomainNames",
        "apigateway:GetBasePathMappings",
        "apigatewayv2:GetDomainNames",
        "apigatewayv2:GetApiMappings",
        "apigatewayv2:ListRoutingRules",
    }
)


# ------------------------------------------------------------------------------ expectations
@dataclass(frozen=True)
class Expected:
    """What the event phase should do, from the organization after it changed."""

    mutation: Mutation
    deploys: list[Deploy]
    operations: dict[ApiKey, int]  # the changed stage's new definition's operations
    describe: Counter[str]  # describing every API once (GetRestApi, GetApi, GetStages)
    reread: Counter[str]  # re-reading every changed stage (plan_of of that stage alone)
    with_domains: int  # APIs with a custom-domain URL in AWS

    @property
    def calls(self) -> Counter[str]:
        return self.describe + self.reread


def _describe_calls(api: SimApi) -> Counter[str]:
    """describe_api with the application's protocol: a REST API's GetRestApi and GetStages,
    an HTTP or WebSocket API's GetApi and GetStages (no GetRestApi 404 first)."""
    if api.protocol == "REST":
        return Counter({"apigateway:GetRestApi": 1, "apigateway:GetStages": 1})
    return Counter({"apigatewayv2:GetApi": 1, "apigatewayv2:GetStages": 1})


def expected_of_changes(
    org: SimOrganization, seed: int, no_summary_share: float = NO_SUMMARY_SHARE
) -> Expected:
    mutation = mutate(org, seed, changed_share=1.0, deleted_share=0.0)
    after = {
        (account, region, api.api_id): api
        for (account, region), apis in mutation.organization.apis.items()
        for api in apis
    }
    deploys: list[Deploy] = []
    operations: dict[ApiKey, int] = {}
    describe: Counter[str] = Counter()
    reread: Counter[str] = Counter()
    with_domains = 0
    for key, (stage, deployment_id) in sorted(mutation.changed.items()):
        api = after[key]
        deploys.append(Deploy(key, api.protocol, stage, deployment_id))
        one = replace(api, stages=tuple(s for s in api.stages if s.name == stage))
        plan = plan_of(one, no_summary_share)
        operations[key] = plan.operations
        reread += plan.calls
        describe += _describe_calls(api)
        if domain_urls(org, key[0], key[1]).get(api.api_id):
            with_domains += 1
    return Expected(mutation, deploys, operations, describe, reread, with_domains)


# ------------------------------------------------------------------------------ the worker
@dataclass(frozen=True)
class SyncSpan:
    target: str
    triggers: int
    started: float  # time.time()
    ended: float


class TimedWorker(TriggerWorker):
    """The scheduler's TriggerWorker, noting how long each poll and each sync took."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.record_lock = threading.Lock()
        self.polls: list[tuple[float, int]] = []  # (seconds, APIs claimed)
        self.syncs: list[SyncSpan] = []

    def poll(self) -> int:
        started = time.perf_counter()
        claimed = super().poll()
        with self.record_lock:
            self.polls.append((time.perf_counter() - started, claimed))
        return claimed

    def _sync(self, group: ingest.Group) -> None:
        started = time.time()
        try:
            super()._sync(group)
        finally:
            span = SyncSpan(group.target, len(group.trigger_ids), started, time.time())
            with self.record_lock:
                self.syncs.append(span)

    def claimed(self) -> int:
        with self.record_lock:
            return sum(claimed for _, claimed in self.polls)

    def finished(self) -> int:
        with self.record_lock:
            return len(self.syncs)


# ------------------------------------------------------------------------------ sending
@dataclass(frozen=True)
class Posted:
    planned: Planned
    sent: float  # time.time() when the POST started
    seconds: float  # until its answer
    late: float  # how long after its planned time it was sent
    status: int
    answer: str


def post_all(
    client: TestClient, url: str, token: str, planned: list[Planned], senders: int, start: float
) -> list[Posted]:
    """Post each event at `start` + its planned time, from `senders` threads (in order)."""
    done: list[Posted | None] = [None] * len(planned)
    lock = threading.Lock()
    position = 0

    def send() -> None:
        nonlocal position
        while True:
            with lock:
                index, position = position, position + 1
            if index >= len(planned):
                return
            item = planned[index]
            wait = start + item.at - time.time()
            if wait > 0:
                time.sleep(wait)
            sent = time.time()
            response = client.post(url, json=item.body, headers={INGEST_TOKEN_HEADER: token})
            seconds = time.time() - sent
            done[index] = Posted(
                item, sent, seconds, sent - start - item.at, response.status_code, response.text
            )

    threads = [threading.Thread(target=send, name=f"sender-{n}") for n in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [posted for posted in done if posted is not None]


# ------------------------------------------------------------------------------ one phase
@dataclass
class Trigger:
    event_id: str
    target: str
    status: str
    outcome: str | None
    reason_code: str | None
    received: float
    claimed: float | None
    finished: float | None


@dataclass
class Figures:
    setup_wall: float
    setup_onboarded: int
    posted: list[Posted]
    send_wall: float  # from the phase's start to the last answer of a POST
    wall: float  # from the phase's start to the last trigger finished
    cpu: float
    endpoint_cpu: float
    peak_rss_mb: float
    calls: Counter[str]
    answers: dict[str, int]
    throttled: int
    triggers: list[Trigger]
    updated: dict[ApiKey, list[float]]  # definition_changed changes of the changed stage
    new_versions: dict[ApiKey, list[dict[str, Any]]]  # definitions of version > 1
    syncs: list[SyncSpan]
    polls: list[tuple[float, int]]
    checkouts: Checkouts
    logged: Counter[str]
    timed_out: bool
    domain_instances: int = 0  # applications with a custom-domain URL
    all_busy: float = 0.0  # seconds every worker thread was syncing
    latencies: dict[str, list[float]] = field(default_factory=dict)

    def percentile(self, name: str, share: float) -> float:
        return percentile(self.latencies.get(name, []), share)


def _seconds(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def _wait_for_triggers(
    database: Database, worker: TimedWorker, expected: int, timeout: float
) -> bool:
    """Until every trigger is finished and the worker idle; False if `timeout` came first."""
    deadline = time.monotonic() + timeout
    unfinished = IngestTrigger.status.in_((ingest.PENDING, ingest.PROCESSING))
    while time.monotonic() < deadline:
        with database.session() as session:
            total = session.scalar(select(func.count()).select_from(IngestTrigger))
            left = session.scalar(select(func.count()).where(unfinished))
        if (
            (total or 0) >= expected
            and not left
            and worker.in_flight() == 0
            and worker.finished() >= worker.claimed()
        ):
            return True
        time.sleep(0.25)
    return False


def _all_busy(syncs: list[SyncSpan], threads: int) -> float:
    """How long every one of the worker's threads was syncing at once."""
    edges = sorted([(s.started, 1) for s in syncs] + [(s.ended, -1) for s in syncs])
    busy, running, since = 0.0, 0, 0.0
    for at, step in edges:
        if running >= threads:
            busy += at - since
        running += step
        since = at
    return busy


@dataclass
class Stored:
    """What the database holds after the event phase."""

    updated: dict[ApiKey, list[float]]  # definition_changed changes of the changed stage
    new_versions: dict[ApiKey, list[dict[str, Any]]]  # definitions of version > 1
    triggers: list[Trigger]
    domain_instances: int  # applications with a custom-domain instance


def _read(database: Database, deploys: list[Deploy], since: datetime) -> Stored:
    wanted = {deploy.key: deploy for deploy in deploys}
    with database.session() as session:
        keys = {
            row.id: (row.account_id, row.region, row.api_id)
            for row in session.execute(
                select(
                    Application.id, Application.account_id, Application.region, Application.api_id
                )
            )
        }
        updated: dict[ApiKey, list[float]] = {}
        for application_id, stage, occurred_at, details in session.execute(
            select(
                ApplicationChange.application_id,
                ApplicationChange.stage,
                ApplicationChange.occurred_at,
                ApplicationChange.details,
            ).where(
                ApplicationChange.kind == DEFINITION_CHANGED, ApplicationChange.occurred_at >= since
            )
        ):
            key = keys.get(application_id)
            deploy = wanted.get(key) if key else None
            if key is None or deploy is None:
                continue
            if stage == deploy.stage and details.get("deployment_after") == deploy.deployment_id:
                updated.setdefault(key, []).append(occurred_at.timestamp())
        new_versions: dict[ApiKey, list[dict[str, Any]]] = {}
        for row in session.execute(
            select(
                ApplicationDefinition.application_id,
                ApplicationDefinition.stage,
                ApplicationDefinition.version,
                ApplicationDefinition.current,
                ApplicationDefinition.deployment_id,
                ApplicationDefinition.operations,
            ).where(ApplicationDefinition.version > 1)
        ):
            new_versions.setdefault(keys[row.application_id], []).append(
                {
                    "stage": row.stage,
                    "version": row.version,
                    "current": row.current,
                    "deployment_id": row.deployment_id,
                    "operations": row.operations,
                }
            )
        triggers = [
            Trigger(
                event_id=row.event_id,
                target=row.target,
                status=row.status,
                outcome=row.outcome,
                reason_code=row.reason_code,
                received=row.received_at.timestamp(),
                claimed=_seconds(row.claimed_at),
                finished=_seconds(row.finished_at),
            )
            for row in session.scalars(select(IngestTrigger))
        ]
        domain_instances = sum(
            1
            for application in session.scalars(select(Application))
            if has_domain_instances(application)
        )
    return Stored(updated, new_versions, triggers, domain_instances)


def event_phase(
    stack: Service,
    endpoint: SimulatedEndpoint,
    token: str,
    expected: Expected,
    args: argparse.Namespace,
) -> Figures:
    settings = stack.services.settings.model_copy(
        update={
            "ingest_debounce_seconds": args.debounce,
            "ingest_poll_seconds": args.poll,
            "ingest_threads": args.threads,
        }
    )
    worker = TimedWorker(
        database=stack.database,
        services=replace(stack.services, settings=settings),
        worker=WORKER,
    )
    url = f"{API}/aws/events/{stack.connection_id}"
    planned = bursts(expected.deploys, per_second=args.per_second, seed=args.seed)
    # The set-up run's quota is back, in AWS and in the engine's own buckets.
    time.sleep(QUOTA_BURST / QUOTA_RATE)
    endpoint.reset()
    stack.pool.reset()
    endpoint_cpu = endpoint.stats()["cpu_seconds"]
    since = datetime.now(UTC)
    with RssSampler() as rss, WorkerLog() as log:
        cpu = time.process_time()
        worker.start()
        start = time.time() + 0.2  # the senders' threads are up by then
        try:
            posted = post_all(stack.client, url, token, planned, args.senders, start)
            send_wall = max(p.sent + p.seconds for p in posted) - start
            done = _wait_for_triggers(stack.database, worker, len(planned), args.timeout)
        finally:
            worker.stop()
        cpu = time.process_time() - cpu
    checkouts = stack.pool.figures
    stats = endpoint.stats()
    stored = _read(stack.database, expected.deploys, since)
    finished = [t.finished for t in stored.triggers if t.finished is not None]
    figures = Figures(
        setup_wall=0.0,
        setup_onboarded=0,
        posted=posted,
        send_wall=send_wall,
        wall=(max(finished) if finished else time.time()) - start,
        cpu=cpu,
        endpoint_cpu=stats["cpu_seconds"] - endpoint_cpu,
        peak_rss_mb=rss.peak_mb,
        calls=Counter(stats["calls"]),
        answers=stats["answers"],
        throttled=stats["throttled"],
        triggers=stored.triggers,
        updated=stored.updated,
        new_versions=stored.new_versions,
        syncs=list(worker.syncs),
        polls=list(worker.polls),
        checkouts=checkouts,
        logged=log.lines,
        timed_out=not done,
        domain_instances=stored.domain_instances,
        all_busy=_all_busy(list(worker.syncs), args.threads),
    )
    figures.latencies = _latencies(figures, args.debounce)
    return figures


def _latencies(figures: Figures, debounce: float) -> dict[str, list[float]]:
    """The time series the report takes percentiles of, in seconds."""
    by_event = {t.event_id: t for t in figures.triggers}
    updated = {key: min(times) for key, times in figures.updated.items()}
    event_to_updated: list[float] = []
    event_to_finished: list[float] = []
    last_to_updated: list[float] = []
    for posted in figures.posted:
        key = posted.planned.deploy.key
        if key in updated:
            event_to_updated.append(updated[key] - posted.sent)
            if posted.planned.index == len(DEPLOY_BURST) - 1:
                last_to_updated.append(updated[key] - posted.sent)
        trigger = by_event.get(posted.planned.body["id"])
        if trigger is not None and trigger.finished is not None:
            event_to_finished.append(trigger.finished - posted.sent)
    groups: dict[str, list[Trigger]] = {}
    for trigger in figures.triggers:
        groups.setdefault(trigger.target, []).append(trigger)
    claim_after_due = [
        min(t.claimed for t in group if t.claimed is not None)
        - (max(t.received for t in group) + debounce)
        for group in groups.values()
        if any(t.claimed is not None for t in group)
    ]
    return {
        "event_to_updated": event_to_updated,
        "event_to_updated_less_debounce": [s - debounce for s in event_to_updated],
        "last_to_updated": last_to_updated,
        "last_to_updated_less_debounce": [s - debounce for s in last_to_updated],
        "event_to_finished": event_to_finished,
        "post": [p.seconds for p in figures.posted],
        "late": [p.late for p in figures.posted],
        "claim_after_due": claim_after_due,
        "sync": [s.ended - s.started for s in figures.syncs],
        "poll": [seconds for seconds, _ in figures.polls],
    }


# ------------------------------------------------------------------------------ repetition
def one_repetition(
    org: SimOrganization, endpoint: SimulatedEndpoint, expected: Expected, args: argparse.Namespace
) -> Figures:
    """A fresh database: onboard everything (set-up), then the organization changes and the
    events come."""
    phases = Phases(endpoint)
    with service(org, in_flight=args.in_flight, on_discovered=phases.discovered) as stack:
        setup = execute_run(stack, endpoint, phases)
        token = _ok(
            stack.client.post(
                f"{API}/connections/{stack.connection_id}/ingest-token", headers=stack.headers
            ),
            201,
        )["token"]
        changed = endpoint.mutate(args.seed, changed_share=1.0, deleted_share=0.0)
        try:
            wanted = {"changed": len(expected.deploys), "deleted": 0}
            if changed != wanted:
                raise RuntimeError(
                    f"the endpoint changed {changed}, the benchmark expects {wanted}"
                )
            figures = event_phase(stack, endpoint, token, expected, args)
        finally:
            endpoint.restore()
    figures.setup_wall = setup.wall
    figures.setup_onboarded = setup.run["onboarded"]
    return figures


# ------------------------------------------------------------------------------ report
def _ms(values: Iterable[float]) -> str:
    return format(_median(values) * 1000, ".0f")


def report(
    repetitions: list[Figures], expected: Expected, args: argparse.Namespace, apis: int
) -> None:
    reps = len(repetitions)
    last = repetitions[-1]
    medians = f"median of {reps}" if reps > 1 else "one repetition"
    events = len(expected.deploys) * len(DEPLOY_BURST)
    print(f"\nfigures ({medians}; seconds unless said)")

    def pct(label: str, name: str) -> tuple[str, ...]:
        return (
            label,
            *(
                format(_median(f.percentile(name, share) for f in repetitions), ".2f")
                for share in (0.5, 0.95, 1.0)
            ),
        )

    print(
        "\nfrom an event's POST to its application updated (the new definition version of the "
        "changed stage written: its definition_changed change's occurred_at)"
    )
    _table(
        [
            ("", "p50", "p95", "max"),
            pct(f"every event ({events})", "event_to_updated"),
            pct(f"  less the debounce ({args.debounce:g} s)", "event_to_updated_less_debounce"),
            pct(f"the last event of each burst ({apis})", "last_to_updated"),
            pct("  less the debounce", "last_to_updated_less_debounce"),
            pct("every event, to its trigger finished (after the commit)", "event_to_finished"),
            pct("an API claimed after it was due (last event + debounce)", "claim_after_due"),
            pct("a sync (claim to result written)", "sync"),
        ]
    )
    print("\nthe ingest endpoint (POST /aws/events/{connection_id}, one event each)")
    _table(
        [
            ("", "p50 (ms)", "p95 (ms)", "max (ms)"),
            (
                "answer (202)",
                *(_ms(f.percentile("post", s) for f in repetitions) for s in (0.5, 0.95, 1.0)),
            ),
            (
                "sent after its planned time",
                *(_ms(f.percentile("late", s) for f in repetitions) for s in (0.5, 0.95, 1.0)),
            ),
            (
                "a poll of the worker (release, claim)",
                *(_ms(f.percentile("poll", s) for f in repetitions) for s in (0.5, 0.95, 1.0)),
            ),
        ]
    )

    def row(label: str, value: Callable[[Figures], float], fmt: str) -> tuple[str, ...]:
        values = [value(f) for f in repetitions]
        each = " / ".join(format(v, fmt) for v in values) if reps > 1 else ""
        return (label, format(_median(values), fmt), each)

    per_api = expected.calls.total() / max(1, len(expected.deploys))
    print()
    _table(
        [
            ("", "median", "each repetition" if reps > 1 else ""),
            row("set-up: run 1 onboarding every API (s)", lambda f: f.setup_wall, ".2f"),
            row("event phase wall time (s)", lambda f: f.wall, ".2f"),
            row("  posting the events (s)", lambda f: f.send_wall, ".2f"),
            row("events posted", lambda f: len(f.posted), ".0f"),
            row("  answered 202", lambda f: sum(p.status == 202 for p in f.posted), ".0f"),
            row("triggers", lambda f: len(f.triggers), ".0f"),
            row("  done", lambda f: sum(t.status == ingest.DONE for t in f.triggers), ".0f"),
            row(
                "  failed or dropped",
                lambda f: sum(t.status in (ingest.FAILED, ingest.DROPPED) for t in f.triggers),
                ".0f",
            ),
            row(
                "  pending or processing at the end",
                lambda f: sum(t.status in (ingest.PENDING, ingest.PROCESSING) for t in f.triggers),
                ".0f",
            ),
            row("syncs (claims)", lambda f: len(f.syncs), ".0f"),
            row("  triggers per sync", lambda f: len(f.triggers) / max(1, len(f.syncs)), ".2f"),
            row("  every worker thread busy (s)", lambda f: f.all_busy, ".2f"),
            row("polls of the worker", lambda f: len(f.polls), ".0f"),
            row("AWS calls", lambda f: f.calls.total(), ".0f"),
            row("  per event", lambda f: f.calls.total() / max(1, len(f.posted)), ".2f"),
            row("  per API", lambda f: f.calls.total() / max(1, len(expected.deploys)), ".2f"),
            ("  per API planned (describe + re-read the stage)", f"{per_api:.2f}", ""),
            row(
                "  custom-domain reads",
                lambda f: sum(n for op, n in f.calls.items() if op in DOMAIN_OPERATIONS),
                ".0f",
            ),
            row("throttled (429)", lambda f: f.throttled, ".0f"),
            row("CPU, this process (s)", lambda f: f.cpu, ".2f"),
            row("  per event (ms)", lambda f: f.cpu / max(1, len(f.posted)) * 1000, ".2f"),
            row("endpoint CPU (s)", lambda f: f.endpoint_cpu, ".2f"),
            row("peak RSS (MB)", lambda f: f.peak_rss_mb, ".0f"),
            row("DB checkouts", lambda f: f.checkouts.count, ".0f"),
            row("  longest (ms)", lambda f: f.checkouts.longest * 1000, ".1f"),
            row("  held in total (s)", lambda f: f.checkouts.total, ".2f"),
        ]
    )
    print(
        f"\nAWS calls of the event phase by operation (median), and the plan: describing each "
        f"API (describe_api) and re-reading its changed stage (plan_of of that stage, as "
        f"bench.auto_onboard plans run 3); {expected.with_domains} of the APIs have a "
        f"custom-domain URL in AWS, {last.domain_instances} applications a custom-domain "
        "instance: a sync reads the domains again only for those, or after a domain event "
        "(not planned here)"
    )
    operations = sorted({op for f in repetitions for op in f.calls} | set(expected.calls))
    _table(
        [
            ("", "made", "per API", "planned", "plan: describe", "plan: re-read"),
            *(
                (
                    op,
                    format(_median(f.calls[op] for f in repetitions), ".0f"),
                    format(
                        _median(f.calls[op] for f in repetitions) / len(expected.deploys), ".2f"
                    ),
                    str(expected.calls[op]),
                    str(expected.describe[op]),
                    str(expected.reread[op]),
                )
                for op in operations
            ),
            (
                "total",
                format(_median(f.calls.total() for f in repetitions), ".0f"),
                format(
                    _median(f.calls.total() for f in repetitions) / len(expected.deploys), ".2f"
                ),
                str(expected.calls.total()),
                str(expected.describe.total()),
                str(expected.reread.total()),
            ),
        ]
    )
    if last.answers:
        print(f"  answers other than 200 (last repetition): {json.dumps(last.answers)}")
    outcomes = Counter(f"{t.status}/{t.outcome or t.reason_code}" for t in last.triggers)
    print(f"\ntriggers by status/outcome (last repetition): {json.dumps(dict(outcomes))}")
    per_sync = Counter(s.triggers for s in last.syncs)
    print(f"  syncs by triggers claimed together: {json.dumps(dict(sorted(per_sync.items())))}")
    sync = _median(last.latencies["sync"] or [0.0])
    threads_bound = len(last.syncs) * sync / args.threads
    print(
        f"  the syncs' own floor: {len(last.syncs)} syncs x median {sync:.2f} s "
        f"/ {args.threads} threads = {threads_bound:.1f} s (bursts arrive over "
        f"{apis / args.per_second + BURST_SECONDS[1]:.1f} s); an API is updated no sooner "
        f"than the debounce and one sync after its last event: {args.debounce + sync:.2f} s"
    )
    held = ", ".join(
        f"{taker.rsplit(':', 1)[-1]} {seconds:.2f} s"
        for taker, seconds in sorted(last.checkouts.by_taker.items(), key=lambda i: -i[1])[:6]
    )
    print(
        f"  DB held by (last repetition): {held}; (outside app/) is this benchmark's own "
        "check, every 0.25 s, that the triggers are finished"
    )
    print(
        f"  longest DB checkout {last.checkouts.longest * 1000:.1f} ms by "
        f"{last.checkouts.longest_by}"
    )
    if last.logged:
        print("  app logged (WARNING and above, last repetition):")
        for line, count in last.logged.most_common(8):
            print(f"    {count} x {line[:200]}")


def problems_of(
    repetitions: list[Figures], expected: Expected, args: argparse.Namespace, apis: int
) -> list[str]:
    problems: list[str] = []
    events = len(expected.deploys) * len(DEPLOY_BURST)
    for rep, f in enumerate(repetitions, start=1):
        where = f"repetition {rep}"
        if f.setup_onboarded != apis:
            problems.append(f"{where}: the set-up run onboarded {f.setup_onboarded} of {apis}")
        if f.timed_out:
            problems.append(f"{where}: not every trigger finished within {args.timeout:g} s")
        refused = [
            p
            for p in f.posted
            if p.status != 202 or json.loads(p.answer) != {"accepted": 1, "ignored": 0}
        ]
        if len(f.posted) != events or refused:
            problems.append(
                f"{where}: {len(f.posted)} of {events} events posted, {len(refused)} not "
                f"accepted, e.g. {[(p.status, p.answer[:200]) for p in refused[:2]]}"
            )
        statuses = Counter(t.status for t in f.triggers)
        if len(f.triggers) != events or statuses[ingest.DONE] != events:
            problems.append(
                f"{where}: {len(f.triggers)} triggers of {events} events, by status "
                f"{json.dumps(dict(statuses))}"
            )
        bad = Counter(f"{t.status} {t.reason_code}" for t in f.triggers if t.status != ingest.DONE)
        if bad:
            problems.append(f"{where}: triggers not done: {json.dumps(dict(bad))}")
        if args.debounce > BURST_SECONDS[1] and len(f.syncs) != len(expected.deploys):
            problems.append(
                f"{where}: {len(f.syncs)} syncs for {len(expected.deploys)} APIs (one each "
                f"expected: every burst is shorter than the debounce)"
            )
        wrong: list[str] = []
        for deploy in expected.deploys:
            versions = f.new_versions.get(deploy.key, [])
            changes = f.updated.get(deploy.key, [])
            want = {
                "stage": deploy.stage,
                "version": 2,
                "current": True,
                "deployment_id": deploy.deployment_id,
                "operations": expected.operations[deploy.key],
            }
            if versions != [want] or len(changes) != 1:
                wrong.append(
                    f"{deploy.key[2]} {deploy.stage}: new versions {versions}, "
                    f"{len(changes)} definition_changed changes (want {want})"
                )
        if wrong:
            problems.append(
                f"{where}: {len(wrong)} of {len(expected.deploys)} applications did not get "
                f"exactly one new definition version, e.g. {wrong[:2]}"
            )
    return problems


def _talk_to(endpoint: SimulatedEndpoint) -> None:
    """botocore, in the service, asks the simulated endpoint with the platform's own keys."""
    for unwanted in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(unwanted, None)
    os.environ |= {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": PLATFORM_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": PLATFORM_SECRET_ACCESS_KEY,
        "AWS_ENDPOINT_URL": endpoint.url,
    }


def _default(setting: str) -> Any:
    """The service's own default of a setting (ONBOARDER_<SETTING>)."""
    return Settings.model_fields[setting].default


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--accounts", type=int, default=38)
    parser.add_argument("--regions", type=int, default=16)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per AWS answer")
    parser.add_argument("--in-flight", type=int, default=_default("aws_max_concurrency"))
    parser.add_argument("--debounce", type=float, default=DEBOUNCE, help="seconds")
    parser.add_argument("--poll", type=float, default=_default("ingest_poll_seconds"))
    parser.add_argument("--threads", type=int, default=_default("ingest_threads"))
    parser.add_argument("--per-second", type=float, default=PER_SECOND, help="bursts a second")
    parser.add_argument("--senders", type=int, default=SENDERS, help="threads posting events")
    parser.add_argument("--timeout", type=float, default=300.0, help="for every trigger (s)")
    parser.add_argument("--repeat", type=int, default=1, help="fresh databases; medians shown")
    args = parser.parse_args()

    org = build_organization(args.accounts, args.regions, seed=args.seed)
    apis = expected_of(org).apis
    expected = expected_of_changes(org, args.seed)
    max_delay = _default("ingest_max_delay_seconds")
    print(
        f"organization: {args.accounts} accounts x {args.regions} regions, {apis} APIs "
        f"(at most {max(len(v) for v in org.apis.values())} in one account-region); latency "
        f"{args.latency * 1000:.0f} ms; quota {QUOTA_RATE:.0f}/s burst {QUOTA_BURST:.0f} per "
        f"account-region; {os.cpu_count()} CPUs; SQLite"
    )
    print(
        f"events: {len(expected.deploys) * len(DEPLOY_BURST)} = {len(expected.deploys)} APIs x "
        f"{len(DEPLOY_BURST)} ({', '.join(DEPLOY_BURST)}), one per POST over TestClient from "
        f"{args.senders} threads; {args.per_second:g} APIs' bursts start each second, each "
        f"burst spread over {BURST_SECONDS[0]:g}-{BURST_SECONDS[1]:g} s"
    )
    print(
        f"worker: TriggerWorker in this process, debounce {args.debounce:g} s, max delay "
        f"{max_delay:g} s, poll {args.poll:g} s, {args.threads} threads"
    )
    with SimulatedEndpoint(
        latency=args.latency, accounts=args.accounts, regions=args.regions, seed=args.seed
    ) as endpoint:
        _talk_to(endpoint)
        repetitions: list[Figures] = []
        for index in range(args.repeat):
            figures = one_repetition(org, endpoint, expected, args)
            print(
                f"repetition {index + 1}: set-up run {figures.setup_wall:.2f} s "
                f"({figures.setup_onboarded} onboarded); event phase {figures.wall:.2f} s, "
                f"{len(figures.syncs)} syncs, event to updated p50 "
                f"{figures.percentile('event_to_updated', 0.5):.2f} s p95 "
                f"{figures.percentile('event_to_updated', 0.95):.2f} s",
                flush=True,
            )
            repetitions.append(figures)
    report(repetitions, expected, args, apis)
    problems = problems_of(repetitions, expected, args, apis)
    if problems:
        print("\nNOT AS EXPECTED:")
        for problem in problems:
            print(f"  {problem}")
        raise SystemExit(1)
    print(
        "\ncheck: every event accepted (202) and recorded; every trigger done, none failed or "
        "dropped; one sync per API; every application has exactly one new definition version, "
        "of its changed stage's new deployment, with its operations"
    )


if __name__ == "__main__":
    main()

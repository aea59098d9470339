"""The scheduler's work: claim due occurrences, claim and execute runs, fail dead runs.

Every function here is safe to call from any number of scheduler processes at once; the
database decides, never one process's memory:

- An occurrence is claimed by inserting its run, unique per connection and wall-clock
  occurrence, in the transaction that moves the schedule's `next_run_at` on (the schedule row
  is locked first on PostgreSQL, so a second process skips it rather than waiting).
- A queued run is taken by one `UPDATE ... WHERE status = 'queued'`: one process gets the row.
- A running run's process writes a heartbeat; a run whose heartbeat is older than the timeout
  is failed by whichever process notices, so a dead process never blocks its connection.
- A run's end (its result, its interruption, its abandonment) is an `UPDATE ... WHERE status =
  'running'`: the first to land is final. The one exception is a run taken for abandoned while
  the database did not answer its living process, which then records what really happened.

Executing a run never holds a transaction open while AWS answers: discovery runs first with
no session, each API is inspected in AWS with no session, and only its write is a short
transaction of its own.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, lazyload

from app.applications import service as applications
from app.connections.service import partition_of
from app.core.config import Settings
from app.core.db import Database, database_unreachable, describe_unreachable
from app.core.errors import ConflictError, DomainError
from app.core.security import SecretBox
from app.discovery.service import DiscoveryTarget, target_of
from app.integrations.aws.apigateway import DiscoveredApi
from app.integrations.aws.credentials import CentralRoleCredentials, ProbeContext
from app.integrations.aws.discovery import (
    DiscoveryEngine,
    DiscoveryResult,
    apigateway_regions,
)
from app.integrations.aws.errors import AwsError, AwsFailure
from app.integrations.aws.organizations import OrganizationalUnits
from app.integrations.aws.sessions import AwsSession
from app.lifecycle import jobs
from app.lifecycle import service as lifecycle
from app.models import Application, AutoOnboardRun, AutoOnboardSchedule, Connection, Tenant
from app.models.base import utcnow
from app.schedules.schemas import APPROVAL_COUNTERS, LIFECYCLE_COUNTERS, RUN_COUNTERS
from app.schedules.service import (
    cadence_of,
    fail_stale_runs_in,
    failed_values,
    finished,
    run_settings,
)
from app.schedules.timing import latest_occurrence, next_occurrence
from app.scope import candidates
from app.scope.service import EXCLUDED_BY_SCOPE, Scope

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
ApiKey = tuple[str, str, str]

# Enough to say what went wrong without storing a novel per run.
MAX_LISTED = 1000
# How long a run's thread keeps trying to write its result, with back-off, while the
# database does not answer; the scheduler then holds the result and tries at every poll.
RESULT_WRITE_PATIENCE_SECONDS = 30.0
_FIRST_RETRY_SECONDS = 0.2
_LONGEST_RETRY_SECONDS = 5.0
# Applications read per query when a run checks which discovered APIs are onboarded.
_KEYS_PER_QUERY = 500


@dataclass(frozen=True)
class RunServices:
    """What executing a run needs besides the database: AWS access and the service's limits."""

    engine: DiscoveryEngine
    box: SecretBox
    settings: Settings

    def onboarding(self, tenant: Tenant) -> applications.Services:
        return applications.Services(
            engine=self.engine,
            box=self.box,
            context=ProbeContext(
                platform=AwsSession.platform,
                tenant_external_id=tenant.external_id,
                max_workers=self.settings.aws_max_concurrency,
                platform_principal_arn=self.settings.platform_principal_arn,
                # No one waits on a run: patient SDK limits, each account-region bounded.
                region_seconds=self.settings.aws_run_region_deadline_seconds,
            ),
            max_definition_bytes=self.settings.max_definition_bytes,
        )


# ------------------------------------------------------------------------------ claiming
def occurrence_key(timezone: str, local: datetime) -> str:
    """What identifies an occurrence: its wall-clock time in its zone (once across DST)."""
    return f"{timezone} {local.isoformat(timespec='minutes')}"


def claim_due_occurrences(
    database: Database, *, now: datetime, limit: int = 100
) -> list[uuid.UUID]:
    """Queue one run for each schedule that is due: its latest occurrence, once.

    Occurrences missed while no scheduler ran are not caught up one by one: only the latest
    (which is within one period of now) runs, and the schedule moves on to the next one.
    """
    with database.session() as session:
        due = list(
            session.scalars(
                select(AutoOnboardSchedule.id)
                .where(AutoOnboardSchedule.next_run_at <= now)
                .order_by(AutoOnboardSchedule.next_run_at)
                .limit(limit)
            )
        )
    claimed = []
    for schedule_id in due:
        run_id = _claim(database, schedule_id, now)
        if run_id is not None:
            claimed.append(run_id)
    return claimed


def _claim(database: Database, schedule_id: uuid.UUID, now: datetime) -> uuid.UUID | None:
    with database.sessionmaker() as session:
        try:
            return _claim_in(session, schedule_id, now)
        except (IntegrityError, OperationalError):
            # Another process claimed the occurrence first (unique key), or SQLite refused a
            # second writer; either way this process has nothing to do for it.
            session.rollback()
            return None


def _claim_in(session: Session, schedule_id: uuid.UUID, now: datetime) -> uuid.UUID | None:
    schedule = session.scalars(
        select(AutoOnboardSchedule)
        .where(AutoOnboardSchedule.id == schedule_id)
        .with_for_update(skip_locked=True)
    ).one_or_none()
    if schedule is None or schedule.next_run_at > now:
        session.rollback()
        return None  # disabled, moved on by another process, or locked by one right now
    cadence = cadence_of(schedule)
    occurrence = latest_occurrence(cadence, now)
    if occurrence is None or occurrence.at < schedule.next_run_at:
        # The schedule was changed to a later time than its last occurrence: nothing is due.
        schedule.next_run_at = next_occurrence(cadence, now).at
        session.commit()
        return None
    busy = session.scalars(
        select(AutoOnboardRun.id).where(
            AutoOnboardRun.connection_id == schedule.connection_id,
            AutoOnboardRun.status.in_(("queued", "running")),
        )
    ).first()
    if busy is not None:
        # One run at a time per connection: the occurrence stays due and runs when it ends.
        session.rollback()
        return None
    run = AutoOnboardRun(
        tenant_id=schedule.tenant_id,
        connection_id=schedule.connection_id,
        trigger="scheduled",
        occurrence=occurrence_key(schedule.timezone, occurrence.local),
        scheduled_for=occurrence.at,
        status="queued",
        created_at=now,
        **run_settings(schedule),
    )
    session.add(run)
    schedule.next_run_at = next_occurrence(cadence, occurrence.at).at
    session.commit()
    logger.info(
        "auto-onboard occurrence claimed",
        extra={
            "connection_id": str(schedule.connection_id),
            "run_id": str(run.id),
            "scheduled_for": occurrence.at.isoformat(),
        },
    )
    return run.id


def claim_queued_run(database: Database, *, worker: str, now: datetime) -> uuid.UUID | None:
    """Take the oldest queued run for this worker; None when there is none left."""
    with database.session() as session:
        candidates = list(
            session.scalars(
                select(AutoOnboardRun.id)
                .where(AutoOnboardRun.status == "queued")
                .order_by(AutoOnboardRun.created_at, AutoOnboardRun.id)
                .limit(20)
            )
        )
    for run_id in candidates:
        with database.session() as session:
            taken = session.execute(
                update(AutoOnboardRun)
                .where(AutoOnboardRun.id == run_id, AutoOnboardRun.status == "queued")
                .values(status="running", worker=worker, started_at=now, heartbeat_at=now)
            )
            if getattr(taken, "rowcount", 0) == 1:
                return run_id
    return None


def heartbeat(database: Database, *, run_ids: list[uuid.UUID], worker: str, now: datetime) -> None:
    if not run_ids:
        return
    with database.session() as session:
        session.execute(
            update(AutoOnboardRun)
            .where(
                AutoOnboardRun.id.in_(run_ids),
                AutoOnboardRun.worker == worker,
                AutoOnboardRun.status == "running",
            )
            .values(heartbeat_at=now)
        )


def fail_stale_runs(
    database: Database,
    *,
    now: datetime,
    timeout: timedelta,
    connection_id: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """Fail running runs whose process has not been heard of within `timeout`."""
    with database.session() as session:
        return fail_stale_runs_in(session, now=now, timeout=timeout, connection_id=connection_id)


def interrupt(database: Database, *, run_ids: list[uuid.UUID], worker: str, now: datetime) -> int:
    """Fail this worker's runs when its process stops before they end, in one statement.

    Only runs still running: one whose result landed first keeps it. And an interrupted run is
    final: its own result, arriving later, finds it no longer running and changes nothing.
    """
    if not run_ids:
        return 0
    values = failed_values(
        now=now,
        code="run_interrupted",
        message="The scheduler process stopped before the run ended.",
        hint="Run it again (POST .../auto-onboard/runs), or wait for the next occurrence.",
    )
    with database.session() as session:
        interrupted = list(
            session.scalars(
                update(AutoOnboardRun)
                .where(
                    AutoOnboardRun.id.in_(run_ids),
                    AutoOnboardRun.worker == worker,
                    AutoOnboardRun.status == "running",
                )
                .values(heartbeat_at=now, **values)
                .returning(AutoOnboardRun.id)
                .execution_options(synchronize_session=False)
            )
        )
        finished(session, interrupted)
    return len(interrupted)


# ------------------------------------------------------------------------------ executing
@dataclass
class _Tally:
    """What a run found and did, per account and region, as it goes."""

    results: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    totals: Counter[str] = field(default_factory=Counter)
    errors: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    application_ids: list[str] = field(default_factory=list)
    excluded_accounts: list[dict[str, Any]] = field(default_factory=list)
    failures: int = 0  # account, region or API failures

    def result(self, account_id: str, region: str, status: str = "ok") -> dict[str, Any]:
        key = (account_id, region)
        if key not in self.results:
            self.results[key] = {"account_id": account_id, "region": region, "status": status}
        return self.results[key]

    def count(self, api: DiscoveredApi, what: str, amount: int = 1) -> None:
        self.bump(api.account_id, api.region, what, amount)

    def bump(self, account_id: str, region: str, what: str, amount: int = 1) -> None:
        entry = self.result(account_id, region)
        entry[what] = entry.get(what, 0) + amount
        self.totals[what] += amount

    def error(
        self,
        failure: AwsFailure | None,
        *,
        account_id: str | None,
        region: str | None,
        api_id: str | None = None,
        code: str | None = None,
        message: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.failures += 1
        if len(self.errors) < MAX_LISTED:
            self.errors.append(
                {
                    "account_id": account_id,
                    "region": region,
                    "api_id": api_id,
                    "code": failure.code if failure else code,
                    "message": failure.message if failure else message,
                    "hint": failure.hint if failure else hint,
                }
            )

    def skip(self, api: DiscoveredApi, reason: str, what: str) -> None:
        self.count(api, what)
        if len(self.skipped) < MAX_LISTED:
            self.skipped.append(
                {
                    "account_id": api.account_id,
                    "region": api.region,
                    "api_id": api.api_id,
                    "name": api.name,
                    "reason": reason,
                }
            )

    def changed(self, application_id: uuid.UUID) -> None:
        if str(application_id) not in self.application_ids:
            self.application_ids.append(str(application_id))


@dataclass(frozen=True)
class _Work:
    """What a run reads of the database before it talks to AWS."""

    run_id: uuid.UUID | None  # None: a change event's targeted sync
    tenant: Tenant
    target: DiscoveryTarget
    regions: list[str]
    regions_chosen: bool
    scope: str
    published_after: date | None
    timezone: str
    # The schedule's scope: accounts, OUs, regions left out, tags (app/scope).
    rules: Scope = field(default_factory=Scope)


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended, as its row will hold it: what is written when it finishes."""

    run_id: uuid.UUID
    worker: str
    status: str
    finished_at: datetime
    counters: dict[str, int]
    errors: list[dict[str, Any]]
    skipped: list[dict[str, Any]]
    results: list[dict[str, Any]]
    application_ids: list[str]
    failures: int
    excluded_accounts: list[dict[str, Any]] = field(default_factory=list)

    def values(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "finished_at": self.finished_at,
            "heartbeat_at": self.finished_at,
            **self.counters,
            "errors": self.errors,
            "skipped": self.skipped,
            "results": self.results,
            "application_ids": self.application_ids,
            "excluded_accounts": self.excluded_accounts,
        }

    def unstorable(self) -> RunOutcome:
        """What is written instead when the database refuses this outcome itself."""
        error = {
            "account_id": None,
            "region": None,
            "code": "internal_error",
            "message": f"The run ended ({self.status}) but its result could not be stored.",
            "hint": "Run it again; if it persists, report it with the run id.",
        }
        return RunOutcome(
            run_id=self.run_id,
            worker=self.worker,
            status="failed",
            finished_at=self.finished_at,
            counters=dict.fromkeys(self.counters, 0),
            errors=[error],
            skipped=[],
            results=[],
            application_ids=[],
            failures=self.failures,
        )


class ResultNotRecorded(Exception):
    """A run ended but the database did not take its result within the patience given."""

    def __init__(self, outcome: RunOutcome) -> None:
        super().__init__(f"the result of run {outcome.run_id} is not recorded yet")
        self.outcome = outcome


def execute(
    database: Database,
    services: RunServices,
    run_id: uuid.UUID,
    *,
    worker: str,
    clock: Clock = utcnow,
    give_up: threading.Event | None = None,
) -> str:
    """Execute a claimed run to its end and record what it did; returns its final status.

    The result is written with back-off for `RESULT_WRITE_PATIENCE_SECONDS` while the database
    does not answer (less once `give_up` is set); then `ResultNotRecorded` hands it to the
    caller, which keeps it and calls `record` again later.
    """
    tally = _Tally()
    try:
        work = _read_work(database, services, run_id)
        if work is None:
            return "failed"
        status = _perform(database, services, work, tally)
    except Exception as exc:
        if database_unreachable(exc):
            logger.warning(
                "auto-onboard run stopped: the database is unreachable (%s)",
                describe_unreachable(exc),
                extra={"run_id": str(run_id)},
            )
            tally.error(
                None,
                account_id=None,
                region=None,
                code="database_unavailable",
                message="The database stopped answering during the run; what the run onboarded "
                "until then is kept.",
                hint="The next run onboards the rest.",
            )
        else:
            logger.exception("auto-onboard run failed unexpectedly", extra={"run_id": str(run_id)})
            tally.error(
                None,
                account_id=None,
                region=None,
                code="internal_error",
                message="The run stopped on an unexpected error.",
                hint="Run it again; if it persists, report it with the run id.",
            )
        status = "failed"
    outcome = _outcome(run_id, worker=worker, status=status, tally=tally, now=clock())
    _record_patiently(database, outcome, give_up=give_up or threading.Event())
    return status


def _record_patiently(database: Database, outcome: RunOutcome, *, give_up: threading.Event) -> None:
    deadline = time.monotonic() + RESULT_WRITE_PATIENCE_SECONDS
    delay = _FIRST_RETRY_SECONDS
    for attempt in itertools.count():
        try:
            record(database, outcome)
            return
        except Exception as exc:
            if not database_unreachable(exc):
                raise
            if attempt == 0:
                logger.warning(
                    "auto-onboard run ended but the database is unreachable (%s); "
                    "its result is written when it answers",
                    describe_unreachable(exc),
                    extra={"run_id": str(outcome.run_id), "status": outcome.status},
                )
            if time.monotonic() + delay > deadline or give_up.wait(delay):
                raise ResultNotRecorded(outcome) from exc
        delay = min(delay * 2, _LONGEST_RETRY_SECONDS)


def record(database: Database, outcome: RunOutcome) -> bool:
    """Write how a run ended; False when it is no longer this worker's to write.

    Raises what the database raised when it did not answer (`database_unreachable`): try again
    later. A result the database refuses for itself is replaced by an internal_error.
    """
    try:
        written = _write(database, outcome)
    except Exception as exc:
        if database_unreachable(exc):
            raise
        logger.exception(
            "auto-onboard run result could not be stored", extra={"run_id": str(outcome.run_id)}
        )
        outcome = outcome.unstorable()
        written = _write(database, outcome)
    if written:
        logger.info(
            "auto-onboard run finished",
            extra={
                "run_id": str(outcome.run_id),
                "status": outcome.status,
                "discovered": outcome.counters["discovered"],
                "onboarded": outcome.counters["onboarded"],
                "instances_added": outcome.counters["instances_added"],
                "failures": outcome.failures,
            },
        )
    else:
        logger.info(
            "auto-onboard run result dropped: the run had already ended",
            extra={"run_id": str(outcome.run_id), "status": outcome.status},
        )
    return written


def _write(database: Database, outcome: RunOutcome) -> bool:
    ours = (AutoOnboardRun.id == outcome.run_id, AutoOnboardRun.worker == outcome.worker)
    with database.session() as session:
        # Only a run still running and still this worker's: one interrupted when its process
        # stopped, taken for dead and given to another, or deleted with its connection stays.
        written = session.execute(
            update(AutoOnboardRun)
            .where(*ours, AutoOnboardRun.status == "running")
            .values(outcome.values())
            .execution_options(synchronize_session=False)
        )
        if getattr(written, "rowcount", 0) == 1:
            finished(session, [outcome.run_id])
            return True
        # Taken for abandoned while the database did not answer (its heartbeat could not be
        # written either): the process was alive and knows what happened, so that is recorded.
        run = session.execute(
            select(AutoOnboardRun.status, AutoOnboardRun.finished_at, AutoOnboardRun.errors).where(
                *ours
            )
        ).one_or_none()
        if run is None or run.status != "failed" or not _abandoned(run.errors):
            return False
        corrected = session.execute(
            update(AutoOnboardRun)
            .where(
                *ours,
                AutoOnboardRun.status == "failed",
                AutoOnboardRun.finished_at == run.finished_at,
            )
            .values(outcome.values())
            .execution_options(synchronize_session=False)
        )
        if getattr(corrected, "rowcount", 0) != 1:
            return False
        finished(session, [outcome.run_id], replaces_abandoned=True)
    logger.info(
        "auto-onboard run result replaces run_abandoned: its process was alive",
        extra={"run_id": str(outcome.run_id)},
    )
    return True


def _abandoned(errors: list[dict[str, Any]]) -> bool:
    return bool(errors) and errors[-1].get("code") == "run_abandoned"


def _read_work(database: Database, services: RunServices, run_id: uuid.UUID) -> _Work | None:
    with database.session() as session:
        run = session.get(AutoOnboardRun, run_id)
        if run is None:
            return None  # its connection was deleted meanwhile
        connection = session.get(Connection, run.connection_id)
        tenant = session.get(Tenant, run.tenant_id)
        assert connection is not None
        assert tenant is not None
        onboarding = services.onboarding(tenant)
        target = target_of(connection, services.box, onboarding.context)
        rules = Scope.of(run)
        regions = list(run.regions) or list(apigateway_regions(partition_of(connection)))
        return _Work(
            rules=rules,
            run_id=run.id,
            tenant=tenant,
            target=target,
            regions=rules.regions(regions),
            regions_chosen=bool(run.regions),
            scope=run.scope,
            published_after=run.published_after,
            timezone=run.timezone,
        )


def _perform(database: Database, services: RunServices, work: _Work, tally: _Tally) -> str:
    target, rules = work.target, work.rules
    units = OrganizationalUnits()
    try:
        if rules.organizational_units:
            units = services.engine.organizational_units(
                target.spec, target.context, rules.organizational_units
            )
            for failure in units.failures.values():
                tally.error(failure, account_id=None, region=None)
            if any(ou_id in units.failures for ou_id in rules.ous_exclude):
                # Which accounts to leave out is unknown: onboarding nothing is the safe side.
                return "failed"
        found = services.engine.discover(
            target.spec,
            target.context,
            regions=work.regions,
            sizes=_known_sizes(database, work.tenant.id),
            account_out_of_scope=lambda account_id: rules.account_reason(account_id, units),
            api_out_of_scope=rules.api_reason,
        )
    except AwsError as exc:
        tally.error(exc.failure, account_id=None, region=None)
        return "failed"
    _record_discovery(found, work, tally)
    for account, reason in found.excluded:
        tally.excluded_accounts.append(
            {"account_id": account.account_id, "name": account.name, "reason": reason}
        )
    apis = []
    for api in found.apis:
        if api.excluded_by_scope:
            tally.skip(api, f"{EXCLUDED_BY_SCOPE}: {api.excluded_by_scope}", "skipped_out_of_scope")
        else:
            apis.append(api)
    onboarded = _onboarded(database, work.tenant.id, [api.key for api in apis])
    with database.session() as session:
        states = lifecycle.stored_states(session, [app.id for app in onboarded.values()])
    # A region whose custom domains could not all be read says nothing of domain URLs.
    domains_known = {(o.account_id, o.region): not o.problems for o in found.outcomes}
    to_onboard: list[jobs.Job] = []
    held: list[tuple[DiscoveredApi, dict[str, list[str]]]] = []
    unchanged: list[uuid.UUID] = []
    for api in apis:
        tally.count(api, "discovered")
        urls = jobs.stage_urls_of(api)
        application = onboarded.get(api.key)
        if application is not None:
            tally.count(api, "synced")
            job = jobs.sync_job(
                application,
                api,
                states.get(application.id, {}),
                domains_known=domains_known.get((api.account_id, api.region), True),
            )
            if job is None:
                unchanged.append(application.id)
                tally.count(api, "skipped_existing")
            else:
                to_onboard.append(job)
        elif not _in_scope(api, work):
            tally.count(api, "skipped_out_of_scope")
        elif not api.stages:
            tally.skip(api, "no deployed stage: deploy the API to a stage", "skipped_no_stage")
        elif not urls:
            tally.skip(
                api,
                "no stage URL: the default endpoint is disabled and no custom domain maps to "
                "a stage",
                "skipped_no_stage",
            )
        elif rules.approval:
            held.append((api, urls))
        else:
            to_onboard.append(jobs.Job(api, list(urls)))
    _hold(database, work, held, tally)
    _onboard_all(database, services, work, _interleaved(to_onboard), tally)
    _reconcile(database, work, found, unchanged, tally)
    if tally.failures == 0:
        return "succeeded"
    reached = any(result["status"] == "ok" for result in tally.results.values())
    return "partial" if reached else "failed"


def _hold(
    database: Database,
    work: _Work,
    held: list[tuple[DiscoveredApi, dict[str, list[str]]]],
    tally: _Tally,
) -> None:
    """Approval mode: new APIs become candidates (a dismissed one only once it changed)."""
    if not held:
        return
    now = utcnow()
    with database.session() as session:
        for api, urls in held:
            kept = candidates.hold(
                session,
                tenant_id=work.tenant.id,
                connection_id=work.target.connection_id,
                run_id=work.run_id,
                api=api,
                urls=urls,
                now=now,
            )
            if kept == candidates.HELD:
                tally.count(api, "held_for_approval")
            else:
                tally.skip(
                    api,
                    "dismissed: not offered again until its stages or deployments change",
                    "skipped_out_of_scope",
                )


def _known_sizes(database: Database, tenant_id: uuid.UUID) -> dict[tuple[str, str], int]:
    """How many APIs each account-region held at the last look (its applications): discovery
    lists the largest first."""
    with database.session() as session:
        rows = session.execute(
            select(Application.account_id, Application.region, func.count())
            .where(Application.tenant_id == tenant_id, Application.status != "retired")
            .group_by(Application.account_id, Application.region)
        )
        return {(row[0], row[1]): int(row[2]) for row in rows}


def _record_discovery(found: DiscoveryResult, work: _Work, tally: _Tally) -> None:
    for account in found.accounts:
        if account.reachable is False and account.error is not None:
            # The organization's management account (DescribeOrganization's, which is not the
            # central role's when that lives in a delegated administrator account).
            if account.management_account and account.error.code == "role_not_assumable":
                # Service-managed StackSets never deploy the child role to the management
                # account: how a standard organization is set up, not a failure of the run.
                for region in work.regions if work.regions_chosen else ["*"]:
                    tally.result(account.account_id, region, "unreachable")
                continue
            tally.error(account.error, account_id=account.account_id, region=None)
    for outcome in found.outcomes:
        if outcome.status == "ok":
            tally.result(outcome.account_id, outcome.region)
        elif outcome.status == "not_enabled":
            # Looking in every region finds the ones an account has not enabled: not a failure.
            if work.regions_chosen:
                tally.result(outcome.account_id, outcome.region, "not_enabled")
                tally.error(outcome.error, account_id=outcome.account_id, region=outcome.region)
        elif outcome.status == "denied_by_policy":
            # The organization denies the region (an SCP, Control Tower's region deny): its
            # intent, said in the results, not a failure of the run.
            tally.result(outcome.account_id, outcome.region, "denied_by_policy")
        else:
            tally.result(outcome.account_id, outcome.region, "failed")
            tally.error(outcome.error, account_id=outcome.account_id, region=outcome.region)
        for problem in outcome.problems:
            # A custom domain that could not be read: the region's APIs are listed.
            tally.error(problem, account_id=outcome.account_id, region=outcome.region)


def _in_scope(api: DiscoveredApi, work: _Work) -> bool:
    return jobs.published_in_scope(
        api, scope=work.scope, published_after=work.published_after, timezone=work.timezone
    )


def _chunks(items: list[ApiKey], size: int) -> Iterator[list[ApiKey]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _onboarded(
    database: Database, tenant_id: uuid.UUID, keys: list[ApiKey]
) -> dict[ApiKey, Application]:
    found: dict[ApiKey, Application] = {}
    for chunk in _chunks(list(dict.fromkeys(keys)), _KEYS_PER_QUERY):
        with database.session() as session:
            ids = applications.ids_by_api(session=session, tenant_id=tenant_id, keys=chunk)
            if not ids:
                continue
            rows = session.scalars(
                select(Application)
                .where(Application.id.in_(ids.values()))
                .options(lazyload(Application.definitions))  # only its instances are read
            )
            for row in rows:
                found[(row.account_id, row.region, row.api_id)] = row
    return found


def _interleaved(todo: list[jobs.Job]) -> list[jobs.Job]:
    """Round-robin over account and region: discovery lists an account-region's APIs together,
    and inspecting them in that order would queue every worker on one quota bucket (10/s)."""
    seen: Counter[tuple[str, str]] = Counter()
    ranked = []
    for job in todo:
        place = (job.api.account_id, job.api.region)
        ranked.append((seen[place], job))
        seen[place] += 1
    ranked.sort(key=lambda item: item[0])  # stable: discovery's order within each round
    return [job for _, job in ranked]


def _onboard_all(
    database: Database,
    services: RunServices,
    work: _Work,
    todo: list[jobs.Job],
    tally: _Tally,
) -> None:
    """Inspect the APIs in AWS concurrently (under discovery's quotas), write each alone."""
    if not todo:
        return
    onboarding = services.onboarding(work.tenant)
    workers = min(services.engine.max_in_flight, len(todo))
    with ThreadPoolExecutor(workers, thread_name_prefix="auto-onboard") as pool:
        pending: dict[Future[jobs.Inspected], jobs.Job] = {
            pool.submit(jobs.inspect, work.target, onboarding, job): job for job in todo
        }
        keep = services.settings.definition_versions_kept
        for future in as_completed(pending):
            # Dropped as soon as it is written: a definition can be megabytes.
            job = pending.pop(future)
            api = job.api
            try:
                written = jobs.write(
                    database,
                    work.target,
                    tenant_id=work.tenant.id,
                    job=job,
                    inspected=future.result(),
                    keep=keep,
                )
            except ConflictError as exc:
                if exc.code == "connection_deleted":
                    _api_failed(tally, api, exc)
                else:
                    tally.count(api, "skipped_existing")  # onboarded by hand meanwhile
                continue
            except DomainError as exc:
                _api_failed(tally, api, exc)
                continue
            if written.application_id is None:
                tally.count(api, "skipped_existing")
                continue
            _count_written(tally, api, job, written)


def _count_written(tally: _Tally, api: DiscoveredApi, job: jobs.Job, written: jobs.Written) -> None:
    application_id = written.application_id
    assert application_id is not None
    if job.application is None:
        tally.count(api, "onboarded")
        tally.changed(application_id)
        return
    synced = written.synced
    if written.instances_added:
        tally.count(api, "instances_added", written.instances_added)
    if synced is not None:
        if synced.definitions_changed:
            tally.count(api, "definitions_changed", synced.definitions_changed)
        if synced.restored:
            tally.count(api, "restored")
    if written.changed:
        tally.changed(application_id)
    else:
        tally.count(api, "skipped_existing")


def _reconcile(
    database: Database,
    work: _Work,
    found: DiscoveryResult,
    unchanged: list[uuid.UUID],
    tally: _Tally,
) -> None:
    """What the listing says without a word from AWS: when the unchanged applications were
    synced, which are gone (their account-region listed completely, their API not in it),
    and, for an organization, which accounts no connection reaches any more."""
    now = utcnow()
    reached = {(o.account_id, o.region) for o in found.outcomes if o.status == "ok"}
    listed = {api.key for api in found.apis}
    with database.session() as session:
        for start in range(0, len(unchanged), _KEYS_PER_QUERY):
            session.execute(
                update(Application)
                .where(Application.id.in_(unchanged[start : start + _KEYS_PER_QUERY]))
                .values(last_synced_at=now)
                .execution_options(synchronize_session=False)
            )
        retired = lifecycle.retire_unlisted(
            session, tenant_id=work.tenant.id, reached=reached, listed=listed, now=now
        )
        orphaned: list[lifecycle.Changed] = []
        if isinstance(work.target.spec, CentralRoleCredentials):
            orphaned = lifecycle.orphan_unreached(
                session,
                tenant_id=work.tenant.id,
                connection_id=work.target.connection_id,
                accounts=found.accounts,
                now=now,
            )
    for what, changed in (("retired", retired), ("orphaned", orphaned)):
        for application_id, account_id, region in changed:
            tally.bump(account_id, region, what)
            tally.changed(application_id)


def _api_failed(tally: _Tally, api: DiscoveredApi, exc: DomainError) -> None:
    tally.count(api, "failed")
    tally.error(
        None,
        account_id=api.account_id,
        region=api.region,
        api_id=api.api_id,
        code=exc.code,
        message=exc.detail,
        hint=exc.hint,
    )


def _outcome(
    run_id: uuid.UUID, *, worker: str, status: str, tally: _Tally, now: datetime
) -> RunOutcome:
    results = sorted(
        (
            entry
            for entry in tally.results.values()
            if entry["status"] != "ok" or entry.get("discovered", 0)
        ),
        key=lambda entry: (entry["account_id"], entry["region"]),
    )
    return RunOutcome(
        run_id=run_id,
        worker=worker,
        status=status,
        finished_at=now,
        counters={
            what: tally.totals[what]
            for what in (*RUN_COUNTERS, *LIFECYCLE_COUNTERS, *APPROVAL_COUNTERS)
        },
        # A running run has no errors of its own: they are all written here, when it ends.
        errors=tally.errors,
        skipped=tally.skipped,
        results=results[:MAX_LISTED],
        application_ids=tally.application_ids,
        failures=tally.failures,
        excluded_accounts=tally.excluded_accounts[:MAX_LISTED],
    )

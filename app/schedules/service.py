"""Auto-onboard schedules and runs as tenants see them: save, update, disable, run now, read.

The scheduler's side (claiming occurrences, executing runs) is in `app.schedules.runs`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.connections.service import partition_of
from app.core.errors import ConflictError, NotFoundError, ValidationFailedError
from app.core.pagination import paginate
from app.core.repository import TenantRepository
from app.discovery.service import check_region
from app.events import service as events
from app.models import AutoOnboardRun, AutoOnboardSchedule, Connection
from app.models.auto_onboard import ACTIVE_RUN_STATES
from app.models.base import utcnow
from app.schedules.schemas import (
    LIFECYCLE_COUNTERS,
    RUN_COUNTERS,
    ScheduleRead,
    ScheduleSummary,
    ScheduleWrite,
)
from app.schedules.timing import Cadence, next_occurrence
from app.scope.schemas import stored

logger = logging.getLogger(__name__)

# Types that reach one account: the regions to look in cannot be "all of them" by default,
# since a region the account never uses costs a request per listing on every run.
_REGIONS_REQUIRED = frozenset({"aws_user", "assume_role"})


class ScheduleRepository(TenantRepository[AutoOnboardSchedule]):
    model = AutoOnboardSchedule
    noun = "auto-onboard schedule"

    def of_connection(self, connection_id: uuid.UUID) -> AutoOnboardSchedule | None:
        statement = self.statement().where(AutoOnboardSchedule.connection_id == connection_id)
        found: AutoOnboardSchedule | None = self.session.scalars(statement).one_or_none()
        return found


class RunRepository(TenantRepository[AutoOnboardRun]):
    model = AutoOnboardRun
    noun = "auto-onboard run"

    def active(self, connection_id: uuid.UUID) -> AutoOnboardRun | None:
        statement = self.statement().where(
            AutoOnboardRun.connection_id == connection_id,
            AutoOnboardRun.status.in_(ACTIVE_RUN_STATES),
        )
        found: AutoOnboardRun | None = self.session.scalars(statement).first()
        return found


def cadence_of(schedule: AutoOnboardSchedule) -> Cadence:
    return Cadence(
        frequency=schedule.frequency,  # type: ignore[arg-type]
        hour=schedule.hour,
        minute=schedule.minute,
        timezone=schedule.timezone,
        day_of_week=schedule.day_of_week,
        day_of_month=schedule.day_of_month,
    )


def _validated_regions(connection: Connection, regions: list[str] | None) -> list[str]:
    if not regions:
        if connection.credential_type in _REGIONS_REQUIRED:
            raise ValidationFailedError(
                "regions",
                f"is required for a {connection.credential_type} connection: name the regions "
                "to look in",
                hint="GET /connections/{id}/regions lists them.",
            )
        return []
    partition = partition_of(connection)
    return [
        check_region(partition, region, field=f"regions[{index}]")
        for index, region in enumerate(regions)
    ]


def _validated_scope(
    connection: Connection, data: ScheduleWrite, regions: list[str]
) -> list[str] | None:
    """The scope's rules that depend on the connection; returns the regions left out."""
    organization = connection.credential_type == "central_role"
    for field in ("accounts", "organizational_units"):
        if getattr(data, field) is not None and not organization:
            raise ValidationFailedError(
                field,
                f"applies to central_role connections only; this one is "
                f"{connection.credential_type} and reaches one account",
            )
    if data.exclude_regions is None:
        return None
    partition = partition_of(connection)
    excluded = [
        check_region(partition, region, field=f"exclude_regions[{index}]")
        for index, region in enumerate(data.exclude_regions)
    ]
    if regions and not set(regions) - set(excluded):
        raise ValidationFailedError(
            "exclude_regions", "leaves none of the schedule's regions to look in"
        )
    return list(dict.fromkeys(excluded))


def save(
    *, session: Session, connection: Connection, data: ScheduleWrite, now: datetime | None = None
) -> AutoOnboardSchedule:
    """Create or replace the connection's schedule; its next run is computed from now."""
    regions = _validated_regions(connection, data.regions)
    exclude_regions = _validated_scope(connection, data, regions)
    now = now or utcnow()
    repository = ScheduleRepository(session, connection.tenant_id)
    schedule = repository.of_connection(connection.id)
    created = schedule is None
    if schedule is None:
        schedule = AutoOnboardSchedule(tenant_id=connection.tenant_id, connection_id=connection.id)
        session.add(schedule)
    schedule.frequency = data.frequency
    schedule.day_of_week = data.day_of_week
    schedule.day_of_month = data.day_of_month
    schedule.hour = data.hour
    schedule.minute = data.minute
    schedule.timezone = data.timezone
    schedule.regions = regions
    schedule.scope = data.scope
    schedule.published_after = data.published_after
    schedule.accounts = stored(data.accounts)
    schedule.organizational_units = stored(data.organizational_units)
    schedule.exclude_regions = exclude_regions
    schedule.tags = stored(data.tags)
    schedule.approval = data.approval
    schedule.next_run_at = next_occurrence(cadence_of(schedule), now).at
    schedule.updated_at = now
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        # Another request saved the first schedule of this connection at the same moment.
        raise ConflictError(
            "The connection's schedule was saved by another request at the same time.",
            hint="Read it with GET /connections/{id}/auto-onboard, then save again.",
        ) from None
    logger.info(
        "auto-onboard schedule saved",
        extra={
            "connection_id": str(connection.id),
            "schedule_created": created,
            "next_run_at": schedule.next_run_at.isoformat(),
        },
    )
    return schedule


def get(*, session: Session, connection: Connection) -> AutoOnboardSchedule:
    schedule = ScheduleRepository(session, connection.tenant_id).of_connection(connection.id)
    if schedule is None:
        raise NotFoundError(
            f"Auto-onboard is not enabled on connection {connection.id}.",
            hint="Enable it with PUT /connections/{id}/auto-onboard.",
        )
    return schedule


def disable(*, session: Session, connection: Connection) -> None:
    """Delete the schedule. Its runs stay, and a run under way finishes."""
    schedule = get(session=session, connection=connection)
    session.delete(schedule)
    session.flush()
    logger.info("auto-onboard schedule disabled", extra={"connection_id": str(connection.id)})


def request_run(
    *, session: Session, connection: Connection, stale_after: timedelta, now: datetime | None = None
) -> AutoOnboardRun:
    """Queue a run now, with the schedule's regions and scope; 409 while one is under way.

    A run whose process died is failed here first, so it never blocks the connection.
    """
    schedule = get(session=session, connection=connection)
    fail_stale_runs_in(
        session, now=now or utcnow(), timeout=stale_after, connection_id=connection.id
    )
    run = AutoOnboardRun(
        tenant_id=connection.tenant_id,
        connection_id=connection.id,
        trigger="manual",
        status="queued",
        **run_settings(schedule),
    )
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:
        active = RunRepository(session, connection.tenant_id).active(connection.id)
        if active is None:
            raise
        raise ConflictError(
            f"Run {active.id} of this connection is {active.status}; one run at a time.",
            code="run_in_progress",
            hint=f"Follow it with GET /connections/{{id}}/auto-onboard/runs/{active.id}.",
            extra={"run_id": str(active.id)},
        ) from None
    logger.info(
        "auto-onboard run requested",
        extra={"connection_id": str(connection.id), "run_id": str(run.id)},
    )
    return run


def failed_values(*, now: datetime, code: str, message: str, hint: str) -> dict[str, object]:
    """What a run that failed for a reason outside AWS (its process died or stopped) becomes.

    Written by a conditional UPDATE on a run still `running`: a running run has no errors yet
    (a run's errors are written when it ends), so this one is its only error.
    """
    error = {"account_id": None, "region": None, "code": code, "message": message, "hint": hint}
    return {"status": "failed", "finished_at": now, "errors": [error]}


def finished(
    session: Session, run_ids: list[uuid.UUID], *, replaces_abandoned: bool = False
) -> None:
    """A `run.finished` event for each run just ended, in the transaction that ended it."""
    if not run_ids:
        return
    for run in session.scalars(select(AutoOnboardRun).where(AutoOnboardRun.id.in_(run_ids))):
        session.refresh(run)  # the UPDATE that ended it went around the session
        events.emit(
            session,
            tenant_id=run.tenant_id,
            type=events.RUN_FINISHED,
            occurred_at=run.finished_at,
            data={
                "run_id": str(run.id),
                "connection_id": str(run.connection_id),
                "trigger": run.trigger,
                "status": run.status,
                "finished_at": run.finished_at.isoformat() if run.finished_at else None,
                "counters": {
                    name: getattr(run, name) for name in (*RUN_COUNTERS, *LIFECYCLE_COUNTERS)
                },
                "errors": len(run.errors or []),
                "error_codes": sorted({e.get("code") for e in run.errors or [] if e.get("code")}),
                "application_ids": list(run.application_ids or []),
                "replaces_abandoned": replaces_abandoned,
                "summary": _run_summary(run),
            },
        )


def _run_summary(run: AutoOnboardRun) -> str:
    counts = ", ".join(
        f"{getattr(run, name)} {name.replace('_', ' ')}"
        for name in ("onboarded", "instances_added", "retired", "orphaned", "restored")
        if getattr(run, name)
    )
    return f"Auto-onboard run {run.status}" + (f": {counts}." if counts else ".")


def fail_stale_runs_in(
    session: Session, *, now: datetime, timeout: timedelta, connection_id: uuid.UUID | None = None
) -> list[uuid.UUID]:
    cutoff = now - timeout
    statement = select(AutoOnboardRun.id, AutoOnboardRun.worker, AutoOnboardRun.heartbeat_at).where(
        AutoOnboardRun.status == "running", AutoOnboardRun.heartbeat_at < cutoff
    )
    if connection_id is not None:
        statement = statement.where(AutoOnboardRun.connection_id == connection_id)
    failed = []
    for run_id, worker, heartbeat_at in session.execute(statement).all():
        last = heartbeat_at.isoformat() if heartbeat_at else "never"
        # Only if it is still running and still silent: a heartbeat or the run's own result
        # that lands meanwhile wins, and is never overwritten by run_abandoned.
        taken = session.execute(
            update(AutoOnboardRun)
            .where(
                AutoOnboardRun.id == run_id,
                AutoOnboardRun.status == "running",
                AutoOnboardRun.heartbeat_at < cutoff,
            )
            .values(
                failed_values(
                    now=now,
                    code="run_abandoned",
                    message=f"The process running it ({worker}) stopped answering; last heard "
                    f"of at {last}.",
                    hint="The next run starts afresh and onboards what this one did not.",
                )
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(taken, "rowcount", 0) == 1:
            failed.append(run_id)
    finished(session, failed)
    for run_id in failed:
        logger.warning("auto-onboard run abandoned by its process", extra={"run_id": str(run_id)})
    return failed


def run_settings(schedule: AutoOnboardSchedule) -> dict[str, object]:
    """What a run takes from its schedule when it is queued."""
    return {
        "regions": list(schedule.regions),
        "scope": schedule.scope,
        "published_after": schedule.published_after,
        "timezone": schedule.timezone,
        "accounts": schedule.accounts,
        "organizational_units": schedule.organizational_units,
        "exclude_regions": schedule.exclude_regions,
        "tags": schedule.tags,
        "approval": schedule.approval,
    }


def list_runs(
    *, session: Session, connection: Connection, limit: int, cursor: str | None
) -> tuple[list[AutoOnboardRun], str | None]:
    statement = (
        RunRepository(session, connection.tenant_id)
        .statement()
        .where(AutoOnboardRun.connection_id == connection.id)
    )
    return paginate(
        session, statement, AutoOnboardRun, limit=limit, cursor=cursor, newest_first=True
    )


def get_run(*, session: Session, connection: Connection, run_id: uuid.UUID) -> AutoOnboardRun:
    run = RunRepository(session, connection.tenant_id).find(run_id)
    if run is None or run.connection_id != connection.id:
        raise NotFoundError(f"No auto-onboard run with id {run_id} on this connection.")
    return run


def last_run(*, session: Session, connection: Connection) -> AutoOnboardRun | None:
    return latest_runs(session=session, connection_ids=[connection.id]).get(connection.id)


def latest_runs(
    *, session: Session, connection_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, AutoOnboardRun]:
    """The newest run of each connection (for schedules and connection listings)."""
    ids = list(dict.fromkeys(connection_ids))
    if not ids:
        return {}
    newest = (
        select(AutoOnboardRun.connection_id, func.max(AutoOnboardRun.created_at).label("at"))
        .where(AutoOnboardRun.connection_id.in_(ids))
        .group_by(AutoOnboardRun.connection_id)
        .subquery()
    )
    statement = select(AutoOnboardRun).join(
        newest,
        (AutoOnboardRun.connection_id == newest.c.connection_id)
        & (AutoOnboardRun.created_at == newest.c.at),
    )
    return {run.connection_id: run for run in session.scalars(statement)}


def schedules_of(
    *, session: Session, tenant_id: uuid.UUID, connection_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, AutoOnboardSchedule]:
    ids = list(dict.fromkeys(connection_ids))
    if not ids:
        return {}
    statement = (
        ScheduleRepository(session, tenant_id)
        .statement()
        .where(AutoOnboardSchedule.connection_id.in_(ids))
    )
    return {schedule.connection_id: schedule for schedule in session.scalars(statement)}


def summaries(
    *, session: Session, tenant_id: uuid.UUID, connection_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, ScheduleSummary]:
    """`Connection.auto_onboard` for each of these connections that has a schedule."""
    schedules = schedules_of(session=session, tenant_id=tenant_id, connection_ids=connection_ids)
    last = latest_runs(session=session, connection_ids=schedules)
    return {
        connection_id: ScheduleSummary.of(ScheduleRead.of(schedule, last.get(connection_id)))
        for connection_id, schedule in schedules.items()
    }

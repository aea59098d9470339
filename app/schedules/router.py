from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter, BackgroundTasks, Request, status

from app.connections.dependencies import ValidConnection
from app.core.db import DatabaseRoute, SessionDep
from app.core.openapi import problems
from app.core.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, Page
from app.schedules import service
from app.schedules.dependencies import ValidSchedule
from app.schedules.schemas import RunRead, ScheduleRead, ScheduleWrite

router = APIRouter(
    prefix="/connections/{connection_id}/auto-onboard",
    tags=["auto-onboard"],
    route_class=DatabaseRoute,
)


@router.put("", response_model=ScheduleRead, responses=problems(409))
def save_schedule(
    body: ScheduleWrite, connection: ValidConnection, session: SessionDep
) -> ScheduleRead:
    schedule = service.save(session=session, connection=connection, data=body)
    return ScheduleRead.of(schedule, service.last_run(session=session, connection=connection))


@router.get("", response_model=ScheduleRead)
def read_schedule(
    schedule: ValidSchedule, connection: ValidConnection, session: SessionDep
) -> ScheduleRead:
    return ScheduleRead.of(schedule, service.last_run(session=session, connection=connection))


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
def disable_schedule(connection: ValidConnection, session: SessionDep) -> None:
    service.disable(session=session, connection=connection)


@router.post(
    "/runs",
    response_model=RunRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problems(409),
)
def run_now(
    connection: ValidConnection, session: SessionDep, request: Request, after: BackgroundTasks
) -> RunRead:
    timeout = timedelta(seconds=request.app.state.settings.run_timeout_seconds)
    run = service.request_run(session=session, connection=connection, stale_after=timeout)
    # A scheduler in this process (embedded mode) is told once the run is committed.
    wake = getattr(request.app.state, "wake_scheduler", None)
    if wake is not None:
        after.add_task(wake)
    return RunRead.of(run)


@router.get("/runs", response_model=Page[RunRead])
def list_runs(
    connection: ValidConnection,
    session: SessionDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[RunRead]:
    rows, next_cursor = service.list_runs(
        session=session, connection=connection, limit=limit, cursor=cursor
    )
    return Page[RunRead](items=[RunRead.of(row) for row in rows], next_cursor=next_cursor)


@router.get("/runs/{run_id}", response_model=RunRead)
def read_run(run_id: uuid.UUID, connection: ValidConnection, session: SessionDep) -> RunRead:
    return RunRead.of(service.get_run(session=session, connection=connection, run_id=run_id))

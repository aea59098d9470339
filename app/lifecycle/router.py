"""An application's lifecycle over HTTP: sync it now, read its history."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select

from app.applications.dependencies import OnboardingServicesDep, ValidApplication
from app.applications.schemas import ApplicationRead, ChangeRead
from app.applications.views import to_read
from app.core.db import DatabaseRoute, SessionDep
from app.core.openapi import problems
from app.core.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, Page, paginate
from app.lifecycle import service
from app.models import ApplicationChange

router = APIRouter(prefix="/applications", tags=["applications"], route_class=DatabaseRoute)


@router.post(
    "/{application_id}/sync", response_model=ApplicationRead, responses=problems(409, 502, 504)
)
def sync_application(
    application: ValidApplication,
    session: SessionDep,
    services: OnboardingServicesDep,
    request: Request,
) -> ApplicationRead:
    """Re-inspect the API in AWS now (stages, deployments, definitions, exposure) and record
    what changed. A stage's definition is read again only if its deployment changed."""
    service.sync(
        session=session,
        application=application,
        services=services,
        keep=request.app.state.settings.definition_versions_kept,
    )
    return to_read(application)


@router.get("/{application_id}/changes", response_model=Page[ChangeRead])
def list_changes(
    application: ValidApplication,
    session: SessionDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[ChangeRead]:
    """What happened to the application, newest first."""
    statement = select(ApplicationChange).where(
        ApplicationChange.application_id == application.id,
        ApplicationChange.tenant_id == application.tenant_id,
    )
    rows, next_cursor = paginate(
        session,
        statement,
        ApplicationChange,
        limit=limit,
        cursor=cursor,
        newest_first=True,
        time_column="occurred_at",
    )
    return Page[ChangeRead](
        items=[ChangeRead.model_validate(row, from_attributes=True) for row in rows],
        next_cursor=next_cursor,
    )

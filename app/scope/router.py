"""Approval mode over HTTP: the APIs runs held, approved (onboarded) or dismissed."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, status
from sqlalchemy import select

from app.applications import service as applications
from app.applications.dependencies import OnboardingServicesDep
from app.applications.schemas import ApplicationCreate, ApplicationRead, InstanceSelection
from app.applications.views import to_read
from app.connections.dependencies import ValidConnection
from app.core.db import DatabaseRoute, SessionDep
from app.core.openapi import problems
from app.core.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, Page, paginate
from app.models import ApiCandidate
from app.models.base import utcnow
from app.scope import candidates
from app.scope.schemas import CandidateRead
from app.tenants.dependencies import CurrentTenant

router = APIRouter(tags=["auto-onboard"], route_class=DatabaseRoute)


def to_candidate(row: ApiCandidate) -> CandidateRead:
    return CandidateRead.model_validate(row, from_attributes=True)


@router.get("/connections/{connection_id}/candidates", response_model=Page[CandidateRead])
def list_candidates(
    connection: ValidConnection,
    session: SessionDep,
    status: Annotated[Literal["pending", "dismissed", "approved"], Query()] = "pending",
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[CandidateRead]:
    """The APIs runs in approval mode found and held (pending by default), newest first."""
    statement = select(ApiCandidate).where(
        ApiCandidate.tenant_id == connection.tenant_id,
        ApiCandidate.connection_id == connection.id,
        ApiCandidate.status == status,
    )
    rows, next_cursor = paginate(
        session,
        statement,
        ApiCandidate,
        limit=limit,
        cursor=cursor,
        newest_first=True,
        time_column="found_at",
    )
    return Page[CandidateRead](items=[to_candidate(row) for row in rows], next_cursor=next_cursor)


@router.post(
    "/candidates/{candidate_id}/approve",
    response_model=ApplicationRead,
    status_code=status.HTTP_201_CREATED,
    responses=problems(404, 409, 422, 502, 504),
)
def approve_candidate(
    candidate_id: uuid.UUID,
    tenant: CurrentTenant,
    session: SessionDep,
    services: OnboardingServicesDep,
    selection: Annotated[InstanceSelection | None, Body()] = None,
) -> ApplicationRead:
    """Onboard the API now: the instance URLs or stages chosen, or every stage it was held
    with."""
    candidate = candidates.get(session, tenant.id, candidate_id)
    candidates.pending(candidate)
    chosen = selection or InstanceSelection(
        stages=[stage["name"] for stage in candidate.stages if stage.get("instance_urls")]
    )
    application = applications.onboard(
        session=session,
        tenant=tenant,
        data=ApplicationCreate(
            connection_id=candidate.connection_id,
            region=candidate.region,
            api_id=candidate.api_id,
            account_id=candidate.account_id,
            instance_urls=chosen.instance_urls,
            stages=chosen.stages,
        ),
        services=services,
    )
    candidates.approved(candidate, application.id, utcnow())
    return to_read(application)


@router.post(
    "/candidates/{candidate_id}/dismiss", response_model=CandidateRead, responses=problems(404, 409)
)
def dismiss_candidate(
    candidate_id: uuid.UUID, tenant: CurrentTenant, session: SessionDep
) -> CandidateRead:
    """Not this API: runs do not offer it again until its stages or deployments change."""
    candidate = candidates.get(session, tenant.id, candidate_id)
    candidates.dismiss(candidate, utcnow())
    session.flush()
    return to_candidate(candidate)

"""Approval mode: a run holds each new in-scope API as a candidate; a person approves it (it
is onboarded) or dismisses it (it is not offered again until what it serves changes)."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import ConflictError, NotFoundError
from app.core.repository import TenantRepository
from app.integrations.aws.apigateway import DiscoveredApi
from app.models import ApiCandidate

PENDING, DISMISSED, APPROVED = "pending", "dismissed", "approved"
HELD, STILL_DISMISSED = "held", "still_dismissed"


class CandidateRepository(TenantRepository[ApiCandidate]):
    model = ApiCandidate
    noun = "candidate"


def fingerprint(api: DiscoveredApi) -> str:
    """What the API serves: its stages and their deployments (a canary's too)."""
    stages = sorted(
        (stage.name, stage.deployment_id or "", stage.canary_deployment_id or "")
        for stage in api.stages
    )
    return hashlib.sha256(json.dumps(stages).encode()).hexdigest()


def _stages(api: DiscoveredApi, urls: dict[str, list[str]]) -> list[dict[str, object]]:
    return [
        {
            "name": stage.name,
            "deployment_id": stage.deployment_id,
            "instance_urls": urls.get(stage.name, []),
        }
        for stage in api.stages
    ]


def hold(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    connection_id: uuid.UUID,
    run_id: uuid.UUID | None,
    api: DiscoveredApi,
    urls: dict[str, list[str]],
    now: datetime,
) -> str:
    """Keep the API as a pending candidate (HELD), or leave a dismissed one that has not
    changed since (STILL_DISMISSED)."""
    candidate = session.scalars(
        select(ApiCandidate).where(
            ApiCandidate.connection_id == connection_id,
            ApiCandidate.account_id == api.account_id,
            ApiCandidate.region == api.region,
            ApiCandidate.api_id == api.api_id,
        )
    ).one_or_none()
    print_ = fingerprint(api)
    if candidate is None:
        candidate = ApiCandidate(
            tenant_id=tenant_id,
            connection_id=connection_id,
            account_id=api.account_id,
            region=api.region,
            api_id=api.api_id,
            found_at=now,
        )
        session.add(candidate)
    elif candidate.status == DISMISSED and candidate.fingerprint == print_:
        return STILL_DISMISSED
    candidate.name = api.name[:255]
    candidate.protocol = api.protocol
    candidate.endpoint_type = api.endpoint_type
    candidate.tags = dict(api.tags)
    candidate.stages = _stages(api, urls)
    candidate.fingerprint = print_
    candidate.status = PENDING
    candidate.dismissed_at = None
    candidate.application_id = None
    candidate.run_id = run_id
    candidate.updated_at = now
    return HELD


def get(session: Session, tenant_id: uuid.UUID, candidate_id: uuid.UUID) -> ApiCandidate:
    found = CandidateRepository(session, tenant_id).find(candidate_id)
    if found is None:
        raise NotFoundError(
            f"No candidate with id {candidate_id}.",
            hint="List them with GET /connections/{id}/candidates.",
        )
    return found


def pending(candidate: ApiCandidate) -> None:
    if candidate.status != PENDING:
        raise ConflictError(
            f"The candidate is {candidate.status}, not pending.",
            code=f"candidate_{candidate.status}",
            hint="Only a pending candidate can be approved or dismissed; a dismissed API is "
            "offered again by the next run that finds it changed.",
        )


def dismiss(candidate: ApiCandidate, now: datetime) -> None:
    pending(candidate)
    candidate.status = DISMISSED
    candidate.dismissed_at = now
    candidate.updated_at = now


def approved(candidate: ApiCandidate, application_id: uuid.UUID, now: datetime) -> None:
    candidate.status = APPROVED
    candidate.application_id = application_id
    candidate.updated_at = now

"""An application's history: one row per thing that happened to it, written in the same
transaction as the change it describes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.models import Application, ApplicationChange
from app.models.base import utcnow

ONBOARDED = "onboarded"
DEFINITION_CHANGED = "definition_changed"
EXPOSURE_INCREASED = "exposure_increased"
EXPOSURE_DECREASED = "exposure_decreased"
INSTANCE_ADDED = "instance_added"
INSTANCE_RETIRED = "instance_retired"
RETIRED = "retired"
ORPHANED = "orphaned"
RESTORED = "restored"
KINDS = (
    ONBOARDED,
    DEFINITION_CHANGED,
    EXPOSURE_INCREASED,
    EXPOSURE_DECREASED,
    INSTANCE_ADDED,
    INSTANCE_RETIRED,
    RETIRED,
    ORPHANED,
    RESTORED,
)


def _after_the_last(session: Session, application: Application, now: datetime) -> datetime:
    """Changes recorded together (a new definition and the exposure it raises) keep the order
    they were recorded in: each a microsecond after the one before, so the history, newest
    first, never depends on their random ids."""
    last: dict[Any, datetime] = session.info.setdefault("onboarder_last_change_at", {})
    previous = last.get(application.id)
    if previous is not None and now <= previous:
        now = previous + timedelta(microseconds=1)
    last[application.id] = now
    return now


def record(
    session: Session,
    application: Application,
    kind: str,
    summary: str,
    *,
    stage: str | None = None,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> ApplicationChange:
    change = ApplicationChange(
        tenant_id=application.tenant_id,
        application_id=application.id,
        kind=kind,
        occurred_at=_after_the_last(session, application, now or utcnow()),
        stage=stage,
        summary=summary[:1000],
        details=details or {},
    )
    session.add(change)
    return change

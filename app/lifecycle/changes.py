"""An application's history: one row per thing that happened to it, written in the same
transaction as the change it describes."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.applications.views import to_read
from app.events import service as events
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
# The event each kind of change is told as (the rest are `application.changed`).
EVENT_OF_KIND = {
    ONBOARDED: events.APPLICATION_ONBOARDED,
    EXPOSURE_INCREASED: events.APPLICATION_EXPOSURE_INCREASED,
    RETIRED: events.APPLICATION_RETIRED,
    ORPHANED: events.APPLICATION_ORPHANED,
    RESTORED: events.APPLICATION_RESTORED,
}
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
    change.id = change.id or uuid.uuid4()
    events.emit(
        session,
        tenant_id=application.tenant_id,
        type=EVENT_OF_KIND.get(kind, events.APPLICATION_CHANGED),
        application_id=application.id,
        occurred_at=change.occurred_at,
        data={
            "application_id": str(application.id),
            "summary": change.summary,
            "change": {
                "id": str(change.id),
                "kind": kind,
                "occurred_at": change.occurred_at.isoformat(),
                "stage": stage,
                "summary": change.summary,
                "details": change.details,
            },
        },
        # When the transaction commits: the application as the change (and whatever else the
        # transaction did to it) left it.
        describe=lambda: {"application": to_read(application).model_dump(mode="json")},
    )
    return change

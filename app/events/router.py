"""The event feed: what happened to the tenant's inventory, oldest first, for ever."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from app.core.db import DatabaseRoute, SessionDep
from app.core.pagination import (
    DEFAULT_LIMIT,
    CursorQuery,
    LimitQuery,
    decode_position,
    encode_position,
)
from app.events.schemas import EventPage, EventRead, EventType
from app.models import Event
from app.tenants.dependencies import CurrentTenant

router = APIRouter(prefix="/events", tags=["events"], route_class=DatabaseRoute)
LATEST = "latest"


@router.get("", response_model=EventPage)
def list_events(
    tenant: CurrentTenant,
    session: SessionDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
    type: Annotated[list[EventType] | None, Query(description="only these types")] = None,
    application_id: Annotated[uuid.UUID | None, Query()] = None,
) -> EventPage:
    """The tenant's events, oldest first. Keep `next_cursor` and ask again with it: events
    appear in the order their changes committed, so none is ever skipped. `cursor=latest`
    starts at the end: the last `limit` events (a console showing what happened lately)."""
    # Read up to what has committed now: a page shorter than `limit` then moves the cursor
    # past every event up to here, matched or not (what commits later is numbered higher).
    latest = session.scalar(select(func.max(Event.seq)).where(Event.tenant_id == tenant.id))
    wanted = [Event.tenant_id == tenant.id]
    if type:
        wanted.append(Event.type.in_(type))
    if application_id is not None:
        wanted.append(Event.application_id == application_id)
    statement = select(Event).where(*wanted)
    if cursor == LATEST:
        newest = select(Event.seq).where(*wanted, Event.seq <= (latest or 0))
        last = [
            int(seq or 0) for seq in session.scalars(newest.order_by(Event.seq.desc()).limit(limit))
        ]
        after = min(last) - 1 if last else (latest or 0)
    else:
        after = decode_position(cursor) if cursor else 0
    latest = max(after, latest or 0)
    statement = statement.where(Event.seq > after, Event.seq <= latest)
    rows = list(session.scalars(statement.order_by(Event.seq).limit(limit)))
    position = rows[-1].seq if len(rows) == limit else latest
    return EventPage(
        items=[EventRead.model_validate(row, from_attributes=True) for row in rows],
        next_cursor=encode_position(position or 0),
    )

"""The event log: what happened, written in the same transaction as the change it tells of.

A service that changes something calls `emit` inside its transaction. The event is a row of
that transaction: rolled back with it (a savepoint's rollback included), committed with it.
When the transaction commits, its events get their `seq` (the feed's order) and their data
(built then, so an application event carries the application as the transaction leaves it),
and each is queued for the tenant's webhooks (`webhooks.service.enqueue`), still in the same
transaction: no change without its event, no event without its change, no event without its
deliveries.

`seq` is taken from one counter row that the committing transaction updates, so two
transactions that write events take their numbers in the order they commit: a consumer that
has read up to seq N never later finds an event numbered below N (a cursor it can follow for
ever). The row is held only for the commit itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event as orm_event
from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction

from app.models import Event, EventSequence
from app.models.base import utcnow
from app.webhooks import service as webhooks

APPLICATION_ONBOARDED = "application.onboarded"
APPLICATION_CHANGED = "application.changed"
APPLICATION_EXPOSURE_INCREASED = "application.exposure_increased"
APPLICATION_RETIRED = "application.retired"
APPLICATION_ORPHANED = "application.orphaned"
APPLICATION_RESTORED = "application.restored"
RUN_FINISHED = "run.finished"
CONNECTION_FAILED = "connection.failed"
WEBHOOK_TEST = "webhook.test"
WEBHOOK_DISABLED = "webhook.disabled"
TYPES = (
    APPLICATION_ONBOARDED,
    APPLICATION_CHANGED,
    APPLICATION_EXPOSURE_INCREASED,
    APPLICATION_RETIRED,
    APPLICATION_ORPHANED,
    APPLICATION_RESTORED,
    RUN_FINISHED,
    CONNECTION_FAILED,
    WEBHOOK_TEST,
    WEBHOOK_DISABLED,
)

_PENDING = "onboarder_pending_events"
_SEQUENCE_ROW = 1


@dataclass
class _Pending:
    event: Event
    describe: Callable[[], Mapping[str, Any]] | None
    only_endpoint_id: uuid.UUID | None


def emit(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    type: str,
    data: Mapping[str, Any] | None = None,
    describe: Callable[[], Mapping[str, Any]] | None = None,
    application_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
    only_endpoint_id: uuid.UUID | None = None,
) -> Event:
    """Add an event to the session's transaction. `describe()` adds to `data` when the
    transaction commits (what the change left); `only_endpoint_id` hands the event to that
    webhook endpoint alone, whatever types it asked for (a test)."""
    if type not in TYPES:
        raise ValueError(f"unknown event type {type!r}")
    event = Event(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        type=type,
        occurred_at=occurred_at or utcnow(),
        application_id=application_id,
        data=dict(data or {}),
    )
    session.add(event)
    session.info.setdefault(_PENDING, []).append(_Pending(event, describe, only_endpoint_id))
    return event


@orm_event.listens_for(Session, "before_commit")
def _complete(session: Session) -> None:
    pending: list[_Pending] = session.info.pop(_PENDING, [])
    # An event added inside a savepoint that rolled back left the session with its change.
    live = [item for item in pending if item.event in session]
    if not live:
        return
    for item in live:
        if item.describe is not None:
            item.event.data = {**item.event.data, **item.describe()}
    with session.no_autoflush:  # each event is inserted once, with its number
        last = _take_numbers(session, len(live))
    for offset, item in enumerate(live):
        item.event.seq = last - len(live) + 1 + offset
    webhooks.enqueue(
        session,
        [item.event for item in live],
        only={item.event.id: item.only_endpoint_id for item in live if item.only_endpoint_id},
    )


@orm_event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended without committing them
        session.info.pop(_PENDING, None)


def _take_numbers(session: Session, count: int) -> int:
    """The last of `count` new numbers; the counter row stays locked until the commit."""
    taken = update(EventSequence).where(EventSequence.id == _SEQUENCE_ROW)
    last = session.execute(
        taken.values(last=EventSequence.last + count).returning(EventSequence.last)
    ).scalar_one_or_none()
    if last is not None:
        return int(last)
    # The first event of a database made without the migration that adds the row.
    try:
        with session.begin_nested():
            session.execute(insert(EventSequence).values(id=_SEQUENCE_ROW, last=0))
    except IntegrityError:
        pass  # another transaction added it first
    return int(
        session.execute(
            taken.values(last=EventSequence.last + count).returning(EventSequence.last)
        ).scalar_one()
    )

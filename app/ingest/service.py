"""AWS change events in: ingest tokens, triggers recorded, debounced and claimed.

A connection opts in to real-time updates with an ingest token (`issue_token`): its
EventBridge API destination presents it, and each API Gateway change event becomes a pending
trigger (`record`), never an AWS call in the request. Schedulers claim the triggers of one API
(connection, account, region, target) together once the API has been quiet for the debounce
window, or once its first trigger has waited the longest delay (`claim_due`): a deploy's burst
of calls is one sync. The claim is one UPDATE of pending rows, so one process wins them;
`finish` writes what the sync did, and claims whose process died go back to pending.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.connections.service import partition_of
from app.core.db import Database
from app.core.errors import NotFoundError, UnauthorizedError
from app.ingest.cloudtrail import API, Change
from app.integrations.aws.discovery import apigateway_regions
from app.models import AutoOnboardSchedule, Connection, IngestToken, IngestTrigger

TOKEN_PREFIX = "oit"  # noqa: S105 - a token's public prefix, not a secret
PENDING, PROCESSING, DONE, DROPPED, FAILED = "pending", "processing", "done", "dropped", "failed"
# Triggers claimed at once by one poll (each group is one API).
_GROUPS_PER_CLAIM = 50


# ------------------------------------------------------------------------------ tokens
def _digest(token: str) -> str:
    # 256 random bits: a fast digest is enough, there is nothing to brute force.
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return f"{TOKEN_PREFIX}_{secrets.token_urlsafe(32)}"


def issue_token(*, session: Session, connection: Connection, now: datetime) -> tuple[str, datetime]:
    """A new token for the connection, replacing its old one; the plaintext is returned once."""
    token = new_token()
    row = session.get(IngestToken, connection.id)
    if row is None:
        row = IngestToken(connection_id=connection.id, tenant_id=connection.tenant_id)
        session.add(row)
    row.token_hash = _digest(token)
    row.created_at = now
    session.flush()
    return token, now


def revoke_token(*, session: Session, connection: Connection) -> None:
    """Real-time updates off: the token stops working at once (pending triggers stay)."""
    row = session.get(IngestToken, connection.id)
    if row is None:
        raise NotFoundError(
            "Real-time updates are not on for this connection: it has no ingest token.",
            hint="POST /connections/{id}/ingest-token turns them on.",
        )
    session.delete(row)
    session.flush()


def authenticate(
    *, session: Session, connection_id: uuid.UUID, presented: str | None
) -> IngestToken:
    """The token row that lets these events in for this connection.

    A missing or unknown token is a 401, whatever the connection (an unknown one included:
    no difference). A valid token used for a connection its tenant does not have is a 404, as
    for any tenant's request; for another connection of its own tenant, a 401.
    """
    unauthorized = UnauthorizedError(
        "A valid X-Onboarder-Ingest-Token header is required for this connection.",
        hint="Use the token POST /connections/{id}/ingest-token returned (it is shown once; "
        "create a new one if it is lost) in the EventBridge connection's API key header.",
    )
    if not presented:
        raise unauthorized
    # Found by its digest (unique): the lookup is the comparison, of 256-bit digests.
    row = session.scalars(
        select(IngestToken).where(IngestToken.token_hash == _digest(presented))
    ).one_or_none()
    if row is None:
        raise unauthorized
    if row.connection_id == connection_id:
        return row
    same_tenant = session.scalar(
        select(Connection.id).where(
            Connection.id == connection_id, Connection.tenant_id == row.tenant_id
        )
    )
    if same_tenant is None:
        raise NotFoundError(
            f"No connection with id {connection_id}.",
            hint="The ingest URL names the connection the token was made for.",
        )
    raise unauthorized


def regions_of(*, session: Session, connection: Connection) -> list[str]:
    """Where events are forwarded from: the schedule's regions (less those it leaves out),
    else every API Gateway region of the connection's partition."""
    schedule = session.scalars(
        select(AutoOnboardSchedule).where(AutoOnboardSchedule.connection_id == connection.id)
    ).one_or_none()
    regions = list(apigateway_regions(partition_of(connection)))
    if schedule is not None:
        regions = list(schedule.regions) or regions
        regions = [r for r in regions if r not in (schedule.exclude_regions or ())]
    return regions


# ------------------------------------------------------------------------------ recording
def record(
    *, session: Session, token: IngestToken, changes: Iterable[Change], now: datetime
) -> None:
    """Each change as a pending trigger (an event EventBridge delivers again is kept once)."""
    token.last_event_at = now
    rows = [
        {
            "id": uuid.uuid4(),
            "tenant_id": token.tenant_id,
            "connection_id": token.connection_id,
            "event_id": change.event_id,
            "event_name": change.event_name,
            "event_time": change.event_time,
            "received_at": now,
            "account_id": change.account_id,
            "region": change.region,
            "target": change.target,
            "status": PENDING,
        }
        for change in dict((c.event_id, c) for c in changes).values()
    ]
    if rows:
        session.execute(_insert_new(session), rows)
    session.flush()


def _insert_new(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    statement: Any
    if dialect == "postgresql":
        statement = postgresql.insert(IngestTrigger)
    elif dialect == "sqlite":
        statement = sqlite.insert(IngestTrigger)
    else:  # pragma: no cover - the service runs on SQLite and PostgreSQL
        return insert(IngestTrigger)
    return statement.on_conflict_do_nothing(index_elements=["connection_id", "event_id"])


# ------------------------------------------------------------------------------ status
@dataclass(frozen=True)
class Status:
    enabled: bool
    token_created_at: datetime | None
    last_event_at: datetime | None
    events_24h: int
    pending: int
    dropped_24h: list[dict[str, Any]]
    recent: list[IngestTrigger]


def status(*, session: Session, connection: Connection, now: datetime) -> Status:
    token = session.get(IngestToken, connection.id)
    since = now - timedelta(hours=24)
    mine = IngestTrigger.connection_id == connection.id
    events_24h = session.scalar(
        select(func.count())
        .select_from(IngestTrigger)
        .where(mine, IngestTrigger.received_at >= since)
    )
    pending = session.scalar(
        select(func.count())
        .select_from(IngestTrigger)
        .where(mine, IngestTrigger.status.in_((PENDING, PROCESSING)))
    )
    dropped = session.execute(
        select(IngestTrigger.reason_code, func.count())
        .where(
            mine,
            IngestTrigger.status.in_((DROPPED, FAILED)),
            IngestTrigger.received_at >= since,
        )
        .group_by(IngestTrigger.reason_code)
        .order_by(func.count().desc())
    ).all()
    dropped_24h = []
    for code, count in dropped:
        example = session.scalar(
            select(IngestTrigger.reason)
            .where(mine, IngestTrigger.reason_code == code, IngestTrigger.received_at >= since)
            .order_by(IngestTrigger.received_at.desc())
            .limit(1)
        )
        dropped_24h.append({"reason": code, "count": int(count), "detail": example})
    recent = list(
        session.scalars(
            select(IngestTrigger)
            .where(mine)
            .order_by(IngestTrigger.received_at.desc(), IngestTrigger.id)
            .limit(20)
        )
    )
    return Status(
        enabled=token is not None,
        token_created_at=token.created_at if token else None,
        last_event_at=token.last_event_at if token else None,
        events_24h=int(events_24h or 0),
        pending=int(pending or 0),
        dropped_24h=dropped_24h,
        recent=recent,
    )


# ------------------------------------------------------------------------------ claiming
@dataclass(frozen=True)
class Group:
    """The triggers of one API (or custom domain) that one process claimed together."""

    connection_id: uuid.UUID
    account_id: str
    region: str
    target: str
    trigger_ids: list[uuid.UUID]
    event_names: list[str]

    @property
    def kind(self) -> str:
        return self.target.partition(":")[0]

    @property
    def name(self) -> str:
        return self.target.partition(":")[2]

    @property
    def api_id(self) -> str | None:
        return self.name if self.kind == API else None


def claim_due(
    database: Database,
    *,
    worker: str,
    now: datetime,
    debounce: timedelta,
    max_delay: timedelta,
    limit: int = _GROUPS_PER_CLAIM,
) -> list[Group]:
    """Claim the groups whose API has been quiet for `debounce`, or whose first trigger has
    waited `max_delay`; each group's pending triggers in one UPDATE that one process wins."""
    key = (
        IngestTrigger.connection_id,
        IngestTrigger.account_id,
        IngestTrigger.region,
        IngestTrigger.target,
    )
    with database.session() as session:
        due = session.execute(
            select(*key)
            .where(IngestTrigger.status == PENDING)
            .group_by(*key)
            .having(
                (func.max(IngestTrigger.received_at) <= now - debounce)
                | (func.min(IngestTrigger.received_at) <= now - max_delay)
            )
            .order_by(func.min(IngestTrigger.received_at))
            .limit(limit)
        ).all()
    groups = []
    for connection_id, account_id, region, target in due:
        with database.session() as session:
            claimed = session.execute(
                update(IngestTrigger)
                .where(
                    IngestTrigger.connection_id == connection_id,
                    IngestTrigger.account_id == account_id,
                    IngestTrigger.region == region,
                    IngestTrigger.target == target,
                    IngestTrigger.status == PENDING,
                    IngestTrigger.received_at <= now,
                )
                .values(status=PROCESSING, worker=worker, claimed_at=now)
                .returning(IngestTrigger.id, IngestTrigger.event_name)
                .execution_options(synchronize_session=False)
            ).all()
        if claimed:
            groups.append(
                Group(
                    connection_id=connection_id,
                    account_id=account_id,
                    region=region,
                    target=target,
                    trigger_ids=[row.id for row in claimed],
                    event_names=sorted({row.event_name for row in claimed}),
                )
            )
    return groups


class Finished(Protocol):
    """What a group's sync did (`outcome`), or why it was dropped or failed (`code`,
    `reason`): `app.lifecycle.targeted.Outcome`."""

    @property
    def status(self) -> str: ...
    @property
    def outcome(self) -> str | None: ...
    @property
    def application_id(self) -> uuid.UUID | None: ...
    @property
    def code(self) -> str | None: ...
    @property
    def reason(self) -> str | None: ...


def finish(
    database: Database, group: Group, result: Finished, *, worker: str, now: datetime
) -> int:
    """Write the group's result on its triggers (those still this worker's)."""
    with database.session() as session:
        written = session.execute(
            update(IngestTrigger)
            .where(
                IngestTrigger.id.in_(group.trigger_ids),
                IngestTrigger.worker == worker,
                IngestTrigger.status == PROCESSING,
            )
            .values(
                status=result.status,
                finished_at=now,
                outcome=result.outcome,
                application_id=result.application_id,
                reason_code=result.code,
                reason=(result.reason or "")[:500] or None,
            )
            .execution_options(synchronize_session=False)
        )
        return int(getattr(written, "rowcount", 0) or 0)


def release_stale(database: Database, *, now: datetime, timeout: timedelta) -> int:
    """Claims whose process has not finished them within `timeout` are pending again."""
    with database.session() as session:
        released = session.execute(
            update(IngestTrigger)
            .where(IngestTrigger.status == PROCESSING, IngestTrigger.claimed_at < now - timeout)
            .values(status=PENDING, worker=None, claimed_at=None)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(released, "rowcount", 0) or 0)


def prune(database: Database, *, now: datetime, keep: timedelta) -> int:
    """Triggers done, dropped or failed longer ago than `keep` go."""
    with database.session() as session:
        pruned = session.execute(
            delete(IngestTrigger)
            .where(
                IngestTrigger.status.in_((DONE, DROPPED, FAILED)),
                IngestTrigger.received_at < now - keep,
            )
            .execution_options(synchronize_session=False)
        )
        return int(getattr(pruned, "rowcount", 0) or 0)

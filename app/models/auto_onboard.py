from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TenantMixin, TimestampMixin, utcnow

# A run in one of these states holds its connection: no second one may start beside it.
ACTIVE_RUN_STATES = ("queued", "running")
_ACTIVE = text("status IN ('queued', 'running')")


class AutoOnboardSchedule(IdMixin, TimestampMixin, TenantMixin, Base):
    """A connection's auto-onboard schedule; disabling it deletes the row (runs stay)."""

    __tablename__ = "auto_onboard_schedules"

    connection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), unique=True
    )
    frequency: Mapped[str] = mapped_column(String(16))
    day_of_week: Mapped[str | None] = mapped_column(String(3))
    day_of_month: Mapped[int | None] = mapped_column(Integer)
    hour: Mapped[int] = mapped_column(Integer)
    minute: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    regions: Mapped[list[str]] = mapped_column(JSON)  # empty: every enabled region
    scope: Mapped[str] = mapped_column(String(16))
    published_after: Mapped[date | None] = mapped_column(Date)
    # The next occurrence's instant: what the scheduler polls for (indexed).
    next_run_at: Mapped[datetime] = mapped_column(index=True)
    # Scope (app/scope): {include, exclude} of account ids / OU ids, regions left out, tag
    # rules {include, exclude}; None narrows nothing. approval: hold new APIs as candidates.
    accounts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    organizational_units: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    exclude_regions: Mapped[list[str] | None] = mapped_column(JSON)
    tags: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    approval: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class AutoOnboardRun(IdMixin, TenantMixin, Base):
    """One run of auto-onboard, scheduled or asked for.

    Two constraints carry the guarantees, whatever the number of scheduler processes:
    a scheduled occurrence is claimed by inserting its run, unique per connection and
    occurrence; and at most one run per connection is queued or running (a partial unique
    index), so run-now during a run is refused by the database, not by a read before a write.
    """

    __tablename__ = "auto_onboard_runs"
    __table_args__ = (
        UniqueConstraint("connection_id", "occurrence"),
        Index(
            "ix_auto_onboard_runs_connection_id_created_at_id", "connection_id", "created_at", "id"
        ),
        Index(
            "uq_auto_onboard_runs_active_connection",
            "connection_id",
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        ),
        Index("ix_auto_onboard_runs_status_created_at", "status", "created_at"),
    )

    connection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), index=True
    )
    trigger: Mapped[str] = mapped_column(String(16))  # scheduled | manual
    # "<time zone> <wall-clock time>" of a scheduled occurrence; null for a manual run.
    occurrence: Mapped[str | None] = mapped_column(String(96))
    scheduled_for: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="queued")
    # What the run works on, fixed when it is queued (a later schedule change does not move it).
    regions: Mapped[list[str]] = mapped_column(JSON)
    scope: Mapped[str] = mapped_column(String(16))
    published_after: Mapped[date | None] = mapped_column(Date)
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # The process executing the run and when it last said it is alive.
    worker: Mapped[str | None] = mapped_column(String(128))
    heartbeat_at: Mapped[datetime | None]
    discovered: Mapped[int] = mapped_column(Integer, default=0)
    onboarded: Mapped[int] = mapped_column(Integer, default=0)
    instances_added: Mapped[int] = mapped_column(Integer, default=0)
    skipped_existing: Mapped[int] = mapped_column(Integer, default=0)
    skipped_out_of_scope: Mapped[int] = mapped_column(Integer, default=0)
    skipped_no_stage: Mapped[int] = mapped_column(Integer, default=0)
    # New in-scope APIs held as candidates (approval mode) instead of onboarded.
    held_for_approval: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The lifecycle: applications compared with the listing, and what changed.
    synced: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    definitions_changed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    retired: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    orphaned: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    restored: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    skipped: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    application_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The schedule's scope when the run was queued (as on the schedule).
    accounts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    organizational_units: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    exclude_regions: Mapped[list[str] | None] = mapped_column(JSON)
    tags: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    approval: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Accounts the scope left out: [{account_id, name, reason}].
    excluded_accounts: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, server_default="[]"
    )

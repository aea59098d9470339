"""Real-time updates: a connection's ingest token and the triggers its AWS events leave."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TenantMixin, utcnow


class IngestToken(TenantMixin, Base):
    """The token AWS (an EventBridge API destination) presents for one connection: one per
    connection, stored only as a SHA-256 digest (it carries 256 random bits)."""

    __tablename__ = "ingest_tokens"

    connection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The last request that carried this token (its events recorded or ignored).
    last_event_at: Mapped[datetime | None]


class IngestTrigger(IdMixin, TenantMixin, Base):
    """One AWS change event, waiting for (or done with) the targeted sync it asks for.

    `target` is what the event changed: `api:<api id>`, or `domain:<domain name>` for a
    custom-domain event that names no API. Triggers with the same connection, account, region
    and target are debounced together and claimed together by one scheduler process.
    """

    __tablename__ = "ingest_triggers"
    __table_args__ = (
        # EventBridge delivers at least once: a retried event is recorded once.
        UniqueConstraint("connection_id", "event_id"),
        Index("ix_ingest_triggers_status_received_at", "status", "received_at"),
        Index("ix_ingest_triggers_connection_id_received_at", "connection_id", "received_at"),
    )

    connection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE")
    )
    event_id: Mapped[str] = mapped_column(String(128))
    event_name: Mapped[str] = mapped_column(String(64))
    event_time: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    account_id: Mapped[str] = mapped_column(String(12))
    region: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(300))
    # pending -> processing -> done | dropped
    status: Mapped[str] = mapped_column(String(16), default="pending")
    worker: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # What the sync did (onboarded, synced, retired, unchanged, held_for_approval, ...) or,
    # when dropped, why: a stable code and a sentence.
    outcome: Mapped[str | None] = mapped_column(String(32))
    reason_code: Mapped[str | None] = mapped_column(String(48))
    reason: Mapped[str | None] = mapped_column(String(500))
    application_id: Mapped[uuid.UUID | None]

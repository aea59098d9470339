"""The append-only event log, and the webhook endpoints and deliveries that hand it on."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TenantMixin, TimestampMixin, utcnow


class EventSequence(Base):
    """One row: the last `seq` given to an event. Taking numbers updates the row, so the
    transactions that write events take them in the order they commit."""

    __tablename__ = "event_sequence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(BigInteger, default=0)


class Event(IdMixin, TenantMixin, Base):
    """Something that happened, as the feed and the webhooks tell it; never changed."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_tenant_id_seq", "tenant_id", "seq"),
        Index("ix_events_application_id_seq", "application_id", "seq"),
    )

    # Commit order: given when the transaction that writes the event commits (NULL before).
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Not a foreign key: the log outlives what it tells of.
    application_id: Mapped[uuid.UUID | None] = mapped_column()
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class WebhookEndpoint(IdMixin, TimestampMixin, TenantMixin, Base):
    __tablename__ = "webhook_endpoints"

    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(String(500))
    # None: every type.
    event_types: Mapped[list[str] | None] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    secret_encrypted: Mapped[str] = mapped_column(Text)
    # After a rotation, deliveries are signed with both secrets until this passes.
    previous_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    previous_secret_until: Mapped[datetime | None] = mapped_column()
    # Since when every attempt has failed (None after a success); disabled after 5 days.
    failing_since: Mapped[datetime | None] = mapped_column()
    disabled_at: Mapped[datetime | None] = mapped_column()
    disabled_reason: Mapped[str | None] = mapped_column(String(500))


class WebhookDelivery(IdMixin, TenantMixin, Base):
    """One event to one endpoint: attempted until delivered, or failed after the schedule."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        # What the worker claims: an endpoint's due deliveries, oldest due first.
        Index(
            "ix_webhook_deliveries_endpoint_id_status_next_attempt_at",
            "endpoint_id",
            "status",
            "next_attempt_at",
        ),
        # The metrics' gauges: the oldest pending delivery, the most overdue.
        Index("ix_webhook_deliveries_status_created_at", "status", "created_at"),
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint_id_created_at", "endpoint_id", "created_at"),
    )

    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # pending | delivered | failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    last_attempt_at: Mapped[datetime | None] = mapped_column()
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(1000))
    delivered_at: Mapped[datetime | None] = mapped_column()
    # The scheduler process attempting it now, and until when its claim holds.
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_until: Mapped[datetime | None] = mapped_column()

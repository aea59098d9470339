"""APIs a run in approval mode found and held, for a person to approve or dismiss."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TenantMixin, utcnow


class ApiCandidate(IdMixin, TenantMixin, Base):
    __tablename__ = "api_candidates"
    __table_args__ = (
        UniqueConstraint("connection_id", "account_id", "region", "api_id"),
        Index(
            "ix_api_candidates_connection_id_status_found_at", "connection_id", "status", "found_at"
        ),
    )

    connection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE")
    )
    account_id: Mapped[str] = mapped_column(String(12))
    region: Mapped[str] = mapped_column(String(32))
    api_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    protocol: Mapped[str] = mapped_column(String(16))
    endpoint_type: Mapped[str] = mapped_column(String(16))
    tags: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # [{name, deployment_id, instance_urls}] as the last run listed them.
    stages: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # What the API serves (its stages and their deployments): a dismissed API is offered
    # again when this changes.
    fingerprint: Mapped[str] = mapped_column(String(64))
    # pending | dismissed | approved
    status: Mapped[str] = mapped_column(String(16), default="pending")
    found_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    run_id: Mapped[uuid.UUID | None] = mapped_column()
    dismissed_at: Mapped[datetime | None] = mapped_column()
    application_id: Mapped[uuid.UUID | None] = mapped_column()

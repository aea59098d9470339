from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from app.models.base import Base, IdMixin, TenantMixin, TimestampMixin, utcnow


class Application(IdMixin, TimestampMixin, TenantMixin, Base):
    """An onboarded API: one per API of a tenant, whatever connection found it."""

    __tablename__ = "applications"
    # The database, not a read before the write, keeps one application per API: two
    # simultaneous onboardings of the same API cannot both insert.
    __table_args__ = (
        UniqueConstraint("tenant_id", "account_id", "region", "api_id"),
        # Lists are keyset pages in this order: a page is an index range, not a sort.
        Index("ix_applications_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    # Applications outlive the connection that onboarded them.
    connection_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("connections.id", ondelete="SET NULL"), index=True
    )
    account_id: Mapped[str] = mapped_column(String(12))
    region: Mapped[str] = mapped_column(String(32))
    api_id: Mapped[str] = mapped_column(String(64))
    protocol: Mapped[str] = mapped_column(String(16))
    endpoint_type: Mapped[str] = mapped_column(String(16))
    onboarded_via: Mapped[str] = mapped_column(String(16))

    instances: Mapped[list[ApplicationInstance]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(ApplicationInstance.created_at, ApplicationInstance.url)",
        lazy="selectin",
    )
    definition: Mapped[ApplicationDefinition] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin"
    )


class ApplicationInstance(IdMixin, Base):
    """One URL the application answers at (a stage URL, a VPC endpoint URL, a custom domain)."""

    __tablename__ = "application_instances"
    __table_args__ = (UniqueConstraint("application_id", "url"),)

    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2048))
    stage: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApplicationDefinition(Base):
    """The API's definition as imported, and the attack surface read from API Gateway."""

    __tablename__ = "application_definitions"

    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True
    )
    format: Mapped[str] = mapped_column(String(16))  # openapi_3 | swagger_2
    source: Mapped[str] = mapped_column(String(16))  # aws_export | built
    stage: Mapped[str | None] = mapped_column(String(128))
    export_error: Mapped[str | None] = mapped_column(Text)
    # Canonical JSON of the document as imported; servers are set from the instances on read.
    document: Mapped[str] = deferred(mapped_column(Text, nullable=False))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    operations: Mapped[int] = mapped_column(Integer)
    unauthenticated_operations: Mapped[int] = mapped_column(Integer)
    api_key_operations: Mapped[int] = mapped_column(Integer)
    authorizer_types: Mapped[dict[str, int]] = mapped_column(JSON)
    operation_list: Mapped[list[dict[str, Any]]] = deferred(mapped_column(JSON, nullable=False))
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)

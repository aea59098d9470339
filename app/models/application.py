from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
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
    # Per stage with an instance: resource policy, WAF, mutual TLS, where it is reachable from.
    protections: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # active | retired (the API is gone from AWS) | orphaned (no connection reaches its
    # account any more); a sync that finds it again makes it active (restored).
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    retired_at: Mapped[datetime | None]
    orphaned_at: Mapped[datetime | None]
    last_synced_at: Mapped[datetime | None]

    instances: Mapped[list[ApplicationInstance]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(ApplicationInstance.created_at, ApplicationInstance.url)",
        lazy="selectin",
    )
    # Every version of every stage's definition (documents deferred); `current` marks the
    # one each stage serves now.
    definitions: Mapped[list[ApplicationDefinition]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(ApplicationDefinition.stage, ApplicationDefinition.version)",
        lazy="selectin",
    )

    @property
    def current_definitions(self) -> list[ApplicationDefinition]:
        return [definition for definition in self.definitions if definition.current]


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
    reachable_from: Mapped[str] = mapped_column(  # internet | vpc_only
        String(16), default="internet", server_default="internet"
    )
    mutual_tls: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Headers a custom domain's routing rule must see to send this URL to the stage.
    required_headers: Mapped[dict[str, str] | None] = mapped_column(JSON, default=None)
    # active | retired (its stage or custom-domain mapping is gone)
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    retired_at: Mapped[datetime | None]


class ApplicationDefinition(IdMixin, Base):
    """What one stage serves: its definition as AWS exported it (or as built where AWS has
    none), and its operations read from the stage's deployment. A stage has versions; the
    current one is what it serves now."""

    __tablename__ = "application_stage_definitions"
    __table_args__ = (
        UniqueConstraint("application_id", "stage", "version"),
        Index("ix_application_stage_definitions_current", "application_id", "current"),
    )

    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE")
    )
    stage: Mapped[str | None] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer, default=1)
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    deployment_id: Mapped[str | None] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(16))  # openapi_3 | swagger_2
    source: Mapped[str] = mapped_column(String(32))  # where the operations were read
    document_source: Mapped[str] = mapped_column(String(16))  # aws_export | built
    export_error: Mapped[str | None] = mapped_column(Text)
    valid: Mapped[bool] = mapped_column(Boolean)
    validation_errors: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Canonical JSON of the document as imported; servers are set from the instances on read.
    document: Mapped[str] = deferred(mapped_column(Text, nullable=False))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    operations: Mapped[int] = mapped_column(Integer)
    unauthenticated_operations: Mapped[int] = mapped_column(Integer)
    api_key_operations: Mapped[int] = mapped_column(Integer)
    cors_preflight_operations: Mapped[int] = mapped_column(Integer)
    exposure: Mapped[dict[str, int]] = mapped_column(JSON)
    authorizer_types: Mapped[dict[str, int]] = mapped_column(JSON)
    operation_list: Mapped[list[dict[str, Any]]] = deferred(mapped_column(JSON, nullable=False))
    # The deployment a canary serves beside the stage's own: its summary and operations.
    canary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    canary_operation_list: Mapped[list[dict[str, Any]] | None] = deferred(mapped_column(JSON))
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The stage's lastUpdatedDate when it was read: with deployment_id, what a sync compares
    # to know whether the stage changed without asking AWS for its definition.
    stage_updated_at: Mapped[datetime | None]


class ApplicationChange(IdMixin, TenantMixin, Base):
    """One thing that happened to an application, as its history shows it."""

    __tablename__ = "application_changes"
    __table_args__ = (
        Index("ix_application_changes_application_id_occurred_at", "application_id", "occurred_at"),
    )

    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE")
    )
    # onboarded | definition_changed | exposure_increased | exposure_decreased |
    # instance_added | instance_retired | retired | orphaned | restored
    kind: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    stage: Mapped[str | None] = mapped_column(String(128))
    summary: Mapped[str] = mapped_column(String(1000))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

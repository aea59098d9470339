from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TenantMixin, TimestampMixin


class Connection(IdMixin, TimestampMixin, TenantMixin, Base):
    """A tenant's AWS credentials of one credential type; secrets only ever encrypted."""

    __tablename__ = "connections"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        Index("ix_connections_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    credential_type: Mapped[str] = mapped_column(String(32))
    access_key_id: Mapped[str | None] = mapped_column(String(128))
    # Fernet token (MultiFernet over ONBOARDER_ENCRYPTION_KEYS); never the plaintext.
    secret_access_key_encrypted: Mapped[str | None] = mapped_column(Text)
    role_arn: Mapped[str | None] = mapped_column(String(2048))
    central_role_arn: Mapped[str | None] = mapped_column(String(2048))
    session_name: Mapped[str | None] = mapped_column(String(64))
    child_role_name: Mapped[str | None] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(1224))
    # aws_user: the partition of the IAM user (NULL: aws); roles take it from their ARN.
    partition: Mapped[str | None] = mapped_column(String(16))
    # What the last successful test found.
    account_id: Mapped[str | None] = mapped_column(String(12))
    arn: Mapped[str | None] = mapped_column(String(2048))
    status: Mapped[str] = mapped_column(String(16), default="untested")
    last_tested_at: Mapped[datetime | None]
    last_error_code: Mapped[str | None] = mapped_column(String(64))

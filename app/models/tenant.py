from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TimestampMixin


class Tenant(IdMixin, TimestampMixin, Base):
    __tablename__ = "tenants"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    # Random, per tenant; customers put it in their roles' trust policies as sts:ExternalId.
    external_id: Mapped[str] = mapped_column(String(64), unique=True)

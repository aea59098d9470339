"""Tenant scoping in one place: every read of a tenant's rows goes through here."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, Generic, TypeVar, cast

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.core.errors import NotFoundError
from app.models.base import Base

ModelT = TypeVar("ModelT", bound=Base)


class TenantRepository(Generic[ModelT]):
    """Reads rows of one tenant. Another tenant's row is indistinguishable from a missing one."""

    model: ClassVar[type[Any]]
    noun: ClassVar[str] = "resource"

    def __init__(self, session: Session, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id

    def statement(self) -> Select[Any]:
        return select(self.model).where(self.model.tenant_id == self.tenant_id)

    def find(self, id_: uuid.UUID) -> ModelT | None:
        statement = self.statement().where(self.model.id == id_)
        return cast("ModelT | None", self.session.scalars(statement).one_or_none())

    def get(self, id_: uuid.UUID) -> ModelT:
        row = self.find(id_)
        if row is None:
            raise NotFoundError(f"No {self.noun} with id {id_}.")
        return row

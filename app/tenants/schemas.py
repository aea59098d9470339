from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class TenantRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    external_id: str
    created_at: datetime


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key_id: str
    label: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreate(BaseModel):
    label: str | None = Field(default=None, max_length=200)


class ApiKeyCreated(ApiKeyRead):
    # The only response that ever carries a key; it cannot be shown again.
    api_key: str


class ApiKeyList(BaseModel):
    items: list[ApiKeyRead]
    next_cursor: str | None = None

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.events.schemas import EventType

Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
EventTypes = Annotated[list[EventType], Field(min_length=1, max_length=20)]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url
    # Omitted or null: every type.
    event_types: EventTypes | None = None
    description: Description | None = None


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    enabled: bool | None = None


class WebhookRead(BaseModel):
    id: uuid.UUID
    url: str
    event_types: list[EventType] | None
    description: str | None
    enabled: bool
    # Why it is disabled (by the tenant, or after failing every attempt for 5 days).
    disabled_reason: str | None
    failing_since: datetime | None
    created_at: datetime


class WebhookWithSecret(WebhookRead):
    """`secret` is shown in this answer only: keep it to verify deliveries."""

    secret: str


class SecretRead(BaseModel):
    """The new secret, shown once. The previous one still signs for 24 hours."""

    secret: str
    previous_secret_valid_until: datetime


class DeliveryRead(BaseModel):
    event_id: uuid.UUID
    type: EventType
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


class TestSent(BaseModel):
    event_id: uuid.UUID
    status: Literal["pending"]

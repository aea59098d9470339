from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

EventType = Literal[
    "application.onboarded",
    "application.changed",
    "application.exposure_increased",
    "application.retired",
    "application.orphaned",
    "application.restored",
    "run.finished",
    "connection.failed",
    "webhook.test",
    "webhook.disabled",
]


class EventRead(BaseModel):
    """Something that happened. `data` holds the ids and a `summary`; an application event
    also the `change` and the `application` as it was after it."""

    id: uuid.UUID
    type: EventType
    occurred_at: datetime
    data: dict[str, Any]


class EventPage(BaseModel):
    """Oldest first. `next_cursor` is where to read on from: never null, so a consumer keeps
    it and asks again later for what happened since (an empty page until something does)."""

    items: list[EventRead]
    next_cursor: str

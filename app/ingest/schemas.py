from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class IngestTokenRead(BaseModel):
    token: str = Field(
        description="Shown only here: the EventBridge connection's API key value (header "
        "X-Onboarder-Ingest-Token). The service keeps only its digest."
    )
    ingest_url: str = Field(description="Where the EventBridge API destination posts events.")
    created_at: datetime


class IngestAccepted(BaseModel):
    accepted: int = Field(description="API Gateway change events recorded as triggers.")
    ignored: int = Field(
        description="Events that change nothing to sync: reads, failed calls, other services."
    )


class DroppedReason(BaseModel):
    reason: str = Field(
        description="A stable code: account_not_reached, region_not_reached, out_of_scope, "
        "no_schedule, connection_deleted, or the AWS failure's code (role_not_assumable, "
        "access_denied, ...) when AWS refused the sync."
    )
    count: int
    detail: str | None = Field(default=None, description="The latest such trigger's reason.")


class TriggerRead(BaseModel):
    id: uuid.UUID
    event_name: str
    account_id: str
    region: str
    target: str = Field(description="api:<api id>, or domain:<domain name>.")
    received_at: datetime
    status: str = Field(description="pending, processing, done, dropped or failed.")
    outcome: str | None = Field(
        default=None,
        description="What the sync did: onboarded, synced, unchanged, retired, "
        "held_for_approval, no_stage, gone.",
    )
    reason_code: str | None = None
    reason: str | None = None
    application_id: uuid.UUID | None = None
    finished_at: datetime | None = None


class IngestStatus(BaseModel):
    enabled: bool = Field(description="Whether the connection has an ingest token.")
    ingest_url: str
    token_created_at: datetime | None
    last_event_at: datetime | None = Field(
        description="The last request that carried the token (events recorded or ignored)."
    )
    events_24h: int = Field(description="Change events recorded in the last 24 hours.")
    pending: int = Field(description="Triggers waiting for their debounce window or a sync.")
    dropped_24h: list[DroppedReason]
    recent: list[TriggerRead] = Field(description="The last 20 triggers, newest first.")

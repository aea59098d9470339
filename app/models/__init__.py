"""All tables, imported here so that Alembic and the mappers see every one of them."""

from app.models.api_key import ApiKey
from app.models.application import (
    Application,
    ApplicationChange,
    ApplicationDefinition,
    ApplicationInstance,
)
from app.models.auto_onboard import AutoOnboardRun, AutoOnboardSchedule
from app.models.base import Base
from app.models.candidate import ApiCandidate
from app.models.connection import Connection
from app.models.event import Event, EventSequence, WebhookDelivery, WebhookEndpoint
from app.models.ingest import IngestToken, IngestTrigger
from app.models.tenant import Tenant

__all__ = [
    "ApiCandidate",
    "ApiKey",
    "Application",
    "ApplicationChange",
    "ApplicationDefinition",
    "ApplicationInstance",
    "AutoOnboardRun",
    "AutoOnboardSchedule",
    "Base",
    "Connection",
    "Event",
    "EventSequence",
    "IngestToken",
    "IngestTrigger",
    "Tenant",
    "WebhookDelivery",
    "WebhookEndpoint",
]

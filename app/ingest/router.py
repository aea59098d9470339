from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Security, status
from fastapi.exceptions import RequestValidationError
from fastapi.security import APIKeyHeader

from app.connections.dependencies import ValidConnection
from app.core.db import DatabaseRoute, SessionDep
from app.core.errors import DomainError
from app.core.openapi import problems
from app.ingest import cloudtrail, service
from app.ingest.schemas import (
    DroppedReason,
    IngestAccepted,
    IngestStatus,
    IngestTokenRead,
    TriggerRead,
)
from app.models.base import utcnow
from app.setup.events import event_forwarding
from app.setup.schemas import EventForwardingSetup
from app.setup.templates import INGEST_TOKEN_HEADER as TOKEN_HEADER

router = APIRouter(tags=["real-time updates"], route_class=DatabaseRoute)

# What one EventBridge API destination request carries at most (an event is up to 256 KiB).
MAX_BODY_BYTES = 256 * 1024


class PayloadTooLargeError(DomainError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"
    hint = "Send one EventBridge event, or fewer at a time (256 KiB per request at most)."


def ingest_url(request: Request, connection_id: uuid.UUID) -> str:
    """Where AWS posts the connection's events: ONBOARDER_PUBLIC_URL, else this request's."""
    path = str(request.app.url_path_for("receive_aws_events", connection_id=str(connection_id)))
    public: str | None = request.app.state.settings.public_url
    if public:
        return f"{public}{path}"
    return str(request.base_url).rstrip("/") + path


async def _body(request: Request) -> bytes:
    """The raw body, refused past MAX_BODY_BYTES before it is all read."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"The body is {declared} bytes; at most {MAX_BODY_BYTES}.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLargeError(f"The body is over {MAX_BODY_BYTES} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


RawBody = Annotated[bytes, Depends(_body)]
# Names the scheme in the OpenAPI document; a missing or wrong token is the service's own 401.
ingest_token = APIKeyHeader(
    name=TOKEN_HEADER,
    scheme_name="IngestToken",
    description="A connection's ingest token (POST /connections/{id}/ingest-token): what its "
    "EventBridge API destination sends. Only POST /aws/events/{connection_id} takes it.",
    auto_error=False,
)
IngestTokenHeader = Annotated[str | None, Security(ingest_token)]


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body",),
                    "msg": f"is not JSON: {exc}",
                    "input": None,
                }
            ]
        ) from None


@router.post(
    "/aws/events/{connection_id}",
    name="receive_aws_events",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=IngestAccepted,
    responses=problems(401, 404, 413),
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "One EventBridge event, or a JSON array of them, as an EventBridge "
            "API destination sends them.",
            "content": {"application/json": {"schema": {"type": ["object", "array"]}}},
        }
    },
)
def receive_aws_events(
    connection_id: uuid.UUID, body: RawBody, session: SessionDep, token: IngestTokenHeader
) -> IngestAccepted:
    """AWS change events in (no API key: the connection's ingest token). API Gateway's change
    calls are recorded as triggers and synced by the scheduler within a minute; nothing asks
    AWS here."""
    row = service.authenticate(session=session, connection_id=connection_id, presented=token)
    parsed = cloudtrail.parse(_json(body))
    service.record(session=session, token=row, changes=parsed.changes, now=utcnow())
    return IngestAccepted(accepted=len(parsed.changes), ignored=parsed.ignored)


@router.post(
    "/connections/{connection_id}/ingest-token",
    status_code=status.HTTP_201_CREATED,
    response_model=IngestTokenRead,
)
def create_ingest_token(
    request: Request, connection: ValidConnection, session: SessionDep
) -> IngestTokenRead:
    """Turn real-time updates on, or replace the token (the old one stops working at once)."""
    token, created_at = service.issue_token(session=session, connection=connection, now=utcnow())
    return IngestTokenRead(
        token=token, ingest_url=ingest_url(request, connection.id), created_at=created_at
    )


@router.delete("/connections/{connection_id}/ingest-token", status_code=status.HTTP_204_NO_CONTENT)
def delete_ingest_token(connection: ValidConnection, session: SessionDep) -> None:
    """Turn real-time updates off: the token stops working at once."""
    service.revoke_token(session=session, connection=connection)


@router.get("/connections/{connection_id}/ingest", response_model=IngestStatus)
def read_ingest_status(
    request: Request, connection: ValidConnection, session: SessionDep
) -> IngestStatus:
    found = service.status(session=session, connection=connection, now=utcnow())
    return IngestStatus(
        enabled=found.enabled,
        ingest_url=ingest_url(request, connection.id),
        token_created_at=found.token_created_at,
        last_event_at=found.last_event_at,
        events_24h=found.events_24h,
        pending=found.pending,
        dropped_24h=[DroppedReason(**entry) for entry in found.dropped_24h],
        recent=[TriggerRead.model_validate(row, from_attributes=True) for row in found.recent],
    )


@router.get("/connections/{connection_id}/ingest/setup", response_model=EventForwardingSetup)
def read_ingest_setup(
    request: Request, connection: ValidConnection, session: SessionDep
) -> EventForwardingSetup:
    """The AWS side, filled in: a StackSet for a central role (every member account, the
    schedule's regions), else one stack per region."""
    return event_forwarding(
        credential_type=connection.credential_type,
        ingest_url=ingest_url(request, connection.id),
        regions=service.regions_of(session=session, connection=connection),
    )

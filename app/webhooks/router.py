"""Webhook endpoints of a tenant over HTTP: CRUD, secret rotation, test, delivery log."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from sqlalchemy import select

from app.connections.dependencies import SecretBoxDep
from app.core.config import Mode
from app.core.db import DatabaseRoute, SessionDep, ends_transaction
from app.core.errors import ValidationFailedError
from app.core.openapi import problems
from app.core.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, Page, paginate
from app.events import service as events
from app.models import WebhookDelivery, WebhookEndpoint
from app.models.base import utcnow
from app.tenants.dependencies import CurrentTenant
from app.webhooks import service
from app.webhooks.schemas import (
    DeliveryRead,
    SecretRead,
    TestSent,
    WebhookCreate,
    WebhookRead,
    WebhookUpdate,
    WebhookWithSecret,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"], route_class=DatabaseRoute)


@ends_transaction
def valid_webhook(
    webhook_id: uuid.UUID, tenant: CurrentTenant, session: SessionDep
) -> WebhookEndpoint:
    found = service.WebhookRepository(session, tenant.id).find(webhook_id)
    if found is None:
        raise service.webhook_not_found(webhook_id)
    return found


ValidWebhook = Annotated[WebhookEndpoint, Depends(valid_webhook)]


def _production(request: Request) -> bool:
    return bool(request.app.state.settings.mode is Mode.PRODUCTION)


def to_read(endpoint: WebhookEndpoint) -> WebhookRead:
    return WebhookRead.model_validate(endpoint, from_attributes=True)


@router.post(
    "",
    response_model=WebhookWithSecret,
    status_code=status.HTTP_201_CREATED,
    responses=problems(422),
)
def create_webhook(
    data: WebhookCreate,
    tenant: CurrentTenant,
    session: SessionDep,
    box: SecretBoxDep,
    request: Request,
) -> WebhookWithSecret:
    """Add a receiver. Its `secret` (to verify signatures) is in this answer only. In
    production mode the URL must be https:// and resolve to public addresses only."""
    endpoint, secret = service.create(
        session,
        tenant_id=tenant.id,
        url=data.url,
        event_types=list(data.event_types) if data.event_types is not None else None,
        description=data.description,
        box=box,
        production=_production(request),
    )
    return WebhookWithSecret(**to_read(endpoint).model_dump(), secret=secret)


@router.get("", response_model=Page[WebhookRead])
def list_webhooks(
    tenant: CurrentTenant,
    session: SessionDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[WebhookRead]:
    rows, next_cursor = paginate(
        session,
        service.WebhookRepository(session, tenant.id).statement(),
        WebhookEndpoint,
        limit=limit,
        cursor=cursor,
    )
    return Page[WebhookRead](items=[to_read(row) for row in rows], next_cursor=next_cursor)


@router.get("/{webhook_id}", response_model=WebhookRead)
def read_webhook(endpoint: ValidWebhook) -> WebhookRead:
    return to_read(endpoint)


@router.patch("/{webhook_id}", response_model=WebhookRead, responses=problems(422))
def update_webhook(
    endpoint: ValidWebhook, data: WebhookUpdate, session: SessionDep, request: Request
) -> WebhookRead:
    """Change the URL, types or description; `enabled: true` brings back a disabled
    endpoint (its pending deliveries are attempted again)."""
    changes = data.model_dump(exclude_unset=True)
    for field in ("url", "enabled"):
        if field in changes and changes[field] is None:
            raise ValidationFailedError(field, "cannot be removed")
    service.update(session, endpoint, changes, production=_production(request))
    return to_read(endpoint)


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(endpoint: ValidWebhook, session: SessionDep) -> None:
    """Remove the receiver and its pending deliveries (the events stay in the feed)."""
    session.delete(endpoint)
    session.flush()


@router.post("/{webhook_id}/rotate-secret", response_model=SecretRead)
def rotate_secret(endpoint: ValidWebhook, session: SessionDep, box: SecretBoxDep) -> SecretRead:
    """A new secret, shown once. Deliveries carry signatures with both for 24 hours."""
    secret = service.rotate_secret(session, endpoint, box=box)
    assert endpoint.previous_secret_until is not None
    return SecretRead(secret=secret, previous_secret_valid_until=endpoint.previous_secret_until)


@router.post(
    "/{webhook_id}/test",
    response_model=TestSent,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problems(409),
)
def test_webhook(endpoint: ValidWebhook, session: SessionDep) -> TestSent:
    """Send a `webhook.test` event to this endpoint alone; see it in its deliveries."""
    if not endpoint.enabled:
        raise service.webhook_disabled(endpoint)
    event = events.emit(
        session,
        tenant_id=endpoint.tenant_id,
        type=events.WEBHOOK_TEST,
        data={
            "webhook_id": str(endpoint.id),
            "summary": "A test delivery: the receiver verified its signature if it says 2xx.",
        },
        only_endpoint_id=endpoint.id,
    )
    return TestSent(event_id=event.id, status="pending")


@router.get("/{webhook_id}/deliveries", response_model=Page[DeliveryRead])
def list_deliveries(
    endpoint: ValidWebhook,
    session: SessionDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[DeliveryRead]:
    """This endpoint's deliveries, newest first."""
    statement = select(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint.id,
        WebhookDelivery.tenant_id == endpoint.tenant_id,
    )
    rows, next_cursor = paginate(
        session, statement, WebhookDelivery, limit=limit, cursor=cursor, newest_first=True
    )
    return Page[DeliveryRead](items=[_delivery(row) for row in rows], next_cursor=next_cursor)


def _delivery(row: WebhookDelivery) -> DeliveryRead:
    return DeliveryRead(
        event_id=row.event_id,
        type=row.event_type,
        status=row.status,
        attempts=row.attempts,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        last_attempt_at=row.last_attempt_at,
        next_attempt_at=row.next_attempt_at,
        delivered_at=row.delivered_at,
        created_at=row.created_at,
    )


@router.post(
    "/{webhook_id}/deliveries/{event_id}/retry",
    response_model=DeliveryRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problems(404, 409),
)
def retry_delivery(
    endpoint: ValidWebhook, event_id: uuid.UUID, session: SessionDep
) -> DeliveryRead:
    """Attempt a pending or failed delivery again now."""
    return _delivery(service.retry(session, endpoint, event_id, now=utcnow()))

"""Webhook endpoints of a tenant, their secrets, and the deliveries that events queue.

A secret is `whsec_` and 32 random bytes in base64 (the Standard Webhooks form); it is shown
once, when it is made, and kept encrypted like connection secrets. After a rotation the old
secret still signs (beside the new one: the header carries both signatures) for
`PREVIOUS_SECRET_HOURS`, so a receiver can switch without losing a delivery.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from app.core.errors import ConflictError, NotFoundError
from app.core.repository import TenantRepository
from app.core.security import SecretBox
from app.models import Event, WebhookDelivery, WebhookEndpoint
from app.models.base import utcnow
from app.webhooks import guard

logger = logging.getLogger(__name__)

PREVIOUS_SECRET_HOURS = 24
SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every secret, not a secret


class WebhookRepository(TenantRepository[WebhookEndpoint]):
    model = WebhookEndpoint


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def webhook_not_found(endpoint_id: uuid.UUID) -> NotFoundError:
    return NotFoundError(
        f"Webhook {endpoint_id} not found.", hint="List your webhooks with GET /webhooks."
    )


def create(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    url: str,
    event_types: list[str] | None,
    description: str | None,
    box: SecretBox,
    production: bool,
) -> tuple[WebhookEndpoint, str]:
    guard.check(url, production=production)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        tenant_id=tenant_id,
        url=url,
        event_types=event_types,
        description=description,
        enabled=True,
        secret_encrypted=box.encrypt(secret),
    )
    session.add(endpoint)
    session.flush()
    logger.info("webhook created", extra={"webhook_id": str(endpoint.id)})
    return endpoint, secret


def update(
    session: Session,
    endpoint: WebhookEndpoint,
    changes: Mapping[str, Any],
    *,
    production: bool,
) -> WebhookEndpoint:
    if "url" in changes:
        guard.check(changes["url"], production=production)
        endpoint.url = changes["url"]
    if "event_types" in changes:
        endpoint.event_types = changes["event_types"]
    if "description" in changes:
        endpoint.description = changes["description"]
    if "enabled" in changes and changes["enabled"] != endpoint.enabled:
        endpoint.enabled = bool(changes["enabled"])
        if endpoint.enabled:  # a fresh start: its pending deliveries are attempted again
            endpoint.failing_since = endpoint.disabled_at = endpoint.disabled_reason = None
        else:
            endpoint.disabled_at, endpoint.disabled_reason = utcnow(), "Disabled by the tenant."
    session.flush()
    return endpoint


def rotate_secret(
    session: Session, endpoint: WebhookEndpoint, *, box: SecretBox, now: datetime | None = None
) -> str:
    now = now or utcnow()
    secret = new_secret()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_secret_until = now + timedelta(hours=PREVIOUS_SECRET_HOURS)
    endpoint.secret_encrypted = box.encrypt(secret)
    session.flush()
    logger.info("webhook secret rotated", extra={"webhook_id": str(endpoint.id)})
    return secret


def signing_secrets(endpoint: WebhookEndpoint, box: SecretBox, now: datetime) -> list[str]:
    found = [box.decrypt(endpoint.secret_encrypted)]
    until = endpoint.previous_secret_until
    if endpoint.previous_secret_encrypted and until is not None and until > now:
        found.append(box.decrypt(endpoint.previous_secret_encrypted))
    return found


def body_of(event: Event) -> str:
    """What a delivery posts: the same bytes at every attempt."""
    return json.dumps(
        {"type": event.type, "timestamp": event.occurred_at.isoformat(), "data": event.data},
        separators=(",", ":"),
        sort_keys=True,
    )


def headers_for(message_id: str, body: str, keys: Iterable[str], now: datetime) -> dict[str, str]:
    """The Standard Webhooks headers: one `v1,` signature per secret, space-separated."""
    signatures = " ".join(Webhook(key).sign(message_id, now, body) for key in keys)
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signatures,
        "user-agent": "Onboarder-Webhooks/1",
    }


def enqueue(
    session: Session, events: list[Event], *, only: Mapping[uuid.UUID, uuid.UUID] | None = None
) -> int:
    """A pending delivery of each event to each endpoint of its tenant that takes its type
    (or to the one endpoint `only` names for it); returns how many."""
    only = only or {}
    tenants = {event.tenant_id for event in events}
    endpoints: dict[uuid.UUID, list[WebhookEndpoint]] = defaultdict(list)
    for endpoint in session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.tenant_id.in_(tenants))
    ):
        endpoints[endpoint.tenant_id].append(endpoint)
    now = utcnow()
    queued = 0
    for event in events:
        target = only.get(event.id)
        for endpoint in endpoints[event.tenant_id]:
            if target is not None:
                if endpoint.id != target:
                    continue
            elif endpoint.event_types is not None and event.type not in endpoint.event_types:
                continue
            # A disabled endpoint's deliveries wait (the worker claims none of them) and go
            # out when it is enabled again: never not at all while the endpoint exists.
            session.add(
                WebhookDelivery(
                    tenant_id=event.tenant_id,
                    endpoint_id=endpoint.id,
                    event_id=event.id,
                    event_type=event.type,
                    created_at=now,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                )
            )
            queued += 1
    return queued


def retry(
    session: Session, endpoint: WebhookEndpoint, event_id: uuid.UUID, *, now: datetime | None = None
) -> WebhookDelivery:
    """Attempt a delivery again now (one more attempt if it had failed)."""
    delivery = session.scalars(
        select(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.tenant_id == endpoint.tenant_id,
            WebhookDelivery.event_id == event_id,
        )
    ).one_or_none()
    if delivery is None:
        raise NotFoundError(
            f"No delivery of event {event_id} to webhook {endpoint.id}.",
            hint=f"List its deliveries with GET /webhooks/{endpoint.id}/deliveries.",
        )
    if delivery.status == "delivered":
        raise ConflictError(
            f"Event {event_id} was delivered to webhook {endpoint.id} already.",
            code="webhook_delivered",
            hint="Receivers get each event at least once; there is nothing to retry.",
        )
    if not endpoint.enabled:
        raise webhook_disabled(endpoint)
    now = now or utcnow()
    delivery.status = "pending"
    delivery.next_attempt_at = now
    if delivery.claimed_until is not None and delivery.claimed_until <= now:
        # A claim that ran out; a live one is an attempt under way, which records itself.
        delivery.claimed_by = delivery.claimed_until = None
    session.flush()
    return delivery


def webhook_disabled(endpoint: WebhookEndpoint) -> ConflictError:
    return ConflictError(
        f"Webhook {endpoint.id} is disabled"
        + (f": {endpoint.disabled_reason}" if endpoint.disabled_reason else "."),
        code="webhook_disabled",
        hint=f'Enable it first: PATCH /webhooks/{endpoint.id} {{"enabled": true}}.',
    )

"""Tenants and their API keys."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.errors import (
    ConflictError,
    NotFoundError,
    UnauthorizedError,
    ValidationFailedError,
)
from app.core.security import (
    api_key_matches,
    generate_api_key,
    generate_external_id,
    parse_api_key,
)
from app.models import ApiKey, Tenant
from app.models.base import utcnow


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    plaintext: str


def create_tenant(*, session: Session, name: str) -> tuple[Tenant, IssuedKey]:
    name = name.strip()
    if not name:
        raise ValidationFailedError("name", "must not be empty")
    if session.scalars(select(Tenant).where(Tenant.name == name)).first() is not None:
        raise ConflictError(f"A tenant named {name!r} exists already.")
    tenant = Tenant(name=name, external_id=generate_external_id())
    session.add(tenant)
    try:
        session.flush()
    except IntegrityError:
        raise ConflictError(f"A tenant named {name!r} exists already.") from None
    return tenant, create_api_key(session=session, tenant=tenant, label="initial")


def find_tenant(*, session: Session, ref: str) -> Tenant:
    """A tenant by id or by name (for the CLI)."""
    try:
        tenant = session.get(Tenant, uuid.UUID(ref))
    except ValueError:
        tenant = None
    if tenant is None:
        tenant = session.scalars(select(Tenant).where(Tenant.name == ref)).first()
    if tenant is None:
        raise NotFoundError(f"No tenant with id or name {ref!r}.")
    return tenant


def list_tenants(*, session: Session) -> list[Tenant]:
    return list(session.scalars(select(Tenant).order_by(Tenant.created_at, Tenant.id)))


def create_api_key(
    *, session: Session, tenant: Tenant, label: str | None = None, limit: int | None = None
) -> IssuedKey:
    """A new key for the tenant; with `limit`, a 409 once the tenant holds that many."""
    if limit is not None:
        # Locks the tenant's row (PostgreSQL), so that simultaneous requests cannot both
        # take the last place.
        session.scalars(select(Tenant.id).where(Tenant.id == tenant.id).with_for_update()).one()
        held = session.scalar(
            select(func.count())
            .select_from(ApiKey)
            .where(ApiKey.tenant_id == tenant.id, ApiKey.revoked_at.is_(None))
        )
        if held is not None and held >= limit:
            raise ConflictError(
                f"This tenant holds {held} API keys, the most it may hold.",
                code="api_key_limit_reached",
                hint="Revoke the keys no longer in use (DELETE /api/v1/api-keys/{key_id}), or "
                "ask the operator to raise ONBOARDER_MAX_API_KEYS_PER_TENANT.",
                extra={"limit": limit},
            )
    new_key = generate_api_key()
    api_key = ApiKey(
        tenant_id=tenant.id, key_id=new_key.key_id, secret_hash=new_key.secret_hash, label=label
    )
    session.add(api_key)
    session.flush()
    return IssuedKey(api_key=api_key, plaintext=new_key.plaintext)


def list_api_keys(*, session: Session, tenant_id: uuid.UUID) -> list[ApiKey]:
    statement = (
        select(ApiKey)
        .where(ApiKey.tenant_id == tenant_id)
        .order_by(ApiKey.created_at, ApiKey.key_id)
    )
    return list(session.scalars(statement))


def revoke_api_key(*, session: Session, key_id: str, tenant_id: uuid.UUID | None = None) -> ApiKey:
    """Revoke a key by its public id. With tenant_id, only that tenant's keys are visible."""
    statement = select(ApiKey).where(ApiKey.key_id == key_id)
    if tenant_id is not None:
        statement = statement.where(ApiKey.tenant_id == tenant_id)
    api_key = session.scalars(statement).first()
    if api_key is None:
        raise NotFoundError(f"No API key with id {key_id!r}.")
    if api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
        session.flush()
    return api_key


def authenticate(*, session: Session, presented: str | None, touch_interval: timedelta) -> Tenant:
    if not presented:
        raise UnauthorizedError("This request has no API key.")
    key_id = parse_api_key(presented)
    api_key = (
        session.scalars(select(ApiKey).where(ApiKey.key_id == key_id)).first() if key_id else None
    )
    if api_key is None or not api_key_matches(presented, api_key.secret_hash):
        raise UnauthorizedError("The API key is not valid.")
    if api_key.revoked_at is not None:
        raise UnauthorizedError(
            "The API key has been revoked.", hint="Ask your administrator for a new key."
        )
    tenant = session.get(Tenant, api_key.tenant_id)
    if tenant is None:  # pragma: no cover - the foreign key cascades
        raise UnauthorizedError("The API key is not valid.")
    now = utcnow()
    if api_key.last_used_at is None or now - api_key.last_used_at >= touch_interval:
        api_key.last_used_at = now
        session.flush()
    return tenant

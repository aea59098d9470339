from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request

from app.core.context import get_request_context
from app.core.db import SessionDep, ends_transaction
from app.models import Tenant
from app.tenants import service


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


@ends_transaction
def current_tenant(request: Request, session: SessionDep) -> Tenant:
    settings = request.app.state.settings
    tenant = service.authenticate(
        session=session,
        presented=_bearer_token(request),
        touch_interval=timedelta(seconds=settings.api_key_touch_interval_seconds),
    )
    context = get_request_context()
    if context is not None:
        context.tenant_id = tenant.id
    return tenant


CurrentTenant = Annotated[Tenant, Depends(current_tenant)]

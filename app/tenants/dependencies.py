from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.core.context import get_request_context
from app.core.db import SessionDep, ends_transaction
from app.models import Tenant
from app.tenants import service

# Reads `Authorization: Bearer <key>` and names the scheme in the OpenAPI document. It never
# answers by itself (auto_error=False): a missing or wrong key is the service's own 401.
api_key = HTTPBearer(
    scheme_name="ApiKey",
    bearerFormat="onb_<key id>_<secret>",
    description="A tenant API key (`onboarder keys create`, or POST /api/v1/api-keys).",
    auto_error=False,
)
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Security(api_key)]


@ends_transaction
def current_tenant(request: Request, session: SessionDep, credentials: BearerCredentials) -> Tenant:
    settings = request.app.state.settings
    tenant = service.authenticate(
        session=session,
        presented=credentials.credentials if credentials else None,
        touch_interval=timedelta(seconds=settings.api_key_touch_interval_seconds),
    )
    context = get_request_context()
    if context is not None:
        context.tenant_id = tenant.id
    return tenant


CurrentTenant = Annotated[Tenant, Depends(current_tenant)]

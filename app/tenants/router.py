from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, status

from app.core.db import DatabaseRoute, SessionDep
from app.core.openapi import problems
from app.tenants import service
from app.tenants.dependencies import CurrentTenant
from app.tenants.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyList, ApiKeyRead, TenantRead

router = APIRouter(tags=["tenant"], route_class=DatabaseRoute)

# What `key_id` looks like (ApiKeyRead.key_id); any other is no key of the tenant's (404).
KEY_ID = r"^[0-9a-f]{16}$"


@router.get("/tenant", response_model=TenantRead)
def read_tenant(tenant: CurrentTenant) -> TenantRead:
    return TenantRead.model_validate(tenant)


@router.get("/api-keys", response_model=ApiKeyList)
def list_api_keys(tenant: CurrentTenant, session: SessionDep) -> ApiKeyList:
    keys = service.list_api_keys(session=session, tenant_id=tenant.id)
    return ApiKeyList(items=[ApiKeyRead.model_validate(key) for key in keys])


@router.post(
    "/api-keys",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    responses=problems(409),
)
def create_api_key(
    body: ApiKeyCreate, tenant: CurrentTenant, session: SessionDep, request: Request
) -> ApiKeyCreated:
    issued = service.create_api_key(
        session=session,
        tenant=tenant,
        label=body.label,
        limit=request.app.state.settings.max_api_keys_per_tenant,
    )
    return ApiKeyCreated(
        **ApiKeyRead.model_validate(issued.api_key).model_dump(), api_key=issued.plaintext
    )


@router.delete("/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_api_key(
    key_id: Annotated[str, Path(description="The key's id", json_schema_extra={"pattern": KEY_ID})],
    tenant: CurrentTenant,
    session: SessionDep,
) -> None:
    service.revoke_api_key(session=session, key_id=key_id, tenant_id=tenant.id)

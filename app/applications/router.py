from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status

from app.applications import service
from app.applications.dependencies import OnboardingServicesDep, ValidApplication
from app.applications.schemas import (
    ApplicationCreate,
    ApplicationRead,
    ApplicationRegionList,
    ApplicationRegionRead,
    ApplicationStatus,
    InstanceSelection,
    OperationList,
    OperationRead,
)
from app.applications.views import read as _read
from app.applications.views import to_read
from app.core.db import DatabaseRoute, SessionDep
from app.core.openapi import problem, problems
from app.core.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, Page
from app.tenants.dependencies import CurrentTenant

router = APIRouter(prefix="/applications", tags=["applications"], route_class=DatabaseRoute)

# Onboarding asks AWS about the API and for its definition.
_ONBOARDING_PROBLEMS = problems(409, 502, 504)


@router.post(
    "",
    response_model=ApplicationRead,
    status_code=status.HTTP_201_CREATED,
    responses={
        **_ONBOARDING_PROBLEMS,
        404: problem(404, "The API is not in that account and region (`api_not_found`)."),
    },
)
def onboard(
    body: ApplicationCreate,
    tenant: CurrentTenant,
    session: SessionDep,
    services: OnboardingServicesDep,
) -> ApplicationRead:
    application = service.onboard(session=session, tenant=tenant, data=body, services=services)
    return to_read(application)


@router.get("", response_model=Page[ApplicationRead])
def list_applications(
    tenant: CurrentTenant,
    session: SessionDep,
    connection_id: uuid.UUID | None = None,
    account_id: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
    region: str | None = None,
    api_id: str | None = None,
    protocol: Literal["REST", "HTTP", "WEBSOCKET"] | None = None,
    onboarded_via: Literal["manual", "auto_onboard"] | None = None,
    status: ApplicationStatus | None = None,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="Part of the name (any case)."),
    ] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[ApplicationRead]:
    filters = {
        "connection_id": connection_id,
        "account_id": account_id,
        "region": region,
        "api_id": api_id,
        "protocol": protocol,
        "onboarded_via": onboarded_via,
        "status": status,
    }
    listing = service.list_page(
        session=session,
        tenant=tenant,
        filters=filters,
        limit=limit,
        cursor=cursor,
        name_contains=q,
    )
    return Page[ApplicationRead](
        items=[
            _read(row, listing.instances[row.id], listing.definitions[row.id])
            for row in listing.applications
        ],
        next_cursor=listing.next_cursor,
    )


@router.get("/regions", response_model=ApplicationRegionList)
def list_regions(tenant: CurrentTenant, session: SessionDep) -> ApplicationRegionList:
    """The regions the tenant's applications are in, each with how many."""
    return ApplicationRegionList(
        items=[
            ApplicationRegionRead(region=region, applications=count)
            for region, count in service.regions(session=session, tenant=tenant)
        ]
    )


@router.get("/{application_id}", response_model=ApplicationRead)
def read_application(application: ValidApplication) -> ApplicationRead:
    return to_read(application)


@router.post(
    "/{application_id}/instances", response_model=ApplicationRead, responses=_ONBOARDING_PROBLEMS
)
def add_instances(
    body: InstanceSelection,
    application: ValidApplication,
    session: SessionDep,
    services: OnboardingServicesDep,
) -> ApplicationRead:
    updated = service.add_instances(
        session=session, application=application, selection=body, services=services
    )
    return to_read(updated)


_DEFINITION_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: problem(
        404,
        "No such application, or no definition of that stage or version (`definition_not_found`).",
    )
}
StageQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=128, description="The stage; default: the first instance's."),
]


@router.get("/{application_id}/openapi", responses=_DEFINITION_NOT_FOUND)
def read_definition(
    application: ValidApplication,
    stage: StageQuery = None,
    version: Annotated[int | None, Query(ge=1, description="Default: the current one.")] = None,
) -> dict[str, Any]:
    """A stage's definition as imported (OpenAPI 3 or Swagger 2.0), servers set to that
    stage's instance URLs. Check `valid` on the application's definitions: an export that is
    not valid OpenAPI is kept as AWS answered it, and flagged."""
    return service.definition_document(application=application, stage=stage, version=version)


@router.get(
    "/{application_id}/operations", response_model=OperationList, responses=_DEFINITION_NOT_FOUND
)
def list_operations(
    application: ValidApplication,
    stage: StageQuery = None,
    canary: Annotated[
        bool, Query(description="The operations the stage's canary deployment serves.")
    ] = False,
) -> OperationList:
    return OperationList(
        items=[
            OperationRead(**operation)
            for operation in service.operations(application=application, stage=stage, canary=canary)
        ]
    )


@router.delete("/{application_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_application(application: ValidApplication, session: SessionDep) -> None:
    service.delete(session=session, application=application)

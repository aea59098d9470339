from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from app.core.db import DatabaseRoute
from app.core.openapi import problem
from app.setup import service
from app.setup.schemas import AccountId, AwsSetup
from app.tenants.dependencies import CurrentTenant

router = APIRouter(tags=["setup"], route_class=DatabaseRoute)


@router.get(
    "/aws/setup",
    response_model=AwsSetup,
    responses={
        503: problem(
            503,
            "The service cannot tell its own AWS identity (`platform_identity_unavailable`; "
            "the problem still carries `external_id`, `read_only_policy` and "
            "`instructions.aws_user`: an IAM user trusts no platform identity), "
            "or the database is saturated or away (`database_busy`, `database_unavailable`: "
            "with `Retry-After`).",
        )
    },
)
def read_aws_setup(
    request: Request,
    tenant: CurrentTenant,
    management_account_id: Annotated[
        AccountId | None,
        Query(description="Filled in as the child-role template's ManagementAccountId default."),
    ] = None,
) -> AwsSetup:
    return service.aws_setup(
        tenant=tenant,
        configured_principal_arn=request.app.state.settings.platform_principal_arn,
        management_account_id=management_account_id,
    )

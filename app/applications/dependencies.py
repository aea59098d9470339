from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from app.applications import service
from app.applications.service import Services
from app.connections.dependencies import ProbeContextDep, SecretBoxDep
from app.core.db import SessionDep, ends_transaction
from app.models import Application
from app.tenants.dependencies import CurrentTenant


@ends_transaction
def valid_application(
    application_id: uuid.UUID, tenant: CurrentTenant, session: SessionDep
) -> Application:
    """The tenant's application, or 404: another tenant's application does not exist for it."""
    return service.get(session=session, tenant=tenant, application_id=application_id)


async def onboarding_services(
    request: Request, box: SecretBoxDep, context: ProbeContextDep
) -> Services:
    return Services(
        engine=request.app.state.discovery,
        box=box,
        context=context,
        max_definition_bytes=request.app.state.settings.max_definition_bytes,
    )


ValidApplication = Annotated[Application, Depends(valid_application)]
OnboardingServicesDep = Annotated[Services, Depends(onboarding_services)]

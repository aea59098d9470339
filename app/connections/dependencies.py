from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from app.connections import service
from app.connections.test_tokens import TestTokenSigner
from app.core.db import SessionDep, ends_transaction
from app.core.security import SecretBox, load_encryption_keys
from app.integrations.aws.credentials import ProbeContext
from app.integrations.aws.deadlines import interactive_timeouts
from app.integrations.aws.sessions import AwsSession
from app.models import Connection
from app.tenants.dependencies import CurrentTenant


@ends_transaction
def valid_connection(
    connection_id: uuid.UUID, tenant: CurrentTenant, session: SessionDep
) -> Connection:
    """The tenant's connection, or 404: another tenant's connection does not exist for it."""
    return service.get(session=session, tenant=tenant, connection_id=connection_id)


async def secret_box(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.secret_box
    return box


async def test_token_signer(request: Request) -> TestTokenSigner:
    """Keyed from the same key material as the secret box (built once per app)."""
    state = request.app.state
    signer: TestTokenSigner | None = getattr(state, "connection_test_token_signer", None)
    if signer is None:
        signer = TestTokenSigner(load_encryption_keys(state.settings))
        state.connection_test_token_signer = signer
    return signer


async def probe_context(request: Request, tenant: CurrentTenant) -> ProbeContext:
    settings = request.app.state.settings
    # A person waits on this request: short SDK limits, and a deadline from now.
    return ProbeContext(
        platform=AwsSession.platform,
        tenant_external_id=tenant.external_id,
        max_workers=settings.aws_max_concurrency,
        platform_principal_arn=settings.platform_principal_arn,
        timeouts=interactive_timeouts(settings.aws_interactive_read_timeout_seconds),
    ).with_deadline(settings.aws_interactive_deadline_seconds)


ValidConnection = Annotated[Connection, Depends(valid_connection)]
SecretBoxDep = Annotated[SecretBox, Depends(secret_box)]
TestTokenSignerDep = Annotated[TestTokenSigner, Depends(test_token_signer)]
ProbeContextDep = Annotated[ProbeContext, Depends(probe_context)]

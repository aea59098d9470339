from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy.orm import Session

from app.connections import service
from app.connections.dependencies import (
    ProbeContextDep,
    SecretBoxDep,
    TestTokenSignerDep,
    ValidConnection,
)
from app.connections.schemas import (
    AccountRead,
    AwsFailureRead,
    CheckRead,
    ConnectionCreate,
    ConnectionRead,
    ConnectionTestRead,
    ConnectionTestRequest,
    ConnectionUpdate,
)
from app.core.db import DatabaseRoute, SessionDep
from app.core.openapi import problems
from app.core.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, Page
from app.integrations.aws.credentials import ProbeResult
from app.lifecycle import service as lifecycle
from app.models import Connection
from app.models.base import utcnow
from app.schedules import service as schedules_service
from app.schedules.schemas import ScheduleSummary
from app.tenants.dependencies import CurrentTenant

router = APIRouter(prefix="/connections", tags=["connections"], route_class=DatabaseRoute)


def to_read(connection: Connection, session: Session) -> ConnectionRead:
    return to_reads([connection], session)[0]


def to_reads(connections: list[Connection], session: Session) -> list[ConnectionRead]:
    if not connections:
        return []
    schedules = schedules_service.summaries(
        session=session,
        tenant_id=connections[0].tenant_id,
        connection_ids=[connection.id for connection in connections],
    )
    return [_read(connection, schedules.get(connection.id)) for connection in connections]


def _read(connection: Connection, auto_onboard: ScheduleSummary | None) -> ConnectionRead:
    return ConnectionRead(
        id=connection.id,
        name=connection.name,
        credential_type=connection.credential_type,
        access_key_id_masked=service.masked_key_id(connection),
        role_arn=connection.role_arn,
        central_role_arn=connection.central_role_arn,
        session_name=connection.session_name,
        child_role_name=connection.child_role_name,
        partition=service.partition_of(connection),
        external_id_override=connection.external_id is not None,
        external_id=connection.external_id,
        account_id=connection.account_id,
        status=connection.status,
        last_tested_at=connection.last_tested_at,
        last_error_code=connection.last_error_code,
        created_at=connection.created_at,
        updated_at=connection.updated_at,
        auto_onboard=auto_onboard,
    )


def to_test_read(result: ProbeResult) -> ConnectionTestRead:
    return ConnectionTestRead(
        ok=result.ok,
        account_id=result.account_id,
        arn=result.arn,
        checks=[CheckRead(name=c.name, ok=c.ok, detail=c.detail) for c in result.checks],
        accounts=None
        if result.accounts is None
        else [AccountRead.of(account) for account in result.accounts],
        error=AwsFailureRead.of(result.error),
    )


@router.post("/test", response_model=ConnectionTestRead)
def test_unsaved_connection(
    body: ConnectionTestRequest,
    context: ProbeContextDep,
    tenant: CurrentTenant,
    signer: TestTokenSignerDep,
) -> ConnectionTestRead:
    result = service.probe(spec=body, context=context)
    answer = to_test_read(result)
    if result.ok:
        answer.test_token = signer.issue(
            tenant_id=tenant.id,
            spec=body,
            account_id=result.account_id,
            arn=result.arn,
            tested_at=utcnow(),
        )
    return answer


@router.post(
    "",
    response_model=ConnectionRead,
    status_code=status.HTTP_201_CREATED,
    responses=problems(409),
)
def create_connection(
    body: ConnectionCreate,
    tenant: CurrentTenant,
    session: SessionDep,
    box: SecretBoxDep,
    signer: TestTokenSignerDep,
) -> ConnectionRead:
    # A token that does not verify (forged, expired, another tenant's, other fields) is
    # ignored: the connection is stored untested, as without one.
    tested = (
        signer.verify(body.test_token.get_secret_value(), tenant_id=tenant.id, spec=body)
        if body.test_token is not None
        else None
    )
    connection = service.create(
        session=session, tenant=tenant, data=body, name=body.name, secret_box=box, tested=tested
    )
    return to_read(connection, session)


@router.get("", response_model=Page[ConnectionRead])
def list_connections(
    tenant: CurrentTenant,
    session: SessionDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[ConnectionRead]:
    rows, next_cursor = service.list_page(
        session=session, tenant=tenant, limit=limit, cursor=cursor
    )
    return Page[ConnectionRead](items=to_reads(rows, session), next_cursor=next_cursor)


@router.get("/{connection_id}", response_model=ConnectionRead)
def read_connection(connection: ValidConnection, session: SessionDep) -> ConnectionRead:
    return to_read(connection, session)


@router.patch("/{connection_id}", response_model=ConnectionRead, responses=problems(409))
def update_connection(
    body: ConnectionUpdate, connection: ValidConnection, session: SessionDep, box: SecretBoxDep
) -> ConnectionRead:
    updated = service.update(
        session=session, connection=connection, changes=body.changes(), secret_box=box
    )
    return to_read(updated, session)


@router.delete("/{connection_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_connection(connection: ValidConnection, session: SessionDep) -> None:
    # In the same transaction: its applications move to another connection that reaches
    # their account, or are orphaned (with that change in their history).
    lifecycle.orphan_for_deleted_connection(
        session, tenant_id=connection.tenant_id, connection_id=connection.id, now=utcnow()
    )
    service.delete(session=session, connection=connection)


@router.post("/{connection_id}/test", response_model=ConnectionTestRead)
def test_saved_connection(
    connection: ValidConnection,
    context: ProbeContextDep,
    box: SecretBoxDep,
    session: SessionDep,
) -> ConnectionTestRead:
    result = service.probe(spec=service.spec_of(connection, box), context=context)
    service.record_test(session=session, connection=connection, result=result)
    return to_test_read(result)

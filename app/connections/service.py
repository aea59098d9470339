"""Connections: create, read, change, delete and test a tenant's AWS credentials."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.connections.test_tokens import TestedFacts
from app.core.errors import ConflictError, ValidationFailedError
from app.core.pagination import paginate
from app.core.repository import TenantRepository
from app.core.security import SecretBox
from app.events import service as events
from app.integrations.aws.credentials import (
    DEFAULT_CHILD_ROLE_NAME,
    CredentialSpec,
    ProbeContext,
    ProbeResult,
    credential_type,
)
from app.integrations.aws.errors import mask_access_key_id
from app.integrations.aws.sessions import partition_of_arn
from app.models import Connection, Tenant
from app.models.base import utcnow

logger = logging.getLogger(__name__)

# Columns that hold a credential field of the same name; secrets are stored encrypted apart.
_PLAIN_FIELDS = (
    "access_key_id",
    "role_arn",
    "central_role_arn",
    "session_name",
    "child_role_name",
    "external_id",
    "partition",
)
_SECRET_FIELDS = ("secret_access_key",)
# Changing any of these makes the last test meaningless.
_CREDENTIAL_FIELDS = frozenset(_PLAIN_FIELDS + _SECRET_FIELDS) - {"session_name"}


class ConnectionRepository(TenantRepository[Connection]):
    model = Connection
    noun = "connection"


def _ensure_name_free(
    session: Session, tenant_id: uuid.UUID, name: str, exclude: uuid.UUID | None = None
) -> None:
    statement = select(Connection.id).where(
        Connection.tenant_id == tenant_id, Connection.name == name
    )
    if exclude is not None:
        statement = statement.where(Connection.id != exclude)
    if session.scalars(statement).first() is not None:
        raise ConflictError(
            f"A connection named {name!r} exists already.",
            hint="Choose another name, or change the existing connection.",
        )


def _flush_or_conflict(session: Session, name: str) -> None:
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise ConflictError(
            f"A connection named {name!r} exists already.",
            hint="Choose another name, or change the existing connection.",
        ) from None


def spec_of(connection: Connection, secret_box: SecretBox) -> CredentialSpec:
    """The credential type object for a stored connection, secrets decrypted in memory only."""
    spec_class = credential_type(connection.credential_type)
    values: dict[str, Any] = {"credential_type": connection.credential_type}
    for name in spec_class.model_fields:
        if name in _PLAIN_FIELDS and getattr(connection, name) is not None:
            values[name] = getattr(connection, name)
        elif name in _SECRET_FIELDS:
            token = getattr(connection, f"{name}_encrypted")
            if token is not None:
                values[name] = secret_box.decrypt(token)
    return spec_class.model_validate(values)


def _store_fields(connection: Connection, spec: CredentialSpec, secret_box: SecretBox) -> None:
    for name in type(spec).model_fields:
        value = getattr(spec, name)
        if name in _PLAIN_FIELDS:
            setattr(connection, name, value)
        elif name in _SECRET_FIELDS:
            setattr(connection, f"{name}_encrypted", secret_box.encrypt(value.get_secret_value()))


def create(
    *,
    session: Session,
    tenant: Tenant,
    data: CredentialSpec,
    name: str,
    secret_box: SecretBox,
    tested: TestedFacts | None = None,
) -> Connection:
    """`tested`: a verified test of these very fields before the create (a test token)."""
    _ensure_name_free(session, tenant.id, name)
    connection = Connection(
        tenant_id=tenant.id, name=name, credential_type=type(data).type_name, status="untested"
    )
    if tested is not None:
        connection.status = "ok"
        connection.last_tested_at = tested.tested_at
        connection.account_id = tested.account_id
        connection.arn = tested.arn
    _store_fields(connection, data, secret_box)
    session.add(connection)
    _flush_or_conflict(session, name)
    logger.info(
        "connection created",
        extra={
            "connection_id": str(connection.id),
            "credential_type": connection.credential_type,
            "tested_before_create": tested is not None,
        },
    )
    return connection


def list_page(
    *, session: Session, tenant: Tenant, limit: int, cursor: str | None
) -> tuple[list[Connection], str | None]:
    repository = ConnectionRepository(session, tenant.id)
    return paginate(session, repository.statement(), Connection, limit=limit, cursor=cursor)


def get(*, session: Session, tenant: Tenant, connection_id: uuid.UUID) -> Connection:
    return ConnectionRepository(session, tenant.id).get(connection_id)


def update(
    *,
    session: Session,
    connection: Connection,
    changes: dict[str, Any],
    secret_box: SecretBox,
) -> Connection:
    spec_class = credential_type(connection.credential_type)
    allowed = set(spec_class.model_fields) | {"name"}
    for field in sorted(changes):
        if field not in allowed:
            raise ValidationFailedError(
                field, f"does not apply to a {connection.credential_type} connection"
            )
    if ("access_key_id" in changes) != ("secret_access_key" in changes):
        missing = "secret_access_key" if "access_key_id" in changes else "access_key_id"
        raise ValidationFailedError(
            missing, "is required: a rotated key is an access key id and its secret together"
        )
    for field in ("name", "access_key_id", "role_arn", "central_role_arn", "secret_access_key"):
        if field in changes and changes[field] is None:
            raise ValidationFailedError(field, "cannot be removed")

    if "name" in changes and changes["name"] != connection.name:
        _ensure_name_free(session, connection.tenant_id, changes["name"], exclude=connection.id)
        connection.name = changes["name"]
    if "child_role_name" in changes and changes["child_role_name"] is None:
        changes["child_role_name"] = DEFAULT_CHILD_ROLE_NAME
    if "partition" in changes and changes["partition"] is None:
        changes["partition"] = "aws"

    # Build the whole new spec first, so a change is either entirely valid or not made at all.
    current = spec_of(connection, secret_box)
    merged = current.model_dump()
    merged.update({k: v for k, v in changes.items() if k != "name"})
    # An external id the tenant chose (kept from before 0.6) lasts until this edit: from now
    # on the role is assumed with the tenant's own, so the last test says nothing any more.
    dropped_override = merged.pop("external_id", None) is not None
    new_spec = spec_class.model_validate(merged)
    _store_fields(connection, new_spec, secret_box)

    if dropped_override or _CREDENTIAL_FIELDS & set(changes):
        connection.status = "untested"
        connection.last_error_code = None
        connection.account_id = None
        connection.arn = None
    connection.updated_at = utcnow()
    _flush_or_conflict(session, connection.name)
    logger.info(
        "connection updated",
        extra={
            "connection_id": str(connection.id),
            "fields": ",".join(sorted(changes)),
            "external_id_override_dropped": dropped_override,
        },
    )
    return connection


def delete(*, session: Session, connection: Connection) -> None:
    session.delete(connection)
    session.flush()
    logger.info("connection deleted", extra={"connection_id": str(connection.id)})


def probe(*, spec: CredentialSpec, context: ProbeContext) -> ProbeResult:
    result = spec.probe(context)
    logger.info(
        "connection test",
        extra={
            "credential_type": type(spec).type_name,
            "ok": result.ok,
            "error_code": result.error.code if result.error else None,
        },
    )
    return result


def record_test(*, session: Session, connection: Connection, result: ProbeResult) -> None:
    """The test's result on the connection; a failed test is a `connection.failed` event."""
    connection.status = "ok" if result.ok else "failed"
    connection.last_tested_at = utcnow()
    connection.last_error_code = result.error.code if result.error else None
    if result.ok:
        connection.account_id = result.account_id
        connection.arn = result.arn
        return
    error = result.error
    events.emit(
        session,
        tenant_id=connection.tenant_id,
        type=events.CONNECTION_FAILED,
        occurred_at=connection.last_tested_at,
        data={
            "connection_id": str(connection.id),
            "name": connection.name,
            "credential_type": connection.credential_type,
            "code": error.code if error else None,
            "message": error.message if error else None,
            "hint": error.hint if error else None,
            "failed_checks": [check.name for check in result.checks if not check.ok],
            "summary": f"Connection {connection.name} failed its test"
            + (f": {error.message}" if error else "."),
        },
    )


def partition_of(connection: Connection) -> str:
    """The AWS partition: an IAM user's as declared (NULL: aws), a role's from its ARN."""
    arn = connection.role_arn or connection.central_role_arn
    if connection.partition is None and arn:
        return partition_of_arn(arn)
    return connection.partition or "aws"


def masked_key_id(connection: Connection) -> str | None:
    return mask_access_key_id(connection.access_key_id) if connection.access_key_id else None


def reencrypt_all(*, session: Session, secret_box: SecretBox, batch_size: int = 500) -> int:
    """Re-encrypt every stored secret under the newest key; returns how many were rewritten.

    Run after putting a new key first in ONBOARDER_ENCRYPTION_KEYS; once it has run, the old
    keys can be removed. Rows are locked a batch at a time (PostgreSQL), so a concurrent
    rotation through PATCH is never overwritten with the old secret.
    """
    rewritten = 0
    last_id: uuid.UUID | None = None
    while True:
        statement = (
            select(Connection)
            .where(Connection.secret_access_key_encrypted.is_not(None))
            .order_by(Connection.id)
            .limit(batch_size)
            .with_for_update()
        )
        if last_id is not None:
            statement = statement.where(Connection.id > last_id)
        rows = list(session.scalars(statement))
        if not rows:
            return rewritten
        for row in rows:
            assert row.secret_access_key_encrypted is not None
            row.secret_access_key_encrypted = secret_box.rotate(row.secret_access_key_encrypted)
            rewritten += 1
        session.flush()
        last_id = rows[-1].id

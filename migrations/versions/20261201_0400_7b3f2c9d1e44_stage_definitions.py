"""one definition per stage, with versions, exposure, validation and protections

An application kept one definition, exported from the first chosen stage. From 0.6 each
stage with an instance has its own, read from what that stage serves, in versions. The one
definition each application had becomes its first stage's version 1 (the stage it was
exported from, else its first instance's), with each operation's exposure worked out from
what was stored (`cors_preflight` needs the integration type, which was not kept: such
methods count as public until the application is read again) and the document validated.
Instances of private APIs are reachable from their VPCs only. Protections are not known
until the application is read from AWS again: they start empty.

Revision ID: 7b3f2c9d1e44
Revises: 4c1e0a5b7d21
Create Date: 2026-12-01 04:00:00

"""

import uuid
from collections import Counter
from collections.abc import Sequence
from itertools import islice
from typing import Any

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "7b3f2c9d1e44"
down_revision: str | Sequence[str] | None = "4c1e0a5b7d21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EXPOSURES = ("public", "api_key_only", "authenticated", "cors_preflight")

_old = sa.table(
    "application_definitions",
    sa.column("application_id", sa.Uuid()),
    sa.column("format", sa.String()),
    sa.column("source", sa.String()),
    sa.column("stage", sa.String()),
    sa.column("export_error", sa.Text()),
    sa.column("document", sa.Text()),
    sa.column("sha256", sa.String()),
    sa.column("size_bytes", sa.Integer()),
    sa.column("operations", sa.Integer()),
    sa.column("unauthenticated_operations", sa.Integer()),
    sa.column("api_key_operations", sa.Integer()),
    sa.column("authorizer_types", sa.JSON()),
    sa.column("operation_list", sa.JSON()),
    sa.column("fetched_at", sa.DateTime()),
)
_new = sa.table(
    "application_stage_definitions",
    sa.column("id", sa.Uuid()),
    sa.column("application_id", sa.Uuid()),
    sa.column("stage", sa.String()),
    sa.column("version", sa.Integer()),
    sa.column("current", sa.Boolean()),
    sa.column("deployment_id", sa.String()),
    sa.column("format", sa.String()),
    sa.column("source", sa.String()),
    sa.column("document_source", sa.String()),
    sa.column("export_error", sa.Text()),
    sa.column("valid", sa.Boolean()),
    sa.column("validation_errors", sa.JSON()),
    sa.column("document", sa.Text()),
    sa.column("sha256", sa.String()),
    sa.column("size_bytes", sa.Integer()),
    sa.column("operations", sa.Integer()),
    sa.column("unauthenticated_operations", sa.Integer()),
    sa.column("api_key_operations", sa.Integer()),
    sa.column("cors_preflight_operations", sa.Integer()),
    sa.column("exposure", sa.JSON()),
    sa.column("authorizer_types", sa.JSON()),
    sa.column("operation_list", sa.JSON()),
    sa.column("canary", sa.JSON()),
    sa.column("canary_operation_list", sa.JSON()),
    sa.column("fetched_at", sa.DateTime()),
)
_applications = sa.table(
    "applications",
    sa.column("id", sa.Uuid()),
    sa.column("protocol", sa.String()),
)
_instances = sa.table(
    "application_instances",
    sa.column("application_id", sa.Uuid()),
    sa.column("stage", sa.String()),
    sa.column("url", sa.String()),
    sa.column("created_at", sa.DateTime()),
)


def _exposure(operation: dict[str, Any]) -> str:
    if (operation.get("authorization") or "NONE") != "NONE":
        return "authenticated"
    return "api_key_only" if operation.get("api_key_required") else "public"


def _validation(document_text: str, format_: str) -> tuple[bool, list[str]]:
    import json

    from openapi_spec_validator import OpenAPIV2SpecValidator, OpenAPIV30SpecValidator

    validator = OpenAPIV30SpecValidator if format_ == "openapi_3" else OpenAPIV2SpecValidator
    errors: list[str] = []
    try:
        for error in islice(validator(json.loads(document_text)).iter_errors(), 20):
            where = getattr(error, "json_path", None)
            line = str(getattr(error, "message", error)).split("\n", 1)[0][:300]
            errors.append(f"{where}: {line}" if where and where != "$" else line)
    except Exception as exc:
        errors.append(f"the validator could not read the document ({type(exc).__name__})")
    return not errors, errors


def upgrade() -> None:
    op.create_table(
        "application_stage_definitions",
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("stage", sa.String(length=128), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("deployment_id", sa.String(length=64), nullable=True),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("document_source", sa.String(length=16), nullable=False),
        sa.Column("export_error", sa.Text(), nullable=True),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("validation_errors", sa.JSON(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("operations", sa.Integer(), nullable=False),
        sa.Column("unauthenticated_operations", sa.Integer(), nullable=False),
        sa.Column("api_key_operations", sa.Integer(), nullable=False),
        sa.Column("cors_preflight_operations", sa.Integer(), nullable=False),
        sa.Column("exposure", sa.JSON(), nullable=False),
        sa.Column("authorizer_types", sa.JSON(), nullable=False),
        sa.Column("operation_list", sa.JSON(), nullable=False),
        sa.Column("canary", sa.JSON(), nullable=True),
        sa.Column("canary_operation_list", sa.JSON(), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_application_stage_definitions_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_stage_definitions")),
        sa.UniqueConstraint(
            "application_id",
            "stage",
            "version",
            name=op.f("uq_application_stage_definitions_application_id_stage_version"),
        ),
    )
    op.create_index(
        "ix_application_stage_definitions_current",
        "application_stage_definitions",
        ["application_id", "current"],
        unique=False,
    )
    # Plain ADD COLUMN (SQLite has it): a batch copy of `applications` would drop the old
    # table, and with foreign keys on that deletes every instance and definition with it.
    op.add_column(
        "applications",
        sa.Column("protections", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    )
    op.add_column(
        "application_instances",
        sa.Column(
            "reachable_from", sa.String(length=16), nullable=False, server_default="internet"
        ),
    )
    op.add_column(
        "application_instances",
        sa.Column("mutual_tls", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.execute(
        sa.text(
            "UPDATE application_instances SET reachable_from = 'vpc_only' WHERE application_id "
            "IN (SELECT id FROM applications WHERE endpoint_type = 'PRIVATE')"
        )
    )
    _copy_definitions()
    op.drop_table("application_definitions")


def _copy_definitions() -> None:
    connection = op.get_bind()
    protocols = {row.id: row.protocol for row in connection.execute(sa.select(_applications))}
    first_stage: dict[Any, str | None] = {}
    for row in connection.execute(
        sa.select(_instances.c.application_id, _instances.c.stage).order_by(
            _instances.c.created_at, _instances.c.url
        )
    ):
        first_stage.setdefault(row.application_id, row.stage)
    batch: list[dict[str, Any]] = []
    for entry in connection.execute(sa.select(_old)).mappings():
        operations = []
        for operation in entry["operation_list"] or []:
            exposure = _exposure(operation)
            operations.append(
                {
                    **operation,
                    "integration_type": operation.get("integration_type"),
                    "exposure": exposure,
                    "unauthenticated": exposure in ("public", "api_key_only"),
                }
            )
        counts = Counter(operation["exposure"] for operation in operations)
        valid, errors = _validation(entry["document"], entry["format"])
        protocol = protocols.get(entry["application_id"])
        batch.append(
            {
                "id": uuid.uuid4(),
                "application_id": entry["application_id"],
                "stage": entry["stage"] or first_stage.get(entry["application_id"]),
                "version": 1,
                "current": True,
                "deployment_id": None,
                "format": entry["format"],
                # Before 0.6 operations were always read from the API's draft.
                "source": "draft_resources" if protocol == "REST" else "draft_routes",
                "document_source": entry["source"],
                "export_error": entry["export_error"],
                "valid": valid,
                "validation_errors": errors,
                "document": entry["document"],
                "sha256": entry["sha256"],
                "size_bytes": entry["size_bytes"],
                "operations": len(operations),
                "unauthenticated_operations": counts["public"] + counts["api_key_only"],
                "api_key_operations": entry["api_key_operations"],
                "cors_preflight_operations": 0,
                "exposure": {kind: counts.get(kind, 0) for kind in _EXPOSURES},
                "authorizer_types": entry["authorizer_types"] or {},
                "operation_list": operations,
                "canary": None,
                "canary_operation_list": None,
                "fetched_at": entry["fetched_at"],
            }
        )
        if len(batch) >= 500:
            connection.execute(_new.insert(), batch)
            batch = []
    if batch:
        connection.execute(_new.insert(), batch)


def downgrade() -> None:
    op.create_table(
        "application_definitions",
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=128), nullable=True),
        sa.Column("export_error", sa.Text(), nullable=True),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("operations", sa.Integer(), nullable=False),
        sa.Column("unauthenticated_operations", sa.Integer(), nullable=False),
        sa.Column("api_key_operations", sa.Integer(), nullable=False),
        sa.Column("authorizer_types", sa.JSON(), nullable=False),
        sa.Column("operation_list", sa.JSON(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_application_definitions_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_application_definitions")),
    )
    connection = op.get_bind()
    first_stage: dict[Any, str | None] = {}
    for row in connection.execute(
        sa.select(_instances.c.application_id, _instances.c.stage).order_by(
            _instances.c.created_at, _instances.c.url
        )
    ):
        first_stage.setdefault(row.application_id, row.stage)
    kept: dict[Any, dict[str, Any]] = {}
    for entry in connection.execute(sa.select(_new).where(_new.c.current.is_(True))).mappings():
        application_id = entry["application_id"]
        if application_id in kept and entry["stage"] != first_stage.get(application_id):
            continue
        kept[application_id] = {
            "application_id": application_id,
            "format": entry["format"],
            "source": entry["document_source"],
            "stage": entry["stage"],
            "export_error": entry["export_error"],
            "document": entry["document"],
            "sha256": entry["sha256"],
            "size_bytes": entry["size_bytes"],
            "operations": entry["operations"],
            # Before 0.6, an API-key-only operation did not count as unauthenticated.
            "unauthenticated_operations": entry["exposure"].get("public", 0),
            "api_key_operations": entry["api_key_operations"],
            "authorizer_types": entry["authorizer_types"],
            "operation_list": entry["operation_list"],
            "fetched_at": entry["fetched_at"],
        }
    if kept:
        connection.execute(_old.insert(), list(kept.values()))
    op.drop_index(
        "ix_application_stage_definitions_current", table_name="application_stage_definitions"
    )
    op.drop_table("application_stage_definitions")
    # SQLite drops a column in place (3.35+); a batch copy would cascade-delete through the
    # foreign keys, as on the way up.
    for table_name, column_name in (
        ("application_instances", "mutual_tls"),
        ("application_instances", "reachable_from"),
        ("applications", "protections"),
    ):
        if op.get_bind().dialect.name == "sqlite":
            op.execute(sa.text(f"ALTER TABLE {table_name} DROP COLUMN {column_name}"))
        else:
            op.drop_column(table_name, column_name)

"""the inventory lifecycle: application and instance status, change history, run counters

Applications and instances gain a status (active, retired, orphaned) with its dates, and
`last_synced_at`; a stage's definition keeps the stage's lastUpdatedDate it was read at, so a
sync knows without asking AWS whether it changed; `application_changes` is the history; runs
count what their syncs did. Every application so far is active, and gets its `onboarded`
change dated when it was created.

Revision ID: b3c5d7e9f1a2
Revises: 9d2e4f6a8b10
Create Date: 2026-12-01 07:00:00

"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "b3c5d7e9f1a2"
down_revision: str | Sequence[str] | None = "9d2e4f6a8b10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RUN_COUNTERS = ("synced", "definitions_changed", "retired", "orphaned", "restored")


def upgrade() -> None:
    # Plain ADD COLUMN everywhere: a batch copy of `applications` cascade-deletes its
    # children on SQLite.
    status = sa.Column("status", sa.String(16), nullable=False, server_default="active")
    op.add_column("applications", status)
    op.add_column(
        "applications", sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "applications", sa.Column("orphaned_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "applications", sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "application_instances",
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    )
    op.add_column(
        "application_instances", sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "application_stage_definitions",
        sa.Column("stage_updated_at", sa.DateTime(timezone=True), nullable=True),
    )
    for name in _RUN_COUNTERS:
        op.add_column(
            "auto_onboard_runs",
            sa.Column(name, sa.Integer(), nullable=False, server_default="0"),
        )
    op.create_table(
        "application_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stage", sa.String(128), nullable=True),
        sa.Column("summary", sa.String(1000), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_application_changes_tenant_id", "application_changes", ["tenant_id"])
    op.create_index(
        "ix_application_changes_application_id_occurred_at",
        "application_changes",
        ["application_id", "occurred_at"],
    )
    # Every application so far was onboarded when it was created.
    bind = op.get_bind()
    changes = sa.table(
        "application_changes",
        sa.column("id", sa.Uuid()),
        sa.column("tenant_id", sa.Uuid()),
        sa.column("application_id", sa.Uuid()),
        sa.column("kind", sa.String()),
        sa.column("occurred_at", sa.DateTime(timezone=True)),
        sa.column("stage", sa.String()),
        sa.column("summary", sa.String()),
        sa.column("details", sa.JSON()),
    )
    applications = sa.table(
        "applications",
        sa.column("id", sa.Uuid()),
        sa.column("tenant_id", sa.Uuid()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("onboarded_via", sa.String()),
    )
    rows = bind.execute(sa.select(applications)).fetchall()
    if rows:
        op.bulk_insert(
            changes,
            [
                {
                    "id": uuid.uuid4(),
                    "tenant_id": row.tenant_id,
                    "application_id": row.id,
                    "kind": "onboarded",
                    "occurred_at": row.created_at,
                    "stage": None,
                    "summary": "Onboarded"
                    + (" by auto-onboard" if row.onboarded_via == "auto_onboard" else "")
                    + ".",
                    "details": {},
                }
                for row in rows
            ],
        )


def downgrade() -> None:
    op.drop_index("ix_application_changes_application_id_occurred_at", "application_changes")
    op.drop_index("ix_application_changes_tenant_id", "application_changes")
    op.drop_table("application_changes")
    sqlite = op.get_bind().dialect.name == "sqlite"
    drops = [
        *(("auto_onboard_runs", name) for name in _RUN_COUNTERS),
        ("application_stage_definitions", "stage_updated_at"),
        ("application_instances", "retired_at"),
        ("application_instances", "status"),
        ("applications", "last_synced_at"),
        ("applications", "orphaned_at"),
        ("applications", "retired_at"),
        ("applications", "status"),
    ]
    for table, column in drops:
        if sqlite:  # in place (3.35+): a batch copy would cascade-delete
            op.execute(sa.text(f'ALTER TABLE {table} DROP COLUMN "{column}"'))
        else:
            op.drop_column(table, column)

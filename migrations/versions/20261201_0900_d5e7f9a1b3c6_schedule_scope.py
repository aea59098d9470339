"""schedule scope: accounts, organizational units, regions left out, tag rules, approval

Schedules and runs gain the scope fields (NULL narrows nothing; approval false), runs the
accounts their scope left out and how many APIs they held for approval, and
`api_candidates` holds those APIs.

Revision ID: d5e7f9a1b3c6
Revises: c4d6e8f0a2b4
Create Date: 2026-12-01 09:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "d5e7f9a1b3c6"
down_revision: str | Sequence[str] | None = "c4d6e8f0a2b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("auto_onboard_schedules", "auto_onboard_runs")
_SCOPE = ("accounts", "organizational_units", "exclude_regions", "tags")


def upgrade() -> None:
    for table in _TABLES:
        for name in _SCOPE:
            op.add_column(table, sa.Column(name, sa.JSON(), nullable=True))
        op.add_column(
            table, sa.Column("approval", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.add_column(
        "auto_onboard_runs",
        sa.Column("excluded_accounts", sa.JSON(), nullable=False, server_default="[]"),
    )
    op.add_column(
        "auto_onboard_runs",
        sa.Column("held_for_approval", sa.Integer(), nullable=False, server_default="0"),
    )
    at = sa.DateTime(timezone=True)
    op.create_table(
        "api_candidates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("connection_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("api_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("protocol", sa.String(16), nullable=False),
        sa.Column("endpoint_type", sa.String(16), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("stages", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("found_at", at, nullable=False),
        sa.Column("updated_at", at, nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("dismissed_at", at, nullable=True),
        sa.Column("application_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_api_candidates_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_api_candidates_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_candidates")),
        sa.UniqueConstraint(
            "connection_id",
            "account_id",
            "region",
            "api_id",
            name=op.f("uq_api_candidates_connection_id_account_id_region_api_id"),
        ),
    )
    op.create_index("ix_api_candidates_tenant_id", "api_candidates", ["tenant_id"])
    op.create_index(
        "ix_api_candidates_connection_id_status_found_at",
        "api_candidates",
        ["connection_id", "status", "found_at"],
    )


def downgrade() -> None:
    op.drop_table("api_candidates")
    sqlite = op.get_bind().dialect.name == "sqlite"
    drops = [
        ("auto_onboard_runs", "held_for_approval"),
        ("auto_onboard_runs", "excluded_accounts"),
    ] + [(table, name) for table in _TABLES for name in (*_SCOPE, "approval")]
    for table, column in drops:
        if sqlite:  # in place (3.35+)
            op.execute(sa.text(f'ALTER TABLE {table} DROP COLUMN "{column}"'))
        else:
            op.drop_column(table, column)

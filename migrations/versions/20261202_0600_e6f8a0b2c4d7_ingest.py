"""ingest: real-time updates from AWS change events

`ingest_tokens` holds one hashed token per connection (what its EventBridge API destination
presents); `ingest_triggers` the AWS events received, each waiting for or done with the
targeted sync it asks for.

Revision ID: e6f8a0b2c4d7
Revises: d5e7f9a1b3c6
Create Date: 2026-12-02 06:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "e6f8a0b2c4d7"
down_revision: str | Sequence[str] | None = "d5e7f9a1b3c6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = sa.DateTime(timezone=True)


def _owned(table: str) -> list[sa.ForeignKeyConstraint]:
    return [
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f(f"fk_{table}_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f(f"fk_{table}_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "ingest_tokens",
        sa.Column("connection_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("last_event_at", _AT, nullable=True),
        *_owned("ingest_tokens"),
        sa.PrimaryKeyConstraint("connection_id", name=op.f("pk_ingest_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_ingest_tokens_token_hash")),
    )
    op.create_index("ix_ingest_tokens_tenant_id", "ingest_tokens", ["tenant_id"])
    op.create_table(
        "ingest_triggers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("connection_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("event_name", sa.String(64), nullable=False),
        sa.Column("event_time", _AT, nullable=True),
        sa.Column("received_at", _AT, nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("target", sa.String(300), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("worker", sa.String(128), nullable=True),
        sa.Column("claimed_at", _AT, nullable=True),
        sa.Column("finished_at", _AT, nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("reason_code", sa.String(48), nullable=True),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("application_id", sa.Uuid(), nullable=True),
        *_owned("ingest_triggers"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_triggers")),
        sa.UniqueConstraint(
            "connection_id", "event_id", name=op.f("uq_ingest_triggers_connection_id_event_id")
        ),
    )
    op.create_index("ix_ingest_triggers_tenant_id", "ingest_triggers", ["tenant_id"])
    op.create_index(
        "ix_ingest_triggers_status_received_at", "ingest_triggers", ["status", "received_at"]
    )
    op.create_index(
        "ix_ingest_triggers_connection_id_received_at",
        "ingest_triggers",
        ["connection_id", "received_at"],
    )


def downgrade() -> None:
    op.drop_table("ingest_triggers")
    op.drop_table("ingest_tokens")

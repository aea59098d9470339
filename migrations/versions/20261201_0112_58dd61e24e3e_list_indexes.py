"""list indexes: keyset pages of applications, connections and runs read an index range

Revision ID: 58dd61e24e3e
Revises: dfc3ebfd636d
Create Date: 2026-12-01 01:12:48.300178

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "58dd61e24e3e"
down_revision: str | Sequence[str] | None = "dfc3ebfd636d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_applications_tenant_id_created_at_id",
            ["tenant_id", "created_at", "id"],
            unique=False,
        )

    with op.batch_alter_table("auto_onboard_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_auto_onboard_runs_connection_id_created_at_id",
            ["connection_id", "created_at", "id"],
            unique=False,
        )

    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.create_index(
            "ix_connections_tenant_id_created_at_id",
            ["tenant_id", "created_at", "id"],
            unique=False,
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.drop_index("ix_connections_tenant_id_created_at_id")

    with op.batch_alter_table("auto_onboard_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_auto_onboard_runs_connection_id_created_at_id")

    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_index("ix_applications_tenant_id_created_at_id")

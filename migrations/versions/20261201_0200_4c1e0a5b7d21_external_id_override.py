"""external ids the tenant chose: only those that differ from the tenant's own are kept

From 0.6 a connection's role is always assumed with the tenant's external id, which the
service issues (the confused-deputy guard). A connection saved before with another value
keeps it, and uses it, until its next edit (`external_id_override`); one that stored the
tenant's own id needs no override.

Revision ID: 4c1e0a5b7d21
Revises: 58dd61e24e3e
Create Date: 2026-12-01 02:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "4c1e0a5b7d21"
down_revision: str | Sequence[str] | None = "58dd61e24e3e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        sa.text(
            "UPDATE connections SET external_id = NULL WHERE external_id = "
            "(SELECT tenants.external_id FROM tenants WHERE tenants.id = connections.tenant_id)"
        )
    )


def downgrade() -> None:
    # Nothing to restore: a NULL external id meant the tenant's own before, as it does now.
    pass

"""instances reached through a routing rule that matches headers keep those headers

A custom domain's routing rule can send a URL to a stage only when the request carries some
headers; the testing platform must send them, so the instance keeps them. NULL means none.

Revision ID: 9d2e4f6a8b10
Revises: 675179a06e17
Create Date: 2026-12-01 06:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "9d2e4f6a8b10"
down_revision: str | Sequence[str] | None = "675179a06e17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (never a batch copy, which cascade-deletes on SQLite).
    op.add_column("application_instances", sa.Column("required_headers", sa.JSON(), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(sa.text('ALTER TABLE application_instances DROP COLUMN "required_headers"'))
    else:
        op.drop_column("application_instances", "required_headers")

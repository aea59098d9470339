"""the partition of an IAM user's access key (aws, aws-cn, aws-us-gov)

An aws_user connection names the partition its IAM user belongs to, so that STS and API
Gateway are called in that partition's regions; NULL means aws (every connection saved
before). Role connections take it from their role ARN and store none.

Revision ID: 675179a06e17
Revises: 7b3f2c9d1e44
Create Date: 2026-12-01 05:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "675179a06e17"
down_revision: str | Sequence[str] | None = "7b3f2c9d1e44"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN: a batch copy of `connections` would drop the old table, and with
    # foreign keys on that deletes every child row (schedules, runs, applications) with it.
    op.add_column("connections", sa.Column("partition", sa.String(length=16), nullable=True))


def downgrade() -> None:
    # SQLite drops a column in place (3.35+); a batch copy would cascade-delete, as above.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(sa.text('ALTER TABLE connections DROP COLUMN "partition"'))
    else:
        op.drop_column("connections", "partition")

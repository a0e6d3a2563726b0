"""deliveries count their throttled tries (deliveries.throttled)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A throttled try does not count toward max_attempts; this counts them apart, so that
    # delivery.max_throttled_tries can end a delivery that the vendor keeps refusing.
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("throttled", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("throttled")

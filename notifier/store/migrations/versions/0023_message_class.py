"""message class: notice (通知) or marketing (营销) on policies, campaigns and deliveries

Revision ID: 0023_message_class
Revises: 0022_reach_ladder
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_message_class"
down_revision: str | None = "0022_reach_ladder"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("policies", "campaigns", "deliveries")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column(
                    "message_class", sa.String(16), nullable=False, server_default="notice"
                )
            )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("message_class")

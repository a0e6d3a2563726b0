"""reach ladder: a policy's own re-send ladder, and the audience a re-send trigger names

Revision ID: 0022_reach_ladder
Revises: 0021_reach_states
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_reach_ladder"
down_revision: str | None = "0021_reach_states"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("policies") as batch:
        batch.add_column(sa.Column("reach_ladder", sa.JSON(), nullable=True))
    with op.batch_alter_table("triggers") as batch:
        batch.add_column(sa.Column("audience", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("triggers") as batch:
        batch.drop_column("audience")
    with op.batch_alter_table("policies") as batch:
        batch.drop_column("reach_ladder")

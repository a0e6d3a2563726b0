"""policies keep the credit codes they target (targets.credit_codes)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows get an empty list (they name no credit code); the default is then dropped,
    # as the model gives the value on insert like the other target lists.
    with op.batch_alter_table("policies") as batch:
        batch.add_column(
            sa.Column("target_credit_codes", sa.JSON(), nullable=False, server_default="[]")
        )
    with op.batch_alter_table("policies") as batch:
        batch.alter_column("target_credit_codes", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("policies") as batch:
        batch.drop_column("target_credit_codes")

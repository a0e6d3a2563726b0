"""the field each register heading was last imported as (the console's mapping step)

Revision ID: 0015_import_mapping
Revises: 0015_accounts
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_import_mapping"
down_revision: str | None = "0015_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_headings",
        sa.Column("heading", sa.String(length=100), nullable=False),
        sa.Column("field", sa.String(length=20), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("heading", name=op.f("pk_import_headings")),
    )


def downgrade() -> None:
    op.drop_table("import_headings")

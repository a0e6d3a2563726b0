"""inbound SMS replies; deliveries found by the vendor's message id (delivery reports)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=50), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unsubscribed", sa.Boolean(), nullable=False),
        sa.Column("enterprises", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_replies")),
    )
    with op.batch_alter_table("inbound_replies") as batch:
        batch.create_index(batch.f("ix_inbound_replies_phone"), ["phone"], unique=False)
    with op.batch_alter_table("deliveries") as batch:
        batch.create_index(
            batch.f("ix_deliveries_provider_message_id"), ["provider_message_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index(batch.f("ix_deliveries_provider_message_id"))
    with op.batch_alter_table("inbound_replies") as batch:
        batch.drop_index(batch.f("ix_inbound_replies_phone"))
    op.drop_table("inbound_replies")

"""number caps: replies kept with their SMS, refused numbers, complaints, consent sources,
digests of deliveries held over a number's daily cap

Revision ID: 0027_number_caps
Revises: 0023_message_class
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027_number_caps"
down_revision: str | None = "0023_message_class"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("held", sa.String(16), nullable=True))
        batch.add_column(sa.Column("digest_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_deliveries_digest_id_deliveries", "deliveries", ["digest_id"], ["id"],
            ondelete="SET NULL",
        )
        batch.create_index("ix_deliveries_digest_id", ["digest_id"])
        batch.create_index("ix_deliveries_sent_at", ["sent_at"])
        batch.create_index(
            "ix_deliveries_sms_number", ["address", "sent_at"],
            postgresql_where=sa.text("channel = 'sms'"), sqlite_where=sa.text("channel = 'sms'"),
        )
    with op.batch_alter_table("inbound_replies") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(16), nullable=False, server_default="other")
        )
        batch.add_column(sa.Column("delivery_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_inbound_replies_delivery_id_deliveries", "deliveries", ["delivery_id"], ["id"],
            ondelete="SET NULL",
        )
        batch.create_index("ix_inbound_replies_delivery_id", ["delivery_id"])
        batch.create_index("ix_inbound_replies_received_at", ["received_at"])
    op.execute("UPDATE inbound_replies SET kind = 'unsubscribe' WHERE unsubscribed")
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(
            sa.Column("source", sa.String(16), nullable=False, server_default="import")
        )
    op.create_table(
        "number_refusals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("refused_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reply_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["reply_id"], ["inbound_replies.id"],
            name="fk_number_refusals_reply_id_inbound_replies", ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_number_refusals"),
        sa.UniqueConstraint("phone", name="uq_number_refusals_phone"),
    )
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("reply_id", sa.Integer(), nullable=True),
        sa.Column("logged_by", sa.String(100), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"],
            name="fk_complaints_enterprise_id_enterprises", ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["deliveries.id"],
            name="fk_complaints_delivery_id_deliveries", ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reply_id"], ["inbound_replies.id"],
            name="fk_complaints_reply_id_inbound_replies", ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_complaints"),
    )
    op.create_index("ix_complaints_enterprise_id", "complaints", ["enterprise_id"])
    op.create_index("ix_complaints_received_at", "complaints", ["received_at"])


def downgrade() -> None:
    op.drop_table("complaints")
    op.drop_table("number_refusals")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("source")
    with op.batch_alter_table("inbound_replies") as batch:
        batch.drop_index("ix_inbound_replies_received_at")
        batch.drop_index("ix_inbound_replies_delivery_id")
        batch.drop_constraint("fk_inbound_replies_delivery_id_deliveries", type_="foreignkey")
        batch.drop_column("delivery_id")
        batch.drop_column("kind")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index("ix_deliveries_sms_number")
        batch.drop_index("ix_deliveries_sent_at")
        batch.drop_index("ix_deliveries_digest_id")
        batch.drop_constraint("fk_deliveries_digest_id_deliveries", type_="foreignkey")
        batch.drop_column("digest_id")
        batch.drop_column("held")

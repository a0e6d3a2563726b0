"""firm page: a policy's guide fields, and reach_events (what a firm did on its page)

Revision ID: 0020_firm_page
Revises: 0019_dashboard_index
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_firm_page"
down_revision: str | None = "0019_dashboard_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUIDE = (
    ("eligibility", sa.Text()),
    ("materials", sa.Text()),
    ("office_address", sa.String(length=300)),
    ("apply_url", sa.String(length=2000)),
    ("enquiry_phone", sa.String(length=40)),
)


def upgrade() -> None:
    with op.batch_alter_table("policies") as batch:
        for name, kind in GUIDE:
            batch.add_column(sa.Column(name, kind, nullable=True))
    op.create_table(
        "reach_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["policies.id"],
            name=op.f("fk_reach_events_policy_id_policies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_reach_events_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reach_events")),
        sa.UniqueConstraint(
            "policy_id",
            "enterprise_id",
            "key",
            name=op.f("uq_reach_events_policy_id"),
        ),
    )
    op.create_index(
        op.f("ix_reach_events_enterprise_id"), "reach_events", ["enterprise_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_reach_events_enterprise_id"), table_name="reach_events")
    op.drop_table("reach_events")
    with op.batch_alter_table("policies") as batch:
        for name, _ in reversed(GUIDE):
            batch.drop_column(name)

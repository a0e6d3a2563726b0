"""reach states: one row per (policy, firm) saying how far the policy got with it

Revision ID: 0021_reach_states
Revises: 0020_firm_page
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_reach_states"
down_revision: str | None = "0020_firm_page"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # One firm's deliveries of one policy in one seek (a reach state is read from them); the
    # index on the policy alone is its prefix, so it goes.
    op.create_index("ix_deliveries_policy_enterprise", "deliveries", ["policy_id", "enterprise_id"])
    op.drop_index("ix_deliveries_policy_id", table_name="deliveries")
    op.create_table(
        "reach_states",
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("question_open", sa.Boolean(), nullable=False),
        sa.Column("stale_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["policies.id"],
            name=op.f("fk_reach_states_policy_id_policies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_reach_states_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("policy_id", "enterprise_id", name=op.f("pk_reach_states")),
    )
    op.create_index(
        op.f("ix_reach_states_enterprise_id"), "reach_states", ["enterprise_id"], unique=False
    )
    op.create_index(
        "ix_reach_states_policy_state", "reach_states", ["policy_id", "state"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_reach_states_policy_state", table_name="reach_states")
    op.drop_index(op.f("ix_reach_states_enterprise_id"), table_name="reach_states")
    op.drop_table("reach_states")
    op.create_index("ix_deliveries_policy_id", "deliveries", ["policy_id"])
    op.drop_index("ix_deliveries_policy_enterprise", table_name="deliveries")

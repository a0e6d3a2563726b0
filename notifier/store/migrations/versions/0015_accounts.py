"""accounts for people: users who sign in by name and password; keys and console sessions
may belong to one

Revision ID: 0015_accounts
Revises: 0014
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_accounts"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("community", sa.String(length=200), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
    )
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_api_keys_user_id_users"),
            "users",
            ["user_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index(batch.f("ix_api_keys_user_id"), ["user_id"])
    with op.batch_alter_table("console_sessions") as batch:
        batch.alter_column("api_key_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_console_sessions_user_id_users"),
            "users",
            ["user_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_index(batch.f("ix_console_sessions_user_id"), ["user_id"])


def downgrade() -> None:
    op.execute("DELETE FROM console_sessions WHERE api_key_id IS NULL")
    with op.batch_alter_table("console_sessions") as batch:
        batch.drop_index(batch.f("ix_console_sessions_user_id"))
        batch.drop_constraint(batch.f("fk_console_sessions_user_id_users"), type_="foreignkey")
        batch.drop_column("user_id")
        batch.alter_column("api_key_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_index(batch.f("ix_api_keys_user_id"))
        batch.drop_constraint(batch.f("fk_api_keys_user_id_users"), type_="foreignkey")
        batch.drop_column("user_id")
    op.drop_table("users")

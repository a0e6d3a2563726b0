"""deadline reminder ladders, cancelled deadlines, deadlines marked done

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

``remind_days`` (whole days) becomes ``remind``, a ladder of rungs: each stored day ``n`` is
kept as the calendar-day rung ``"nd"``, so a deadline stored before keeps its reminders.
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_deadlines = sa.table(
    "deadlines",
    sa.column("id", sa.Integer()),
    sa.column("remind_days", sa.JSON()),
    sa.column("remind", sa.JSON()),
)


def _as_list(value: object) -> list[int]:
    if isinstance(value, str):  # some drivers hand JSON back as text
        value = json.loads(value)
    return list(value) if isinstance(value, list) else []


def upgrade() -> None:
    with op.batch_alter_table("deadlines") as batch:
        batch.add_column(sa.Column("remind", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
    connection = op.get_bind()
    for row in connection.execute(sa.select(_deadlines.c.id, _deadlines.c.remind_days)):
        rungs = [f"{int(day)}d" for day in _as_list(row.remind_days)]
        connection.execute(
            _deadlines.update().where(_deadlines.c.id == row.id).values(remind=rungs)
        )
    with op.batch_alter_table("deadlines") as batch:
        batch.drop_column("remind_days")
    op.create_table(
        "deadline_done",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deadline_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["deadline_id"],
            ["deadlines.id"],
            name=op.f("fk_deadline_done_deadline_id_deadlines"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_deadline_done_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadline_done")),
        sa.UniqueConstraint(
            "deadline_id", "enterprise_id", name=op.f("uq_deadline_done_deadline_id")
        ),
    )
    with op.batch_alter_table("deadline_done") as batch:
        batch.create_index(
            batch.f("ix_deadline_done_enterprise_id"), ["enterprise_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("deadline_done") as batch:
        batch.drop_index(batch.f("ix_deadline_done_enterprise_id"))
    op.drop_table("deadline_done")
    with op.batch_alter_table("deadlines") as batch:
        batch.add_column(sa.Column("remind_days", sa.JSON(), nullable=True))
    connection = op.get_bind()
    for row in connection.execute(sa.select(_deadlines.c.id, _deadlines.c.remind)):
        # Calendar-day rungs go back as days; working-day rungs count as days (the old column
        # knew no working days).
        days = [int(str(rung).rstrip("wd")) for rung in _as_list(row.remind)] or [7, 3, 1]
        connection.execute(
            _deadlines.update().where(_deadlines.c.id == row.id).values(remind_days=days)
        )
    with op.batch_alter_table("deadlines") as batch:
        batch.alter_column("remind_days", existing_type=sa.JSON(), nullable=False)
        batch.drop_column("cancelled_at")
        batch.drop_column("remind")

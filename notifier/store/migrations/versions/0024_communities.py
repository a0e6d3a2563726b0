"""communities and departments; a user's community (by id, replacing the unused text column)
and department

A user's old ``community`` text becomes a community of that name with no regions yet (its
staff see no firm until an admin sets its regions: never more than before was meant).

Revision ID: 0024_communities
Revises: 0023_message_class
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_communities"
down_revision: str | None = "0023_message_class"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _named_table(name: str) -> None:
    extra = [sa.Column("regions", sa.JSON(), nullable=False)] if name == "communities" else []
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        *extra,
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint("name", name=op.f(f"uq_{name}_name")),
    )


def upgrade() -> None:
    _named_table("communities")
    _named_table("departments")
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("community_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("department_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_users_community_id_communities"), "communities",
            ["community_id"], ["id"], ondelete="RESTRICT",
        )  # fmt: skip
        batch.create_foreign_key(
            batch.f("fk_users_department_id_departments"), "departments",
            ["department_id"], ["id"], ondelete="RESTRICT",
        )  # fmt: skip
        batch.create_index(batch.f("ix_users_community_id"), ["community_id"])
        batch.create_index(batch.f("ix_users_department_id"), ["department_id"])
    connection = op.get_bind()
    users = sa.table(
        "users", sa.column("id", sa.Integer), sa.column("community", sa.String),
        sa.column("community_id", sa.Integer),
    )  # fmt: skip
    communities = sa.table(
        "communities", sa.column("id", sa.Integer), sa.column("name", sa.String),
        sa.column("regions", sa.JSON), sa.column("created_at", sa.DateTime(timezone=True)),
    )  # fmt: skip
    names = connection.execute(
        sa.select(users.c.community).where(users.c.community.is_not(None)).distinct()
    ).scalars()
    for name in sorted({str(n).strip()[:100] for n in names if str(n).strip()}):
        connection.execute(
            communities.insert().values(name=name, regions=[], created_at=sa.func.now())
        )
        found = connection.scalar(sa.select(communities.c.id).where(communities.c.name == name))
        connection.execute(
            users.update()
            .where(sa.func.substr(sa.func.trim(users.c.community), 1, 100) == name)
            .values(community_id=found)
        )
    with op.batch_alter_table("users") as batch:
        batch.drop_column("community")


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("community", sa.String(length=200), nullable=True))
    connection = op.get_bind()
    connection.execute(
        sa.text(
            "UPDATE users SET community = (SELECT name FROM communities "
            "WHERE communities.id = users.community_id)"
        )
    )
    with op.batch_alter_table("users") as batch:
        batch.drop_index(batch.f("ix_users_department_id"))
        batch.drop_index(batch.f("ix_users_community_id"))
        batch.drop_constraint(batch.f("fk_users_department_id_departments"), type_="foreignkey")
        batch.drop_constraint(batch.f("fk_users_community_id_communities"), type_="foreignkey")
        batch.drop_column("department_id")
        batch.drop_column("community_id")
    op.drop_table("departments")
    op.drop_table("communities")

"""编号 for the policies stored before refs were generated, so that every policy can be corrected

A policy published without a ref was keyed by its content (``sha:<hex>``). Since 0.1 such a
policy gets ``P-YYYYMMDD-<first ten hex digits>`` when first stored (services/policies/refs.py);
this gives the older ones the same ref: their publication day in China Standard Time (the
deployment zone of every installation so far) and the same digits, so publishing the same
content again still finds them.

Revision ID: 0016_policy_refs
Revises: 0015_import_mapping
Create Date: 2026-12-07
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = "0016_policy_refs"
down_revision: str | None = "0015_import_mapping"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ZONE = ZoneInfo("Asia/Shanghai")
POLICIES = sa.table(
    "policies",
    sa.column("id", sa.Integer),
    sa.column("source_key", sa.String),
    sa.column("published_at", sa.DateTime(timezone=True)),
)


def _day(published_at: datetime) -> str:
    aware = published_at if published_at.tzinfo else published_at.replace(tzinfo=UTC)
    return f"{aware.astimezone(ZONE):%Y%m%d}"


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(POLICIES.c.id, POLICIES.c.source_key, POLICIES.c.published_at).where(
            POLICIES.c.source_key.like("sha:%")
        )
    ).all()
    taken = set(connection.scalars(sa.select(POLICIES.c.source_key)))
    for policy_id, key, published_at in rows:
        ref = f"ref:P-{_day(published_at)}-{key.removeprefix('sha:')[:10]}"
        if ref in taken:  # the same content published again under a generated ref
            continue
        taken.add(ref)
        connection.execute(
            sa.update(POLICIES).where(POLICIES.c.id == policy_id).values(source_key=ref)
        )


def downgrade() -> None:
    # The content key cannot be recomputed from the ref's ten digits; the refs stay.
    pass

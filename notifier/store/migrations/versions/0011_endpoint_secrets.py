"""a signing secret per webhook endpoint (endpoint_secrets)

Existing webhook endpoints get a row with no secret of their own: they stay signed with the
shared ``webhook.secret``, as their receivers verify today, until their firm takes its own
secret (then both sign for the overlap). Endpoints added after this get their own at once.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "endpoint_secrets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("secret_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("previous_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("overlap_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revealed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_endpoint_secrets_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_endpoint_secrets")),
        sa.UniqueConstraint("contact_id", name=op.f("uq_endpoint_secrets_contact_id")),
    )
    # The existing endpoints: marked as signed with the shared secret (see above).
    op.execute(
        "INSERT INTO endpoint_secrets (contact_id, created_at) "
        "SELECT id, CURRENT_TIMESTAMP FROM contacts WHERE channel = 'webhook'"
    )


def downgrade() -> None:
    op.drop_table("endpoint_secrets")

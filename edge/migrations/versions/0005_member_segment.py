"""A member's RFM segment on the hub's replica, from HQ's lookup answer (docs/analytics.md).

Revision ID: 0005f
Revises: 0004
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005f"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Only if missing: a database adopted at 0001 may have been made by a later schema.
    existing = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("members")}
    if "segment" not in existing:
        with op.batch_alter_table("members") as batch:
            batch.add_column(sa.Column("segment", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_column("segment")

"""A member's RFM segment on the hub's replica, from HQ's lookup answer (docs/analytics.md);
when a bill's party gave their feedback (edge/billing/feedback.py: once per bill).

Revision ID: 0005f
Revises: 0005w
Create Date: 2026-11-28
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005f"
down_revision: str | None = "0005w"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


COLUMNS: tuple[tuple[str, sa.Column[Any]], ...] = (
    ("members", sa.Column("segment", sa.String(length=8), nullable=True)),
    ("payments", sa.Column("feedback_at", sa.Double(), nullable=True)),
)


def upgrade() -> None:
    # Only if missing: a database adopted at 0001 may have been made by a later schema.
    inspector = sa.inspect(op.get_bind())
    for table, column in COLUMNS:
        if column.name not in {c["name"] for c in inspector.get_columns(table)}:
            with op.batch_alter_table(table) as batch:
                batch.add_column(column)


def downgrade() -> None:
    for table, column in reversed(COLUMNS):
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column.name)

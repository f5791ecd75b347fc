"""Printers answer the hub themselves: the devices table keeps the printer's own answers to
the hub's DLE EOT status questions (paper, cover, online) beside what its bridge reports.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Only what is missing: a database adopted at 0001 may have been made by a later schema.
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("devices")}
    columns = [
        sa.Column("status_paper", sa.String(length=8), nullable=True),
        sa.Column("status_cover", sa.String(length=8), nullable=True),
        sa.Column("status_online", sa.Boolean(), nullable=True),
    ]
    missing = [c for c in columns if c.name not in have]
    if not missing:
        return
    with op.batch_alter_table("devices") as batch:
        for column in missing:
            batch.add_column(column)


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("status_online")
        batch.drop_column("status_cover")
        batch.drop_column("status_paper")

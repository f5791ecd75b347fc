"""Outbox rows carry the hub->cloud event's schema version (typed uplink). Rows queued before
keep NULL: they are sent without `v`, which the cloud reads as 1.

A hub that ran the typed uplink before migrations existed added the column in place already
and is adopted at 0001 like every older one: for it this revision has nothing to do.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if "v" in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("outbox")}:
        return
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("v", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("v")

"""A store's region (optional; docs/grafana.md); each member id's paid bills summed
(`member_totals`) and per store (`member_store_bills`), kept by ingest beside `member_spend`
so that RFM reads a row per id, not per bill (cloud/members/spend.py), filled from the bills
already stored.

Revision ID: 0009h
Revises: 0009r
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision: str = "0009h"
down_revision: str | None = "0009r"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("stores", sa.Column("region", sa.String(length=32), nullable=True))
    op.create_table(
        "member_totals",
        sa.Column("member_id", sa.String(length=32), nullable=False),
        sa.Column("bills", sa.Integer(), nullable=False),
        sa.Column("spend_fen", sa.BigInteger(), nullable=False),
        sa.Column("last_paid_at", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_member_totals")),
    )
    op.create_table(
        "member_store_bills",
        sa.Column("member_id", sa.String(length=32), nullable=False),
        sa.Column("store_id", sa.String(length=32), nullable=False),
        sa.Column("bills", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("member_id", "store_id", name=op.f("pk_member_store_bills")),
    )
    # Today's code, as in 0006: the sums from the bills, by the rule ingest keeps them.
    from cloud.members import spend

    spend.rebuild(Session(bind=op.get_bind()))


def downgrade() -> None:
    op.drop_column("stores", "region")
    op.drop_table("member_store_bills")
    op.drop_table("member_totals")

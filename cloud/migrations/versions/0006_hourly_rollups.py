"""Hourly rollups of the sales facts, payments as facts, and each store's outbox backlog age.

The rollups (sale_hours, dish_hours) are filled from the facts already stored, in the
database (one GROUP BY each); the facts of the payments already stored are made first, since
the daily metrics (visits, average bill) count them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("stores", sa.Column("backlog_age_s", sa.Double(), nullable=True))
    sums = ("facts", "orders", "qty", "revenue_fen", "visits", "paid_fen")
    op.create_table(
        "sale_hours",
        sa.Column("store_id", sa.String(length=32), nullable=False),
        sa.Column("hour_s", sa.BigInteger(), nullable=False),
        *(sa.Column(c, sa.BigInteger(), nullable=False) for c in sums),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_sale_hours_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("store_id", "hour_s", name=op.f("pk_sale_hours")),
    )
    op.create_index("ix_sale_hours_hour", "sale_hours", ["hour_s"])
    op.create_table(
        "dish_hours",
        sa.Column("store_id", sa.String(length=32), nullable=False),
        sa.Column("hour_s", sa.BigInteger(), nullable=False),
        sa.Column("dish", sa.String(length=64), nullable=False),
        *(sa.Column(c, sa.BigInteger(), nullable=False) for c in ("facts", "qty", "revenue_fen")),
        sa.Column("name_zh", sa.Text(), nullable=True),
        sa.Column("name_en", sa.Text(), nullable=True),
        sa.Column("name_at", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_dish_hours_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("store_id", "hour_s", "dish", name=op.f("pk_dish_hours")),
    )
    op.create_index("ix_dish_hours_hour", "dish_hours", ["hour_s"])
    # Today's code, as in 0005: the payments' facts, then the rollups from all the facts.
    from cloud import sales_facts, sales_rollups

    session = Session(bind=op.get_bind())
    sales_facts.record_stored(session, ("payment.recorded",), rollups=False)
    sales_rollups.rebuild(session)


def downgrade() -> None:
    op.execute("DELETE FROM sale_facts WHERE kind = 'payment'")
    op.drop_index("ix_dish_hours_hour", table_name="dish_hours")
    op.drop_table("dish_hours")
    op.drop_index("ix_sale_hours_hour", table_name="sale_hours")
    op.drop_table("sale_hours")
    op.drop_column("stores", "backlog_age_s")

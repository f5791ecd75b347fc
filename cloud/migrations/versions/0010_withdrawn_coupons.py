"""A reward coupon withdrawn with its cause (`coupon.withdrawn`): when, where, by the refund of
which bill, kept on the coupon so that a use reported after the withdrawal (a store that was
offline) is listed as a `withdrawn_used` risk item too (cloud/members/ingest.py).

Revision ID: 0010c
Revises: 0009h
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010c"
down_revision: str | None = "0009h"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("coupons", sa.Column("withdrawn_at", sa.Double(), nullable=True))
    op.add_column("coupons", sa.Column("withdrawn_store", sa.String(length=32), nullable=True))
    op.add_column("coupons", sa.Column("withdrawn_payment", sa.String(length=64), nullable=True))
    # Coupons withdrawn before this: from their `coupon.withdrawn` events, the first of each.
    json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    events = sa.table(
        "ingested_events",
        sa.column("id", sa.BigInteger()),
        sa.column("store_id", sa.String()),
        sa.column("type", sa.String()),
        sa.column("data", json),
    )
    coupons = sa.table(
        "coupons",
        sa.column("code", sa.String()),
        sa.column("withdrawn_at", sa.Double()),
        sa.column("withdrawn_store", sa.String()),
        sa.column("withdrawn_payment", sa.String()),
    )
    bind = op.get_bind()
    withdrawn = sa.select(events.c.store_id, events.c.data).where(
        events.c.type == "coupon.withdrawn"
    )
    for store, data in bind.execute(withdrawn.order_by(events.c.id)).all():
        bind.execute(
            sa.update(coupons)
            .where(coupons.c.code == data.get("coupon"), coupons.c.withdrawn_at.is_(None))
            .values(
                withdrawn_at=data.get("at"),
                withdrawn_store=store,
                withdrawn_payment=data.get("payment"),
            )
        )


def downgrade() -> None:
    op.drop_column("coupons", "withdrawn_payment")
    op.drop_column("coupons", "withdrawn_store")
    op.drop_column("coupons", "withdrawn_at")

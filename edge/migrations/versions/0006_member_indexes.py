"""Indexes the member tab reads by (docs/members.md, "Recommendations"): a member's orders
("your usual"), orders by time ("popular here now": this hour of each of the last 14 days),
a member's payments over 12 months (their level). Without them each read scanned a year of
orders or payments (docs/benchmarks.md, "Members at the hub").

Revision ID: 0006m
Revises: 0006w
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006m"
down_revision: str | None = "0006w"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES: tuple[tuple[str, str, list[str]], ...] = (
    ("ix_orders_member", "orders", ["member_id", "id"]),
    ("ix_orders_created", "orders", ["created_at"]),
    ("ix_payments_member", "payments", ["member_id", "paid_at"]),
)


def upgrade() -> None:
    # Only if missing: a database adopted at 0001 may have been made by a later schema.
    inspector = sa.inspect(op.get_bind())
    for name, table, cols in INDEXES:
        if name not in {i["name"] for i in inspector.get_indexes(table)}:
            op.create_index(name, table, cols)


def downgrade() -> None:
    for name, table, _cols in reversed(INDEXES):
        op.drop_index(name, table)

"""The waitlist and reservations: the line at the door (a row per number issued) and the
bookings by 15-minute slot (docs/waitlist.md).

Revision ID: 0005w
Revises: 0005g
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005w"
down_revision: str | None = "0005g"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Only what is missing: a database adopted at 0001 may have been made by a later schema.
    have = set(sa.inspect(op.get_bind()).get_table_names())
    if "waitlist_parties" not in have:
        op.create_table(
            "waitlist_parties",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("uid", sa.String(length=32), nullable=False),
            sa.Column("key", sa.String(length=120), nullable=False),
            sa.Column("day", sa.String(length=10), nullable=False),
            sa.Column("grp", sa.String(length=1), nullable=False),
            sa.Column("seq", sa.Integer(), nullable=False),
            sa.Column("size", sa.Integer(), nullable=False),
            sa.Column("source", sa.String(length=8), nullable=False),
            sa.Column("member_id", sa.String(length=32), nullable=True),
            sa.Column("priority", sa.Boolean(), nullable=False),
            sa.Column("passed_over", sa.Integer(), nullable=False),
            sa.Column("status", sa.String(length=8), nullable=False),
            sa.Column("created_at", sa.Double(), nullable=False),
            sa.Column("called_at", sa.Double(), nullable=True),
            sa.Column("calls", sa.Integer(), nullable=False),
            sa.Column("ended_at", sa.Double(), nullable=True),
            sa.Column("table_id", sa.String(length=32), nullable=True),
            sa.Column("est_low_s", sa.Double(), nullable=True),
            sa.Column("est_s", sa.Double(), nullable=True),
            sa.Column("est_high_s", sa.Double(), nullable=True),
            sa.Column("booking_id", sa.Integer(), nullable=True),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("day", "grp", "seq", name="uq_waitlist_number"),
            sa.UniqueConstraint("key"),
            sa.UniqueConstraint("uid"),
        )
        op.create_index("ix_waitlist_day_status", "waitlist_parties", ["day", "status"])
    if "bookings" not in have:
        op.create_table(
            "bookings",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("uid", sa.String(length=32), nullable=False),
            sa.Column("key", sa.String(length=120), nullable=False),
            sa.Column("day", sa.String(length=10), nullable=False),
            sa.Column("slot", sa.String(length=5), nullable=False),
            sa.Column("slot_at", sa.Double(), nullable=False),
            sa.Column("grp", sa.String(length=1), nullable=False),
            sa.Column("size", sa.Integer(), nullable=False),
            sa.Column("name", sa.String(length=40), nullable=False),
            sa.Column("phone_mask", sa.String(length=16), nullable=False),
            sa.Column("member_id", sa.String(length=32), nullable=True),
            sa.Column("status", sa.String(length=9), nullable=False),
            sa.Column("created_at", sa.Double(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("key"),
            sa.UniqueConstraint("uid"),
        )
        op.create_index("ix_bookings_slot", "bookings", ["day", "slot", "grp"])


def downgrade() -> None:
    op.drop_index("ix_bookings_slot", table_name="bookings")
    op.drop_table("bookings")
    op.drop_index("ix_waitlist_day_status", table_name="waitlist_parties")
    op.drop_table("waitlist_parties")

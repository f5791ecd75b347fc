"""Stamp cards across the chain: every stamp a hub gave, once (docs/games.md); friends who
joined with a member's share code, and which store's payment rewarded them (docs/members.md).

Revision ID: 0009s
Revises: 0008a
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009s"
down_revision: str | None = "0008a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stamp_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("stamp", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.String(length=32), nullable=False),
        sa.Column("store_id", sa.String(length=32), nullable=False),
        sa.Column("campaign", sa.String(length=32), nullable=False),
        sa.Column("place", sa.String(length=72), nullable=False),
        sa.Column("card", sa.Integer(), nullable=False),
        sa.Column("completes", sa.Boolean(), nullable=False),
        sa.Column("coupon", sa.String(length=11), nullable=True),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("received_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_stamp_entries_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stamp_entries")),
        sa.UniqueConstraint("stamp", name=op.f("uq_stamp_entries_stamp")),
    )
    op.create_index(
        "ix_stamp_entries_member", "stamp_entries", ["member_id", "campaign"], unique=False
    )
    op.create_table(
        "invitations",
        sa.Column("friend_id", sa.String(length=32), nullable=False),
        sa.Column("inviter_id", sa.String(length=32), nullable=False),
        sa.Column("store_id", sa.String(length=32), nullable=False),
        sa.Column("campaign", sa.String(length=32), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("rewarded_payment", sa.String(length=64), nullable=True),
        sa.Column("rewarded_store", sa.String(length=32), nullable=True),
        sa.Column("rewarded_at", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_invitations_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("friend_id", name=op.f("pk_invitations")),
    )


def downgrade() -> None:
    op.drop_table("invitations")
    op.drop_index("ix_stamp_entries_member", table_name="stamp_entries")
    op.drop_table("stamp_entries")

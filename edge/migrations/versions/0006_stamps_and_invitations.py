"""Stamp cards across the chain (a member's stamps, given here or reported by HQ from other
stores) and invitations (a friend who joined with a member's share code): docs/games.md,
docs/members.md.

Revision ID: 0006s
Revises: 0005f
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006s"
down_revision: str | None = "0005f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    have = set(sa.inspect(op.get_bind()).get_table_names())
    if "member_stamps" not in have:
        op.create_table(
            "member_stamps",
            sa.Column("id", sa.String(length=64), primary_key=True),
            sa.Column("member_id", sa.String(length=32), nullable=False),
            sa.Column("campaign", sa.String(length=32), nullable=False),
            sa.Column("place", sa.String(length=72), nullable=False),
            sa.Column("at", sa.Double(), nullable=False),
            sa.Column("mine", sa.Boolean(), nullable=False),
            sa.Column("card", sa.Integer(), nullable=True),
            sa.Column("completes", sa.Boolean(), nullable=False),
        )
        op.create_index("ix_member_stamps_member", "member_stamps", ["member_id", "campaign"])
    if "member_invitations" not in have:
        op.create_table(
            "member_invitations",
            sa.Column("friend_id", sa.String(length=32), primary_key=True),
            sa.Column("friend_phone_hash", sa.String(length=64), nullable=False, unique=True),
            sa.Column("inviter_id", sa.String(length=32), nullable=False),
            sa.Column("campaign", sa.String(length=32), nullable=False),
            sa.Column("day", sa.String(length=10), nullable=False),
            sa.Column("at", sa.Double(), nullable=False),
            sa.Column("rewarded_payment", sa.String(length=32), nullable=True),
            sa.Column("rewarded_at", sa.Double(), nullable=True),
        )
        op.create_index(
            "ix_member_invitations_inviter", "member_invitations", ["inviter_id", "day"]
        )


def downgrade() -> None:
    op.drop_table("member_invitations")
    op.drop_table("member_stamps")

"""Members: the hub's replica of the chain's members, its ledger entries and coupons, the
party's member, and what a payment did for its member (docs/members.md).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PAYMENT_COLUMNS: tuple[tuple[str, sa.types.TypeEngine[Any], str | None], ...] = (
    ("member_id", sa.String(length=32), None),
    ("gross_fen", sa.Integer(), None),
    ("coupon_code", sa.String(length=16), None),
    ("coupon_off_fen", sa.Integer(), "0"),
    ("points_used", sa.Integer(), "0"),
    ("points_off_fen", sa.Integer(), "0"),
    ("points_earned", sa.Integer(), "0"),
    ("points_balance", sa.Integer(), None),
    ("refunded_at", sa.Double(), None),
    ("refunded_by", sa.String(length=64), None),
)


def upgrade() -> None:
    # Only what is missing: a database adopted at 0001 may have been made by a later schema.
    inspector = sa.inspect(op.get_bind())
    have = set(inspector.get_table_names())
    if "members" not in have:
        _create_tables()
    for table, columns in (
        ("orders", [sa.Column("member_id", sa.String(length=32), nullable=True)]),
        ("print_jobs", [sa.Column("payment_uid", sa.String(length=32), nullable=True)]),
        (
            "payments",
            [
                sa.Column(name, kind, nullable=default is None, server_default=default)
                for name, kind, default in PAYMENT_COLUMNS
            ],
        ),
    ):
        existing = {c["name"] for c in inspector.get_columns(table)}
        missing = [c for c in columns if c.name not in existing]
        if missing:
            with op.batch_alter_table(table) as batch:
                for column in missing:
                    batch.add_column(column)


def _create_tables() -> None:
    op.create_table(
        "members",
        sa.Column("id", sa.String(length=32), primary_key=True),
        sa.Column("phone_hash", sa.String(length=64), nullable=True, unique=True),
        sa.Column("phone_masked", sa.String(length=16), nullable=False),
        sa.Column("birthday", sa.String(length=5), nullable=True),
        sa.Column("card_no", sa.String(length=10), nullable=True, unique=True),
        sa.Column("consent", sa.String(length=16), nullable=False),
        sa.Column("joined_at", sa.Double(), nullable=False),
        sa.Column("joined_here", sa.Boolean(), nullable=False),
        sa.Column("hq_checked_at", sa.Double(), nullable=True),
        sa.Column("hq_balance_elsewhere", sa.Integer(), nullable=False),
        sa.Column("hq_spend_elsewhere_fen", sa.Integer(), nullable=False),
        sa.Column("erased", sa.Boolean(), nullable=False),
        sa.Column("birthday_year", sa.Integer(), nullable=True),
    )
    op.create_table(
        "member_points",
        sa.Column("id", sa.String(length=48), primary_key=True),
        sa.Column("member_id", sa.String(length=32), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("cause", sa.String(length=12), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
    )
    op.create_index("ix_member_points_member", "member_points", ["member_id", "at"])
    op.create_table(
        "member_coupons",
        sa.Column("code", sa.String(length=16), primary_key=True),
        sa.Column("member_id", sa.String(length=32), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("valid_from", sa.Double(), nullable=False),
        sa.Column("valid_until", sa.Double(), nullable=False),
        sa.Column("issued_at", sa.Double(), nullable=False),
        sa.Column("redeemed_payment", sa.String(length=32), nullable=True),
        sa.Column("redeemed_at", sa.Double(), nullable=True),
        sa.Column("off_fen", sa.Integer(), nullable=True),
    )
    op.create_index("ix_member_coupons_member_id", "member_coupons", ["member_id"])
    op.create_table(
        "party_members",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("table_id", sa.String(length=32), nullable=False),
        sa.Column("party_opened_at", sa.Double(), nullable=False),
        sa.Column("member_id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.UniqueConstraint("table_id", "party_opened_at", name="uq_party_member"),
    )


def downgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        for name, _kind, _default in reversed(PAYMENT_COLUMNS):
            batch.drop_column(name)
    with op.batch_alter_table("print_jobs") as batch:
        batch.drop_column("payment_uid")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("member_id")
    op.drop_table("party_members")
    op.drop_index("ix_member_coupons_member_id", "member_coupons")
    op.drop_table("member_coupons")
    op.drop_index("ix_member_points_member", "member_points")
    op.drop_table("member_points")
    op.drop_table("members")

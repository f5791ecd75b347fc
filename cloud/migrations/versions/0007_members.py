"""Members across the chain: members and the ids hubs made for them, the points ledger,
coupons and their redemptions, members' spend, and the risk list (docs/members-hq.md).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "risk_items",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("member", sa.String(length=32), nullable=False),
        sa.Column("store_id", sa.String(length=32), nullable=True),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_items")),
        sa.UniqueConstraint("key", name=op.f("uq_risk_items_key")),
    )
    op.create_index("ix_risk_items_created", "risk_items", ["created_at"], unique=False)
    op.create_table(
        "coupon_redemptions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_key", sa.String(length=120), nullable=False),
        sa.Column("code", sa.String(length=11), nullable=False),
        sa.Column("member_id", sa.String(length=32), nullable=False),
        sa.Column("store_id", sa.String(length=32), nullable=False),
        sa.Column("payment", sa.String(length=64), nullable=False),
        sa.Column("off_fen", sa.BigInteger(), nullable=False),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("released_at", sa.Double(), nullable=True),
        sa.Column("received_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_coupon_redemptions_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_redemptions")),
        sa.UniqueConstraint("event_key", name=op.f("uq_coupon_redemptions_event_key")),
    )
    op.create_index("ix_coupon_redemptions_code", "coupon_redemptions", ["code"], unique=False)
    op.create_table(
        "coupons",
        sa.Column("code", sa.String(length=11), nullable=False),
        sa.Column("member_id", sa.String(length=32), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("name_zh", sa.String(length=30), nullable=False),
        sa.Column("name_en", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value_fen", sa.BigInteger(), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("cap_fen", sa.BigInteger(), nullable=True),
        sa.Column("dish", sa.String(length=64), nullable=True),
        sa.Column("min_spend_fen", sa.BigInteger(), nullable=False),
        sa.Column("stores", sa.JSON(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("issued_store", sa.String(length=32), nullable=True),
        sa.Column("issued_at", sa.Double(), nullable=False),
        sa.Column("valid_from", sa.Double(), nullable=False),
        sa.Column("valid_until", sa.Double(), nullable=False),
        sa.Column("redeemed_at", sa.Double(), nullable=True),
        sa.Column("redeemed_store", sa.String(length=32), nullable=True),
        sa.Column("redeemed_payment", sa.String(length=64), nullable=True),
        sa.Column("redeemed_off_fen", sa.BigInteger(), nullable=True),
        sa.Column("released_at", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["issued_store"], ["stores.id"], name=op.f("fk_coupons_issued_store_stores")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_coupons")),
    )
    op.create_index("ix_coupons_issued_store", "coupons", ["issued_store"], unique=False)
    op.create_index("ix_coupons_member", "coupons", ["member_id"], unique=False)
    op.create_table(
        "member_spend",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("member_id", sa.String(length=32), nullable=False),
        sa.Column("store_id", sa.String(length=32), nullable=False),
        sa.Column("payment", sa.String(length=64), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("paid_at", sa.Double(), nullable=False),
        sa.Column("refunded_at", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_member_spend_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_spend")),
    )
    op.create_index(
        "ix_member_spend_member_paid", "member_spend", ["member_id", "paid_at"], unique=False
    )
    op.create_index(
        "ix_member_spend_store_payment", "member_spend", ["store_id", "payment"], unique=True
    )
    op.create_table(
        "members",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("phone_hash", sa.String(length=64), nullable=True),
        sa.Column("phone_masked", sa.String(length=16), nullable=True),
        sa.Column("birthday", sa.String(length=5), nullable=True),
        sa.Column("card_no", sa.String(length=10), nullable=True),
        sa.Column("consent", sa.String(length=16), nullable=False),
        sa.Column("joined_at", sa.Double(), nullable=False),
        sa.Column("joined_store", sa.String(length=32), nullable=False),
        sa.Column("erased_at", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["joined_store"], ["stores.id"], name=op.f("fk_members_joined_store_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint("phone_hash", name=op.f("uq_members_phone_hash")),
    )
    op.create_table(
        "points_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("entry", sa.String(length=48), nullable=False),
        sa.Column("member_id", sa.String(length=32), nullable=False),
        sa.Column("store_id", sa.String(length=32), nullable=True),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("cause", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_points_entries_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_entries")),
        sa.UniqueConstraint("entry", name=op.f("uq_points_entries_entry")),
    )
    op.create_index(
        "ix_points_entries_member_store_points",
        "points_entries",
        ["member_id", "store_id", "points"],
        unique=False,
    )
    op.create_table(
        "member_ids",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("member", sa.String(length=32), nullable=False),
        sa.Column("store_id", sa.String(length=32), nullable=False),
        sa.Column("card_no", sa.String(length=10), nullable=True),
        sa.Column("joined_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member"], ["members.id"], name=op.f("fk_member_ids_member_members")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_member_ids_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_ids")),
    )
    op.create_index("ix_member_ids_card", "member_ids", ["card_no"], unique=False)
    op.create_index("ix_member_ids_member", "member_ids", ["member"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_member_ids_member", table_name="member_ids")
    op.drop_index("ix_member_ids_card", table_name="member_ids")
    op.drop_table("member_ids")
    op.drop_index("ix_points_entries_member_store_points", table_name="points_entries")
    op.drop_table("points_entries")
    op.drop_table("members")
    op.drop_index("ix_member_spend_store_payment", table_name="member_spend")
    op.drop_index("ix_member_spend_member_paid", table_name="member_spend")
    op.drop_table("member_spend")
    op.drop_index("ix_coupons_member", table_name="coupons")
    op.drop_index("ix_coupons_issued_store", table_name="coupons")
    op.drop_table("coupons")
    op.drop_index("ix_coupon_redemptions_code", table_name="coupon_redemptions")
    op.drop_table("coupon_redemptions")
    op.drop_index("ix_risk_items_created", table_name="risk_items")
    op.drop_table("risk_items")

"""Analytics: members' RFM scoring and its counts per store, coupon A/B experiments and their
exposures (docs/analytics.md).

Revision ID: 0008a
Revises: 0007
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008a"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "member_rfm",
        sa.Column("member", sa.String(length=32), nullable=False),
        sa.Column("last_paid_at", sa.Double(), nullable=False),
        sa.Column("bills", sa.Integer(), nullable=False),
        sa.Column("spend_fen", sa.BigInteger(), nullable=False),
        sa.Column("r", sa.SmallInteger(), nullable=False),
        sa.Column("f", sa.SmallInteger(), nullable=False),
        sa.Column("m", sa.SmallInteger(), nullable=False),
        sa.Column("segment", sa.String(length=8), nullable=False),
        sa.Column("scored_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("member", name=op.f("pk_member_rfm")),
    )
    op.create_index("ix_member_rfm_segment", "member_rfm", ["segment"], unique=False)
    op.create_table(
        "rfm_segment_counts",
        sa.Column("store_id", sa.String(length=32), nullable=False),
        sa.Column("segment", sa.String(length=8), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("scored_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("store_id", "segment", name=op.f("pk_rfm_segment_counts")),
    )
    op.create_table(
        "experiments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("segment", sa.String(length=8), nullable=True),
        sa.Column("variants", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiments")),
    )
    op.create_table(
        "experiment_exposures",
        sa.Column("experiment", sa.String(length=32), nullable=False),
        sa.Column("member", sa.String(length=32), nullable=False),
        sa.Column("variant", sa.SmallInteger(), nullable=False),
        sa.Column("coupon", sa.String(length=11), nullable=False),
        sa.Column("exposed_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("experiment", "member", name=op.f("pk_experiment_exposures")),
    )
    op.create_index(
        "ix_experiment_exposures_coupon", "experiment_exposures", ["coupon"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_experiment_exposures_coupon", table_name="experiment_exposures")
    op.drop_table("experiment_exposures")
    op.drop_table("experiments")
    op.drop_table("rfm_segment_counts")
    op.drop_index("ix_member_rfm_segment", table_name="member_rfm")
    op.drop_table("member_rfm")

"""Requests HQ passes to a store's hub (bookings taken at HQ), and when each hub last opened
its long poll for them (docs/waitlist.md).

Revision ID: 0009w
Revises: 0008a
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009w"
down_revision: str | None = "0009s"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.add_column("stores", sa.Column("requests_polled_at", sa.Double(), nullable=True))
    op.create_table(
        "store_requests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("store_id", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("body", JSON, nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.Column("claimed_at", sa.Double(), nullable=True),
        sa.Column("answered_at", sa.Double(), nullable=True),
        sa.Column("answer_status", sa.Integer(), nullable=True),
        sa.Column("answer", JSON, nullable=True),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name="fk_store_requests_store_id_stores"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_store_requests"),
        sa.UniqueConstraint("store_id", "request_id", name="uq_store_requests_store_id_request_id"),
    )
    op.create_index("ix_store_requests_store_status", "store_requests", ["store_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_store_requests_store_status", table_name="store_requests")
    op.drop_table("store_requests")
    op.drop_column("stores", "requests_polled_at")

"""Stores and ingested events.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stores",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("token_issued_at", sa.Double(), nullable=True),
        sa.Column("revoked_at", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stores")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_stores_token_hash")),
    )
    op.create_table(
        "ingested_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("store_id", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", sa.Double(), nullable=False),
        sa.Column("received_at", sa.Double(), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_ingested_events_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingested_events")),
        sa.UniqueConstraint(
            "store_id", "event_id", name=op.f("uq_ingested_events_store_id_event_id")
        ),
    )
    op.create_index(
        "ix_ingested_events_store_received", "ingested_events", ["store_id", "received_at"]
    )
    op.create_index(
        "ix_ingested_events_store_type_received",
        "ingested_events",
        ["store_id", "type", "received_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_ingested_events_store_type_received", table_name="ingested_events")
    op.drop_index("ix_ingested_events_store_received", table_name="ingested_events")
    op.drop_table("ingested_events")
    op.drop_table("stores")

"""Configuration documents HQ pushes down to stores; the version each store runs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("stores", sa.Column("config_version", sa.Integer(), nullable=True))
    op.create_table(
        "config_documents",
        sa.Column("version", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("published_at", sa.Double(), nullable=False),
        sa.Column("published_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_config_documents")),
    )
    op.create_index("ix_config_documents_scope_version", "config_documents", ["scope", "version"])


def downgrade() -> None:
    op.drop_index("ix_config_documents_scope_version", table_name="config_documents")
    op.drop_table("config_documents")
    op.drop_column("stores", "config_version")

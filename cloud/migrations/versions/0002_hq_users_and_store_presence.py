"""HQ users and their sessions; when each store was last seen.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("stores", sa.Column("last_seen_at", sa.Double(), nullable=True))
    op.create_table(
        "hq_users",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_hq_users")),
    )
    op.create_table(
        "hq_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["username"], ["hq_users.username"], name=op.f("fk_hq_sessions_username_hq_users")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_hq_sessions")),
    )


def downgrade() -> None:
    op.drop_table("hq_sessions")
    op.drop_table("hq_users")
    op.drop_column("stores", "last_seen_at")

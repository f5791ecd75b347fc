"""HQ users get a role (analyst: reads; admin: also changes) and a scope (the whole chain, or
a list of stores). Users made before roles existed could change everything for the whole chain;
they stay chain admins so that no one's work stops on upgrade (docs/hq-reports.md "HQ users").

Revision ID: 0009r
Revises: 0009w
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009r"
down_revision: str | None = "0009w"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The default fills the existing rows only; new users name their role when created.
    op.add_column(
        "hq_users",
        sa.Column("role", sa.String(length=16), nullable=False, server_default="admin"),
    )
    # SQLite (a laptop's HQ) cannot alter a column in place, and copying the table is refused
    # while sessions reference it: there the default stays (the service always names a role).
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("hq_users", "role", server_default=None)
    op.add_column("hq_users", sa.Column("stores", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("hq_users", "stores")
    op.drop_column("hq_users", "role")

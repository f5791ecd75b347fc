"""Each store's clock offset from HQ, as of its hub's last batch.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("stores", sa.Column("clock_offset_s", sa.Double(), nullable=True))


def downgrade() -> None:
    op.drop_column("stores", "clock_offset_s")

"""Whether a booking was made by a member of a priority level: places HQ holds for them in a
slot (contract.waitlist.TableGroup.priority_held) are counted against these bookings first.

Revision ID: 0006w
Revises: 0006s
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006w"
down_revision: str | None = "0006s"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Only if missing: a database adopted at 0001 may have been made by a later schema.
    inspector = sa.inspect(op.get_bind())
    if "priority" not in {c["name"] for c in inspector.get_columns("bookings")}:
        with op.batch_alter_table("bookings") as batch:
            batch.add_column(
                sa.Column("priority", sa.Boolean(), nullable=False, server_default=sa.false())
            )


def downgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("priority")

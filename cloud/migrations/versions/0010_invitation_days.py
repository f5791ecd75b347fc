"""An invitation's day (invite a friend): the store-local day the friend joined, as the hub
counted it for its per-store limit per inviter, so that HQ counts the inviter's friends a day
across the chain and lists the rewards beyond the limit (`invite_limit` risk items,
cloud/members/ingest.py). Invitations already stored get the UTC day of their time (the hubs
did not send theirs before).

Revision ID: 0010i
Revises: 0010c
Create Date: 2026-11-28
"""

import time
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010i"
down_revision: str | None = "0010c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("invitations", sa.Column("day", sa.String(length=10), nullable=True))
    invitations = sa.table(
        "invitations",
        sa.column("friend_id", sa.String()),
        sa.column("at", sa.Double()),
        sa.column("day", sa.String()),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(invitations.c.friend_id, invitations.c.at)).all()
    if rows:
        bind.execute(
            sa.update(invitations)
            .where(invitations.c.friend_id == sa.bindparam("friend"))
            .values(day=sa.bindparam("utc_day")),
            [
                {"friend": friend, "utc_day": time.strftime("%Y-%m-%d", time.gmtime(at))}
                for friend, at in rows
            ],
        )
    op.create_index("ix_invitations_inviter_day", "invitations", ["inviter_id", "day"])


def downgrade() -> None:
    op.drop_index("ix_invitations_inviter_day", table_name="invitations")
    op.drop_column("invitations", "day")

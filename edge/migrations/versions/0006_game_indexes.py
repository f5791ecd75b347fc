"""Indexes a spin of the wheel reads by (edge/games/reads.py): the party's paid bill, a
prize's stock given, the day's spending, a phone's plays today. Without them a spin read
every payment the store ever took (the party's bill), and every play of the campaign
(stock) or of the day (budget, the phone's limit), row by row: a spin cost more the longer
a store and a campaign ran (docs/benchmarks.md, "Games"). The stock and spending indexes
hold every column their counts read, so a count reads the index alone.

Revision ID: 0006g
Revises: 0006m
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006g"
down_revision: str | None = "0006m"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES: tuple[tuple[str, str, list[str]], ...] = (
    ("ix_payments_party", "payments", ["table_id", "party_opened_at", "paid_at"]),
    ("ix_game_plays_stock", "game_plays", ["campaign", "prize", "day", "status"]),
    ("ix_game_plays_spend", "game_plays", ["campaign", "day", "status", "cost_fen"]),
    ("ix_game_plays_session", "game_plays", ["session", "day"]),
)
# Its reads are covered by ix_game_plays_stock and ix_game_plays_spend.
REPLACED = ("ix_game_plays_campaign_day", "game_plays", ["campaign", "day", "prize"])


def upgrade() -> None:
    # Only if missing: a database adopted at 0001 may have been made by a later schema.
    inspector = sa.inspect(op.get_bind())
    for name, table, cols in INDEXES:
        if name not in {i["name"] for i in inspector.get_indexes(table)}:
            op.create_index(name, table, cols)
    name, table, _cols = REPLACED
    if name in {i["name"] for i in inspector.get_indexes(table)}:
        op.drop_index(name, table)


def downgrade() -> None:
    name, table, cols = REPLACED
    op.create_index(name, table, cols)
    for name, table, _cols in reversed(INDEXES):
        op.drop_index(name, table)

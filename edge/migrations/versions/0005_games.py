"""Games: plays (drawn, recorded and signed at the hub), campaign pauses, and the prize
tickets' content on print jobs (docs/games.md).

Revision ID: 0005g
Revises: 0004
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005g"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    have = set(inspector.get_table_names())
    if "game_plays" not in have:
        op.create_table(
            "game_plays",
            sa.Column("id", sa.String(length=40), primary_key=True),
            sa.Column("campaign", sa.String(length=32), nullable=False),
            sa.Column("kind", sa.String(length=12), nullable=False),
            sa.Column("once", sa.String(length=40), nullable=False),
            sa.Column("member_id", sa.String(length=32), nullable=True),
            sa.Column("session", sa.String(length=32), nullable=False),
            sa.Column("table_id", sa.String(length=32), nullable=False),
            sa.Column("party_opened_at", sa.Double(), nullable=True),
            sa.Column("payment_uid", sa.String(length=32), nullable=True),
            sa.Column("day", sa.String(length=10), nullable=False),
            sa.Column("at", sa.Double(), nullable=False),
            sa.Column("status", sa.String(length=10), nullable=False),
            sa.Column("prize", sa.String(length=32), nullable=False),
            sa.Column("prize_kind", sa.String(length=8), nullable=False),
            sa.Column("cost_fen", sa.Integer(), nullable=False),
            sa.Column("rand", sa.Integer(), nullable=False),
            sa.Column("total", sa.Integer(), nullable=False),
            sa.Column("fallback_from", sa.String(length=32), nullable=True),
            sa.Column("flag", sa.String(length=200), nullable=False),
            sa.Column("signature", sa.String(length=64), nullable=False),
            sa.Column("delivered", sa.String(length=48), nullable=False),
            sa.Column("question", sa.JSON(), nullable=True),
            sa.Column("answer", sa.String(length=32), nullable=True),
            sa.Column("card", sa.Integer(), nullable=True),
            sa.Column("place", sa.String(length=72), nullable=True),
            sa.Column("decided_by", sa.String(length=64), nullable=True),
            sa.UniqueConstraint("campaign", "once", name="uq_game_plays_once"),
            sa.UniqueConstraint(
                "campaign", "member_id", "card", "place", name="uq_game_plays_stamp"
            ),
        )
        op.create_index("ix_game_plays_campaign_day", "game_plays", ["campaign", "day", "prize"])
        op.create_index("ix_game_plays_table", "game_plays", ["table_id", "at"])
        op.create_index("ix_game_plays_member", "game_plays", ["member_id", "day"])
        op.create_index("ix_game_plays_status", "game_plays", ["status"])
    if "game_pauses" not in have:
        op.create_table(
            "game_pauses",
            sa.Column("campaign", sa.String(length=32), primary_key=True),
            sa.Column("by", sa.String(length=64), nullable=False),
            sa.Column("at", sa.Double(), nullable=False),
        )
    existing = {c["name"] for c in inspector.get_columns("print_jobs")}
    if "prize" not in existing:
        with op.batch_alter_table("print_jobs") as batch:
            batch.add_column(sa.Column("prize", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("print_jobs") as batch:
        batch.drop_column("prize")
    op.drop_table("game_pauses")
    for name in (
        "ix_game_plays_status",
        "ix_game_plays_member",
        "ix_game_plays_table",
        "ix_game_plays_campaign_day",
    ):
        op.drop_index(name, "game_plays")
    op.drop_table("game_plays")

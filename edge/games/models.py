"""Game plays and the store's campaign pauses (docs/games.md).

A play is recorded, with its random value and signature, in the transaction that draws it:
before the phone is answered. Its `once` key makes "one play per paid bill" (and "once per
member" for the scan-QR campaign, "one stamp per bill") a unique constraint: two phones
playing the same bill at the same instant cannot both win, whatever they send.
"""

from typing import Any

from sqlalchemy import JSON, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from edge.db import Base

# A play's status. Reserved ones count against stock and budget.
ASKED = "asked"  # a quiz question waits for its one answer (nothing drawn yet)
PAID = "paid"  # drawn and paid out (or "thanks for playing")
FLAGGED = "flagged"  # drawn, held: pays nothing until staff release it
RELEASED = "released"  # staff released a flagged play: paid out
REFUSED = "refused"  # staff refused a flagged play: nothing paid, its stock and budget freed
WRONG = "wrong"  # a quiz answered wrongly: nothing drawn
RESERVED = (PAID, FLAGGED, RELEASED)


class GamePlay(Base):
    __tablename__ = "game_plays"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # made on the phone
    campaign: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(12))  # contract.campaigns.CampaignKind
    # What may happen once per campaign: the paid bill's uid (wheel, quiz, a stamp) or the
    # member's id (scan-QR).
    once: Mapped[str] = mapped_column(String(40))
    member_id: Mapped[str | None] = mapped_column(String(32), default=None)
    session: Mapped[str] = mapped_column(String(32), default="")  # the phone's games cookie
    table_id: Mapped[str] = mapped_column(String(32), default="")
    party_opened_at: Mapped[float | None] = mapped_column(default=None)
    payment_uid: Mapped[str | None] = mapped_column(String(32), default=None)
    day: Mapped[str] = mapped_column(String(10))  # store-local YYYY-MM-DD
    at: Mapped[float]
    status: Mapped[str] = mapped_column(String(10))
    prize: Mapped[str] = mapped_column(String(32), default="")
    prize_kind: Mapped[str] = mapped_column(String(8), default="none")
    cost_fen: Mapped[int] = mapped_column(default=0)
    rand: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    fallback_from: Mapped[str | None] = mapped_column(String(32), default=None)
    flag: Mapped[str] = mapped_column(String(200), default="")
    signature: Mapped[str] = mapped_column(String(64), default="")
    # Where the prize went: a coupon code, a points entry id, a print job uid.
    delivered: Mapped[str] = mapped_column(String(48), default="")
    # A quiz: {"dish": id, "choices": [dish ids]}; never sent to the phone with the dish.
    question: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    answer: Mapped[str | None] = mapped_column(String(32), default=None)
    # A stamp card: the card's number for this member (the stamp itself, with its place, is an
    # entry of the member's stamp ledger: edge/members/stamps.py; `place` is from before).
    card: Mapped[int | None] = mapped_column(default=None)
    place: Mapped[str | None] = mapped_column(String(72), default=None)
    decided_by: Mapped[str | None] = mapped_column(String(64), default=None)

    __table_args__ = (
        UniqueConstraint("campaign", "once", name="uq_game_plays_once"),
        # A table stamps a member's card once (NULL card/place: not a stamp, never clashes).
        UniqueConstraint("campaign", "member_id", "card", "place", name="uq_game_plays_stamp"),
        # 0006g: a prize's stock given (all days, today), the day's spending, a phone's plays
        # today; the first two hold every column their counts read (edge/games/reads.py).
        Index("ix_game_plays_stock", "campaign", "prize", "day", "status"),
        Index("ix_game_plays_spend", "campaign", "day", "status", "cost_fen"),
        Index("ix_game_plays_session", "session", "day"),
        Index("ix_game_plays_table", "table_id", "at"),
        Index("ix_game_plays_member", "member_id", "day"),
        Index("ix_game_plays_status", "status"),
    )


class CampaignPause(Base):
    """A campaign staff paused in this store (a row: paused; none: running)."""

    __tablename__ = "game_pauses"

    campaign: Mapped[str] = mapped_column(String(32), primary_key=True)
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[float]

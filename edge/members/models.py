"""The hub's replica of the chain's members, and its own ledger entries.

The hub keeps only what it needs (docs/members.md): a member's id, the keyed hash of their
phone number (to find them again), the mask staff see, level inputs and the balance HQ reported
for everywhere else. Never the number itself.
"""

from typing import Any

from sqlalchemy import JSON, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from edge.db import Base


class Member(Base):
    __tablename__ = "members"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    phone_hash: Mapped[str | None] = mapped_column(String(64), unique=True)  # None: erased
    phone_masked: Mapped[str] = mapped_column(String(16), default="")
    birthday: Mapped[str | None] = mapped_column(String(5), default=None)  # MM-DD
    card_no: Mapped[str | None] = mapped_column(String(10), unique=True, default=None)
    consent: Mapped[str] = mapped_column(String(16), default="")
    joined_at: Mapped[float]
    joined_here: Mapped[bool] = mapped_column(default=False)
    # From HQ's last answer (contract.members.MemberLookup), None: never asked successfully.
    hq_checked_at: Mapped[float | None] = mapped_column(default=None)
    hq_balance_elsewhere: Mapped[int] = mapped_column(default=0)
    hq_spend_elsewhere_fen: Mapped[int] = mapped_column(default=0)
    erased: Mapped[bool] = mapped_column(default=False)
    # HQ's RFM segment in its last answer (contract.members.Segment): offers for a segment
    # work offline with it. None: not scored, or not asked yet.
    segment: Mapped[str | None] = mapped_column(String(8), default=None)
    birthday_year: Mapped[int | None] = mapped_column(default=None)  # the last birthday coupon


class PointsEntry(Base):
    """One change of a member's points made at this hub; the balance is a sum (never stored)."""

    __tablename__ = "member_points"

    id: Mapped[str] = mapped_column(String(48), primary_key=True)  # made here; HQ dedups by it
    member_id: Mapped[str] = mapped_column(String(32))
    points: Mapped[int]
    cause: Mapped[str] = mapped_column(String(12))  # contract.members.EntryCause
    ref: Mapped[str] = mapped_column(String(64), default="")  # the payment's uid
    reason: Mapped[str] = mapped_column(String(200), default="")
    offline: Mapped[bool] = mapped_column(default=False)
    at: Mapped[float]
    by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_member_points_member", "member_id", "at"),)


class Coupon(Base):
    """A coupon a member holds: issued here (welcome, birthday) or by HQ (from a lookup)."""

    __tablename__ = "member_coupons"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(32), index=True)
    terms: Mapped[dict[str, Any]] = mapped_column(JSON)  # contract.members.IssuedCoupon
    source: Mapped[str] = mapped_column(String(32))
    valid_from: Mapped[float]
    valid_until: Mapped[float]
    issued_at: Mapped[float]
    # Single use: settled by `UPDATE … WHERE redeemed_payment IS NULL` (bill.record_paid);
    # "elsewhere": HQ said it was used at another store.
    redeemed_payment: Mapped[str | None] = mapped_column(String(32), default=None)
    redeemed_at: Mapped[float | None] = mapped_column(default=None)
    off_fen: Mapped[int | None] = mapped_column(default=None)


class PartyMember(Base):
    """The member a table's party earns for: the first to sign in on the table's page, or the
    member staff attach at the bill."""

    __tablename__ = "party_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    table_id: Mapped[str] = mapped_column(String(32))
    party_opened_at: Mapped[float]
    member_id: Mapped[str] = mapped_column(String(32))
    at: Mapped[float]

    __table_args__ = (UniqueConstraint("table_id", "party_opened_at", name="uq_party_member"),)


class MemberStamp(Base):
    """A stamp on a member's stamp card (docs/games.md): one this hub gave (`mine`: sent to HQ,
    its id made here) or one HQ reported from another store (replaced at each lookup). The
    card is counted from all of them (contract.campaigns.stamp_cards), never stored."""

    __tablename__ = "member_stamps"

    # Made from its cause (edge/members/stamps.py stamp_id: store, bill, campaign); stamps
    # given before that carry the play's id, and HQ's ids from elsewhere are kept as sent.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(32))
    campaign: Mapped[str] = mapped_column(String(32))
    place: Mapped[str] = mapped_column(String(72))  # "<store>:<table>"
    at: Mapped[float]
    mine: Mapped[bool] = mapped_column(default=True)
    card: Mapped[int | None] = mapped_column(default=None)  # the card it went on here (mine)
    completes: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (Index("ix_member_stamps_member", "member_id", "campaign"),)


class Invitation(Base):
    """A friend who joined with a member's share code (docs/members.md, "Invite a friend").
    One per phone: the same number cannot be invited twice; rewarded once, on the friend's
    first paid bill (`rewarded_payment`, set by a conditional update)."""

    __tablename__ = "member_invitations"

    friend_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    friend_phone_hash: Mapped[str] = mapped_column(String(64), unique=True)
    inviter_id: Mapped[str] = mapped_column(String(32))
    campaign: Mapped[str] = mapped_column(String(32))
    day: Mapped[str] = mapped_column(String(10))  # store-local YYYY-MM-DD: the daily limit
    at: Mapped[float]
    rewarded_payment: Mapped[str | None] = mapped_column(String(32), default=None)
    rewarded_at: Mapped[float | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_member_invitations_inviter", "inviter_id", "day"),)

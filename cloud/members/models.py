"""What HQ keeps of members: the authority the hubs' replicas answer to (docs/members-hq.md).

Money-like things are ledgers: a balance is never stored, it is the sum of a member's entries;
a member's spend is one row per paid bill. Every row names the member by the id its hub made
(`member_id`, as sent): `member_ids` maps each of those to the member it belongs to, and
queries resolve through it, so entries that arrive before their member's `member.joined` (or
from a hub that made its own id for a known phone) count as soon as the mapping exists.
"""

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Double, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db import Base
from cloud.models import JsonObject

BigId = BigInteger().with_variant(Integer(), "sqlite")


class Member(Base):
    """A person, once across the chain. `id` is the first id HQ received for their phone."""

    __tablename__ = "members"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # HMAC-SHA256 of the phone under the chain's member key; NULL once erased (so the phone
    # can join again as a new member, and nobody can find the old one by it).
    phone_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    phone_masked: Mapped[str | None] = mapped_column(String(16))
    birthday: Mapped[str | None] = mapped_column(String(5))  # MM-DD
    card_no: Mapped[str | None] = mapped_column(String(10))
    consent: Mapped[str] = mapped_column(String(16))  # the privacy statement's version
    joined_at: Mapped[float] = mapped_column(Double)  # hub clock
    joined_store: Mapped[str] = mapped_column(String(32), ForeignKey("stores.id"))
    erased_at: Mapped[float | None] = mapped_column(Double)


class MemberId(Base):
    """Every id a hub made for a member (a hub offline makes one for a phone it does not
    know), and the member it belongs to. A member's own id maps to itself."""

    __tablename__ = "member_ids"
    __table_args__ = (
        Index("ix_member_ids_member", "member"),
        Index("ix_member_ids_card", "card_no"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    member: Mapped[str] = mapped_column(String(32), ForeignKey("members.id"))
    store_id: Mapped[str] = mapped_column(String(32), ForeignKey("stores.id"))
    card_no: Mapped[str | None] = mapped_column(String(10))  # the card that hub printed
    joined_at: Mapped[float] = mapped_column(Double)


class PointsEntry(Base):
    """One entry of a points ledger, from a hub (`store_id`) or from HQ (NULL)."""

    __tablename__ = "points_entries"
    __table_args__ = (
        # A member's balance, and its split by store, read from the index alone.
        Index("ix_points_entries_member_store_points", "member_id", "store_id", "points"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # Made where it happened: a retried batch, or an entry forwarded twice, counts once.
    entry: Mapped[str] = mapped_column(String(48), unique=True)
    member_id: Mapped[str] = mapped_column(String(32))  # as sent; resolved via member_ids
    store_id: Mapped[str | None] = mapped_column(String(32), ForeignKey("stores.id"))
    points: Mapped[int] = mapped_column(BigInteger)
    cause: Mapped[str] = mapped_column(String(16))  # contract.members.EntryCause
    ref: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(200))
    offline: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[float] = mapped_column(Double)  # the hub's clock (HQ's for its own)
    by: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[float] = mapped_column(Double)


class Coupon(Base):
    """A single-use coupon: its terms copied when issued, and the redemption HQ keeps."""

    __tablename__ = "coupons"
    __table_args__ = (
        Index("ix_coupons_member", "member_id"),
        Index("ix_coupons_issued_store", "issued_store"),
    )

    code: Mapped[str] = mapped_column(String(11), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(32))  # as sent; resolved via member_ids
    template: Mapped[str] = mapped_column(String(64))
    name_zh: Mapped[str] = mapped_column(String(30))
    name_en: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(16))  # contract.members.CouponKind
    value_fen: Mapped[int] = mapped_column(BigInteger)
    percent: Mapped[int] = mapped_column(Integer)
    cap_fen: Mapped[int | None] = mapped_column(BigInteger)
    dish: Mapped[str | None] = mapped_column(String(64))
    min_spend_fen: Mapped[int] = mapped_column(BigInteger)
    stores: Mapped[list[str] | None] = mapped_column(JSON)  # NULL: every store
    source: Mapped[str] = mapped_column(String(32))  # welcome | birthday | hq | campaign ...
    issued_store: Mapped[str | None] = mapped_column(String(32), ForeignKey("stores.id"))
    issued_at: Mapped[float] = mapped_column(Double)
    valid_from: Mapped[float] = mapped_column(Double)
    valid_until: Mapped[float] = mapped_column(Double)
    # The redemption HQ keeps (the earliest by the hubs' clocks); NULL: usable.
    redeemed_at: Mapped[float | None] = mapped_column(Double)
    redeemed_store: Mapped[str | None] = mapped_column(String(32))
    redeemed_payment: Mapped[str | None] = mapped_column(String(64))
    redeemed_off_fen: Mapped[int | None] = mapped_column(BigInteger)
    released_at: Mapped[float | None] = mapped_column(Double)  # last given back by a refund
    # A reward coupon taken back with its cause (`coupon.withdrawn`: the invited friend's first
    # bill refunded): when, at which store, by the refund of which bill. Any use of it, known
    # now or reported later, is a `withdrawn_used` risk item.
    withdrawn_at: Mapped[float | None] = mapped_column(Double)
    withdrawn_store: Mapped[str | None] = mapped_column(String(32))
    withdrawn_payment: Mapped[str | None] = mapped_column(String(64))


class CouponRedemption(Base):
    """Every redemption a hub reported, kept or not: `outcome` is kept (the one on the
    coupon), flagged (a second use: a risk), honoured (a second use, policy honour), or
    pending (HQ has not got the coupon yet)."""

    __tablename__ = "coupon_redemptions"
    __table_args__ = (Index("ix_coupon_redemptions_code", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_key: Mapped[str] = mapped_column(String(120), unique=True)  # store/event id
    code: Mapped[str] = mapped_column(String(11))
    member_id: Mapped[str] = mapped_column(String(32))
    store_id: Mapped[str] = mapped_column(String(32), ForeignKey("stores.id"))
    payment: Mapped[str] = mapped_column(String(64))
    off_fen: Mapped[int] = mapped_column(BigInteger)
    offline: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[float] = mapped_column(Double)  # hub clock
    outcome: Mapped[str] = mapped_column(String(16))
    released_at: Mapped[float | None] = mapped_column(Double)
    received_at: Mapped[float] = mapped_column(Double)


class MemberSpend(Base):
    """A paid bill of a member (what makes their level): reversed by its refund."""

    __tablename__ = "member_spend"
    __table_args__ = (
        Index("ix_member_spend_member_paid", "member_id", "paid_at"),
        Index("ix_member_spend_store_payment", "store_id", "payment", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    member_id: Mapped[str] = mapped_column(String(32))
    store_id: Mapped[str] = mapped_column(String(32), ForeignKey("stores.id"))
    payment: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    paid_at: Mapped[float] = mapped_column(Double)  # hub clock
    refunded_at: Mapped[float | None] = mapped_column(Double)


class MemberTotals(Base):
    """One id's paid bills summed (cloud/members/spend.py keeps it with `member_spend`, in the
    same transaction): what RFM scores, a row per id instead of a row per bill. Keyed by the
    id as sent, like the bills, so a bill counts whether or not its id is mapped yet."""

    __tablename__ = "member_totals"

    member_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    bills: Mapped[int] = mapped_column(Integer)  # paid and not refunded; 0: none left
    spend_fen: Mapped[int] = mapped_column(BigInteger)
    last_paid_at: Mapped[float | None] = mapped_column(Double)  # hub clock; NULL when bills 0


class MemberStoreBills(Base):
    """One id's paid bills at one store (not refunded): where a member counts in RFM's
    counts per store. A row with bills 0 is a store the id no longer has a paid bill at."""

    __tablename__ = "member_store_bills"

    member_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    bills: Mapped[int] = mapped_column(Integer)


class RiskItem(Base):
    """Something HQ should look at: a balance below zero (`overdraft`), a coupon used twice
    (`double_redeem`). `level` info: recorded, not a risk (policy honour)."""

    __tablename__ = "risk_items"
    __table_args__ = (Index("ix_risk_items_created", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # What it is about, once: "overdraft:<entry>", "double_redeem:<store>/<event id>".
    key: Mapped[str] = mapped_column(String(160), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(8))  # risk | info
    member: Mapped[str] = mapped_column(String(32))  # the member (HQ's id) when flagged
    store_id: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JsonObject)
    created_at: Mapped[float] = mapped_column(Double)


class StampEntry(Base):
    """A stamp on a member's stamp card, from a hub (`member.stamp`): the stamp ledger. A
    member's cards are counted from their stamps (contract.campaigns.stamp_cards), never
    stored; `completes` is the hub's word that this stamp filled its card `card`."""

    __tablename__ = "stamp_entries"
    __table_args__ = (Index("ix_stamp_entries_member", "member_id", "campaign"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    stamp: Mapped[str] = mapped_column(String(64), unique=True)  # made at the hub
    member_id: Mapped[str] = mapped_column(String(32))  # as sent; resolved via member_ids
    store_id: Mapped[str] = mapped_column(String(32), ForeignKey("stores.id"))
    campaign: Mapped[str] = mapped_column(String(32))
    place: Mapped[str] = mapped_column(String(72))
    card: Mapped[int] = mapped_column(Integer)
    completes: Mapped[bool] = mapped_column(Boolean)
    coupon: Mapped[str | None] = mapped_column(String(11))
    at: Mapped[float] = mapped_column(Double)  # the hub's clock
    received_at: Mapped[float] = mapped_column(Double)


class Invitation(Base):
    """A friend who joined with a member's share code (`member.invited`), and the store whose
    payment rewarded it: once, the first a hub reported."""

    __tablename__ = "invitations"
    __table_args__ = (Index("ix_invitations_inviter_day", "inviter_id", "day"),)

    friend_id: Mapped[str] = mapped_column(String(32), primary_key=True)  # as sent
    inviter_id: Mapped[str] = mapped_column(String(32))  # as the inviting store knew them
    store_id: Mapped[str] = mapped_column(String(32), ForeignKey("stores.id"))
    campaign: Mapped[str] = mapped_column(String(32))
    at: Mapped[float] = mapped_column(Double)  # the hub's clock
    # The store-local day the friend joined, as the hub counted it (YYYY-MM-DD; the UTC day of
    # `at` from hubs that did not send it): the chain's per-inviter daily count is by it.
    # Always written (NULL-able only so migration 0010i adds it without copying the table).
    day: Mapped[str | None] = mapped_column(String(10))
    rewarded_payment: Mapped[str | None] = mapped_column(String(64))
    rewarded_store: Mapped[str | None] = mapped_column(String(32))
    rewarded_at: Mapped[float | None] = mapped_column(Double)

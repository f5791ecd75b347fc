"""What HQ's analytics keep (migration 0008a): the last RFM scoring, and coupon experiments."""

from typing import Any

from sqlalchemy import JSON, BigInteger, Double, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db import Base


class MemberRfm(Base):
    """A member's last RFM scoring (cloud/analytics/rfm.py): replaced whole by each scoring,
    so every row is of the same moment (`scored_at`)."""

    __tablename__ = "member_rfm"
    __table_args__ = (Index("ix_member_rfm_segment", "segment"),)

    member: Mapped[str] = mapped_column(String(32), primary_key=True)  # HQ's id
    last_paid_at: Mapped[float] = mapped_column(Double)  # hub clock
    bills: Mapped[int] = mapped_column(Integer)
    spend_fen: Mapped[int] = mapped_column(BigInteger)
    r: Mapped[int] = mapped_column(SmallInteger)  # 1 … 5, 5: most recent
    f: Mapped[int] = mapped_column(SmallInteger)  # 5: most bills
    m: Mapped[int] = mapped_column(SmallInteger)  # 5: most paid
    segment: Mapped[str] = mapped_column(String(8))  # contract.members.Segment
    scored_at: Mapped[float] = mapped_column(Double)  # HQ's clock


class SegmentCount(Base):
    """How many members of each segment have paid a bill at each store (the last scoring's):
    one member who visits three stores counts at each."""

    __tablename__ = "rfm_segment_counts"

    store_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    segment: Mapped[str] = mapped_column(String(8), primary_key=True)
    members: Mapped[int] = mapped_column(Integer)
    scored_at: Mapped[float] = mapped_column(Double)


class Experiment(Base):
    """A coupon A/B test: its variants (name, coupon template, share of members) in order;
    a member's variant is contract.abtest.assign(id, member, shares)."""

    __tablename__ = "experiments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    segment: Mapped[str | None] = mapped_column(String(8))  # None: every scored member
    variants: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[float] = mapped_column(Double)
    created_by: Mapped[str] = mapped_column(String(64))


class Exposure(Base):
    """A member given their variant's coupon: once per experiment (the primary key)."""

    __tablename__ = "experiment_exposures"
    __table_args__ = (Index("ix_experiment_exposures_coupon", "coupon"),)

    experiment: Mapped[str] = mapped_column(String(32), primary_key=True)
    member: Mapped[str] = mapped_column(String(32), primary_key=True)  # HQ's id
    variant: Mapped[int] = mapped_column(SmallInteger)
    coupon: Mapped[str] = mapped_column(String(11))
    exposed_at: Mapped[float] = mapped_column(Double)

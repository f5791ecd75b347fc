"""The waitlist's tables: each party in the line (one row per number issued) and each
reservation. The line lives here, not in memory: a hub restarted mid-evening has it all."""

import uuid

from sqlalchemy import Index, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from edge.db import Base


class WaitParty(Base):
    """A number issued to a party. Its `key` (made where the tap happened: the kiosk's event
    id, the phone's request id) is unique, so a retried tap finds the same number."""

    __tablename__ = "waitlist_parties"
    __table_args__ = (
        UniqueConstraint("day", "grp", "seq", name="uq_waitlist_number"),
        Index("ix_waitlist_day_status", "day", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: uuid.uuid4().hex)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    day: Mapped[str] = mapped_column(String(10))  # store-local; numbers restart every day
    grp: Mapped[str] = mapped_column(String(1))
    seq: Mapped[int]
    size: Mapped[int]
    source: Mapped[str] = mapped_column(String(8))  # kiosk | phone | staff | booking
    member_id: Mapped[str | None] = mapped_column(String(32), default=None)
    priority: Mapped[bool] = mapped_column(default=False)
    passed_over: Mapped[int] = mapped_column(default=0)  # times a priority party went first
    # waiting | called | seated | left | no_show
    status: Mapped[str] = mapped_column(String(8), default="waiting")
    created_at: Mapped[float]
    called_at: Mapped[float | None] = mapped_column(default=None)
    calls: Mapped[int] = mapped_column(default=0)
    ended_at: Mapped[float | None] = mapped_column(default=None)  # seated, left or skipped
    table_id: Mapped[str | None] = mapped_column(String(32), default=None)
    # The estimate given when the number was taken (seconds), kept to measure it at seating.
    est_low_s: Mapped[float | None] = mapped_column(default=None)
    est_s: Mapped[float | None] = mapped_column(default=None)
    est_high_s: Mapped[float | None] = mapped_column(default=None)
    booking_id: Mapped[int | None] = mapped_column(default=None)

    @property
    def number(self) -> str:
        return f"{self.grp}{self.seq:03d}"


class Booking(Base):
    """A reservation for a 15-minute slot. Capacity is checked by the insert itself (see
    service.book): never a read followed by a write."""

    __tablename__ = "bookings"
    __table_args__ = (Index("ix_bookings_slot", "day", "slot", "grp"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    day: Mapped[str] = mapped_column(String(10))
    slot: Mapped[str] = mapped_column(String(5))  # HH:MM, store-local
    slot_at: Mapped[float]  # the slot's start, epoch seconds
    grp: Mapped[str] = mapped_column(String(1))
    size: Mapped[int]
    name: Mapped[str] = mapped_column(String(40), default="")
    phone_mask: Mapped[str] = mapped_column(String(16), default="")  # 138****8000, never more
    member_id: Mapped[str | None] = mapped_column(String(32), default=None)
    # Made by a member of a priority level: may take the places held for them in a slot.
    priority: Mapped[bool] = mapped_column(default=False, server_default=false())
    # booked | arrived | no_show | cancelled
    status: Mapped[str] = mapped_column(String(9), default="booked")
    created_at: Mapped[float]

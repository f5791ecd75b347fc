import uuid

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from edge.db import Base

# Times are epoch seconds (UTC) as REAL: SQLite has no timezone-aware datetime, and the board
# and InfluxDB both want epoch values.


class Call(Base):
    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Made here when the call opens; what the cloud knows the call by, unique across hubs and
    # across a hub whose database was replaced (local ids would start again at 1).
    uid: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: uuid.uuid4().hex)
    device_id: Mapped[str] = mapped_column(String(32))
    zone: Mapped[str] = mapped_column(String(32), default="")
    table_name: Mapped[str] = mapped_column(String(32), default="")
    reason: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[float]
    last_press_at: Mapped[float]
    presses: Mapped[int] = mapped_column(default=1)
    urgent_at: Mapped[float | None] = mapped_column(default=None)
    acked_at: Mapped[float | None] = mapped_column(default=None)
    acked_by: Mapped[str | None] = mapped_column(String(64), default=None)
    response_s: Mapped[float | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_calls_open", "acked_at", "device_id"),)


class CallEvent(Base):
    """One accepted press. (device_id, event_id) is what makes a resent press count once."""

    __tablename__ = "call_events"

    pk: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(64))
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"))
    received_at: Mapped[float]
    reason: Mapped[str] = mapped_column(String(16), default="service")
    device_ts_ms: Mapped[int | None] = mapped_column(default=None)

    __table_args__ = (UniqueConstraint("device_id", "event_id", name="uq_call_event"),)

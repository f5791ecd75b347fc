import uuid

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from edge.db import Base


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    zone: Mapped[str] = mapped_column(String(32), default="")
    table_name: Mapped[str] = mapped_column(String(32), default="")
    station: Mapped[str] = mapped_column(String(32), default="")
    # "unknown" until first heard; "online"; "offline" (why in state_reason).
    state: Mapped[str] = mapped_column(String(8), default="unknown")
    state_reason: Mapped[str] = mapped_column(String(16), default="")
    state_at: Mapped[float | None] = mapped_column(default=None)
    last_seen: Mapped[float | None] = mapped_column(default=None)
    battery_pct: Mapped[float | None] = mapped_column(default=None)
    rssi_dbm: Mapped[int | None] = mapped_column(default=None)
    fw: Mapped[str | None] = mapped_column(String(32), default=None)
    uptime_s: Mapped[int | None] = mapped_column(default=None)
    paper: Mapped[str | None] = mapped_column(String(8), default=None)
    cover: Mapped[str | None] = mapped_column(String(8), default=None)
    printer_online: Mapped[bool | None] = mapped_column(default=None)
    # Set by the print spooler when the printer's TCP port refuses or fails a ticket.
    print_error: Mapped[str | None] = mapped_column(String(200), default=None)
    # The printer's own answers to the hub's DLE EOT questions on its port (edge/printing),
    # beside what its bridge reports above; None until it answered. status_online is False
    # when it said it is offline, or when its port refused the hub (powered off).
    status_paper: Mapped[str | None] = mapped_column(String(8), default=None)
    status_cover: Mapped[str | None] = mapped_column(String(8), default=None)
    status_online: Mapped[bool | None] = mapped_column(default=None)


class Alarm(Base):
    """A problem staff should see (a device offline, paper out); open until cleared_at."""

    __tablename__ = "alarms"

    id: Mapped[int] = mapped_column(primary_key=True)
    # What HQ knows the alarm by (local ids would restart with a new database).
    uid: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: uuid.uuid4().hex)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    raised_at: Mapped[float]
    cleared_at: Mapped[float | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_alarms_active", "cleared_at", "device_id"),)

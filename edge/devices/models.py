from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from edge.db import Base


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    zone: Mapped[str] = mapped_column(String(32), default="")
    table_name: Mapped[str] = mapped_column(String(32), default="")
    state: Mapped[str] = mapped_column(String(8), default="unknown")
    state_at: Mapped[float | None] = mapped_column(default=None)
    last_seen: Mapped[float | None] = mapped_column(default=None)
    battery_pct: Mapped[float | None] = mapped_column(default=None)
    rssi_dbm: Mapped[int | None] = mapped_column(default=None)
    fw: Mapped[str | None] = mapped_column(String(32), default=None)
    uptime_s: Mapped[int | None] = mapped_column(default=None)

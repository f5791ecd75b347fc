from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from edge.db import Base


class DeviceCommand(Base):
    __tablename__ = "device_commands"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sent to the device
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(16))
    args: Mapped[dict[str, str | int]] = mapped_column(JSON, default=dict)
    staff: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float]
    # pending -> ok | error (the device replied) | timeout (it did not, in time)
    status: Mapped[str] = mapped_column(String(8), default="pending")
    replied_at: Mapped[float | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(String(200), default=None)

    __table_args__ = (Index("ix_commands_device", "device_id", "created_at"),)

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from edge.db import Base


class DiningTable(Base):
    __tablename__ = "dining_tables"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    zone: Mapped[str] = mapped_column(String(32), default="")
    # Closed: no orders from its QR code (the party left, or the table is out of service).
    is_open: Mapped[bool] = mapped_column(default=True)
    # Part of the signed token: rotating it kills this table's old QR code only.
    qr_version: Mapped[int] = mapped_column(default=1)
    # Start of the current party's session: the diner page lists orders since then.
    opened_at: Mapped[float] = mapped_column(default=0.0)

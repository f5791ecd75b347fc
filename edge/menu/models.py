from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from edge.db import Base


class SoldOut(Base):
    """A dish staff marked sold out. Kept in the database, not the menu file: it survives a
    restart and a new menu version, and staff set it, not HQ."""

    __tablename__ = "sold_out"

    dish_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    since: Mapped[float]
    by: Mapped[str] = mapped_column(String(64), default="")


class AppliedConfig(Base):
    """A configuration from HQ the hub applied. The newest is what the store runs, also after a
    restart with the cloud away (its last good configuration)."""

    __tablename__ = "applied_configs"

    version: Mapped[int] = mapped_column(primary_key=True)
    document: Mapped[dict[str, object]] = mapped_column(JSON)
    applied_at: Mapped[float]

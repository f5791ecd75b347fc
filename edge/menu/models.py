from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from edge.db import Base


class SoldOut(Base):
    """A dish staff marked sold out. Kept in the database, not the menu file: it survives a
    restart and a new menu version, and staff set it, not HQ."""

    __tablename__ = "sold_out"

    dish_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    since: Mapped[float]
    by: Mapped[str] = mapped_column(String(64), default="")

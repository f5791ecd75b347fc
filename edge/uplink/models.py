from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from edge.db import Base


class OutboxEvent(Base):
    """A business fact waiting for the cloud. Written in the same transaction as the fact."""

    __tablename__ = "outbox"
    # AUTOINCREMENT: the sender deletes what the cloud confirmed by id; ids never come back.
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 - SQLAlchemy's own attribute

    pk: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    # The event's schema version (contract/uplink.py); NULL in rows written before
    # versions existed, which are sent without one and read as 1.
    v: Mapped[int | None] = mapped_column(default=None)
    occurred_at: Mapped[float]
    data: Mapped[dict[str, object]] = mapped_column(JSON)

"""The on-disk buffer of points waiting for InfluxDB.

It lives in the hub's SQLite file, so a point commits in the same transaction as the business
write it describes. It is bounded: past `max_points` the oldest points are dropped and counted;
telemetry is the one thing a hub may drop (the calls themselves live in their own tables).
"""

from collections.abc import Sequence

from sqlalchemy import Text, delete, func, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from edge.db import Base


class PendingPoint(Base):
    __tablename__ = "influx_points"
    # AUTOINCREMENT: ids never go back, even after the table empties, so "delete through id N"
    # can never hit a point added after N was read.
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 - SQLAlchemy's own attribute

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    line: Mapped[str] = mapped_column(Text)


def buffer_points(session: Session, lines: Sequence[str]) -> None:
    if lines:
        session.execute(insert(PendingPoint), [{"line": line} for line in lines])


def trim(session: Session, max_points: int) -> int:
    """Drop the oldest points beyond `max_points`; return how many were dropped."""
    lo, hi = session.execute(select(func.min(PendingPoint.id), func.max(PendingPoint.id))).one()
    # The sender deletes the oldest first, so ids are contiguous enough that hi - lo bounds
    # the count without a full scan.
    if lo is None or hi - lo + 1 <= max_points:
        return 0
    result = session.execute(delete(PendingPoint).where(PendingPoint.id <= hi - max_points))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def oldest(session: Session, limit: int) -> list[tuple[int, str]]:
    rows = session.execute(
        select(PendingPoint.id, PendingPoint.line).order_by(PendingPoint.id).limit(limit)
    )
    return [(r[0], r[1]) for r in rows]


def remove_through(session: Session, last_id: int) -> None:
    session.execute(delete(PendingPoint).where(PendingPoint.id <= last_id))


def backlog(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(PendingPoint)) or 0)

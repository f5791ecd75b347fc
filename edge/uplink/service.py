"""The outbox. Transactions are never dropped: it grows while the cloud is away (a store makes
a few thousand facts a day; a week offline is megabytes) and shrinks as the cloud confirms."""

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from edge.uplink.models import OutboxEvent
from smartstore.wire.uplink import CALL_ANSWERED, CALL_OPENED, DEVICE_ALARM

__all__ = [
    "CALL_ANSWERED",
    "CALL_OPENED",
    "DEVICE_ALARM",
    "backlog",
    "confirm",
    "enqueue",
    "oldest",
]


def enqueue(session: Session, events: list[tuple[str, str, float, dict[str, object]]]) -> None:
    """(event id, type, occurred_at, data) rows, in the caller's transaction."""
    if events:
        session.execute(
            insert(OutboxEvent),
            [{"event_id": e, "type": t, "occurred_at": at, "data": d} for e, t, at, d in events],
        )


def oldest(session: Session, limit: int) -> list[OutboxEvent]:
    return list(session.scalars(select(OutboxEvent).order_by(OutboxEvent.pk).limit(limit)))


def confirm(session: Session, event_ids: list[str]) -> int:
    """Drop what the cloud has (stored now or before)."""
    if not event_ids:
        return 0
    result = session.execute(delete(OutboxEvent).where(OutboxEvent.event_id.in_(event_ids)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def backlog(session: Session) -> tuple[int, float | None]:
    """How many events wait, and since when (the oldest's occurred_at)."""
    count, oldest_at = session.execute(
        select(func.count(), func.min(OutboxEvent.occurred_at))
    ).one()
    return int(count), oldest_at

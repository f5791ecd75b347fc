"""The outbox. Transactions are never dropped: it grows while the cloud is away (a store makes
a few thousand facts a day; a week offline is megabytes) and shrinks as the cloud confirms.

What goes in is an event of the hub -> cloud contract (contract/uplink.py), built with
its model: the cloud checks it with the same model."""

from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from contract.uplink import (
    CALL_ANSWERED,
    CALL_OPENED,
    DEVICE_ALARM,
    EVENT_MODELS,
    AnyUplinkEvent,
)
from edge.db import sqlite_of
from edge.uplink.models import OutboxEvent

__all__ = [
    "CALL_ANSWERED",
    "CALL_OPENED",
    "DEVICE_ALARM",
    "as_sent",
    "backlog",
    "confirm",
    "enqueue",
    "oldest",
]


_INSERT = "INSERT INTO outbox (event_id, type, v, occurred_at, data) VALUES (?, ?, ?, ?, ?)"


def enqueue(session: Session, events: Sequence[AnyUplinkEvent]) -> None:
    """Events for HQ, in the caller's transaction, stored as they will be sent.

    Written with the transaction's own SQLite connection and the event's JSON as pydantic
    makes it: every fact of the hub passes here (a spin of the wheel writes two or three),
    and SQLAlchemy's insert cost more than the rest of it (bench/bench_games.py)."""
    rows = []
    for e in events:
        if not isinstance(e, EVENT_MODELS):  # a dict, or the bare base model
            raise TypeError(f"not an event of the uplink contract: {e!r}")
        rows.append((e.id, e.type, e.v, e.occurred_at, e.data.model_dump_json()))
    if rows:
        sqlite_of(session).executemany(_INSERT, rows)


def as_sent(row: OutboxEvent) -> dict[str, object]:
    """A row as the cloud's ingest takes it. A row written before versions existed goes
    without `v`, as it always did: the cloud reads it as version 1."""
    event: dict[str, object] = {"id": row.event_id, "type": row.type}
    if row.v is not None:
        event["v"] = row.v
    return event | {"occurred_at": row.occurred_at, "data": row.data}


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

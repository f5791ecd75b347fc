"""What fast tests share: the store, a clock, the hub's database, and reading back what a
transaction left behind (the outbox towards HQ, the InfluxDB buffer, row counts)."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from edge.core.domain import Domain, HubContext
from edge.telemetry.buffer import PendingPoint
from edge.uplink.models import OutboxEvent

STORE = "S001"
# A fixed wall clock: services take `now`, so a test says what time it is.
NOW = 1_760_000_000.0
STAFF = "alice"


@dataclass(frozen=True)
class StoreDb:
    """The hub's SQLite file, opened as the hub opens it (edge.db.make_engine, init_db)."""

    path: Path
    sessions: sessionmaker[Session]  # writes: BEGIN IMMEDIATE, as the hub's
    reads: sessionmaker[Session]


@dataclass(frozen=True)
class Fact:
    """One outbox row: what HQ will be told."""

    id: str
    type: str
    data: dict[str, Any]


def outbox(session: Session) -> list[Fact]:
    rows = session.scalars(select(OutboxEvent).order_by(OutboxEvent.pk))
    return [Fact(r.event_id, r.type, dict(r.data)) for r in rows]


def outbox_types(session: Session) -> list[str]:
    return [f.type for f in outbox(session)]


def points(session: Session) -> list[str]:
    """InfluxDB line protocol waiting in the buffer, oldest first."""
    return list(session.scalars(select(PendingPoint.line).order_by(PendingPoint.id)))


def count(session: Session, model: type[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def build(hub: HubContext, *kinds: type[Domain]) -> None:
    """Build these domains into `hub` as edge.runtime does (in this order, each seeing the
    ones before it through hub.get), without starting them: no thread runs, no printer or
    cloud is dialled. A test then reaches each one with hub.get(Kind)."""
    for kind in kinds:
        hub.domains.append(kind(hub))

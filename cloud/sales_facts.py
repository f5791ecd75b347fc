"""Sales and kitchen facts, written with the events they come from.

Reports used to read every order's JSON for their window: a second for a day of 40 stores,
minutes for a month of a chain (docs/benchmarks.md, "HQ reports"). Ingest now also writes what
reports count, one narrow row per order, line, void and kitchen timing, in the same
transaction as the events, so a report is a GROUP BY on indexed columns.

The counting rules (docs/hq-reports.md) live here: a void counts at its order's time (at its
own while HQ lacks the order, moved when the order arrives); nothing of an unreadable order
counts, its voids included; events past MAX_EPOCH_S (a broken clock) are left out.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from math import floor
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from cloud import sales_rollups
from cloud.models import DishHour, IngestedEvent, KitchenFact, SaleFact, SaleHour, table_of
from cloud.sales_rollups import LINE, ORDER, PAY, VOID, Changes
from contract.uplink import (
    ORDER_DONE,
    ORDER_LINE_VOIDED,
    ORDER_PLACED,
    PAYMENT_RECORDED,
    TICKET_PRINTED,
    OrderDone,
    OrderLineVoided,
    PaymentRecorded,
    PlacedLine,
    TicketPrinted,
    UplinkData,
)

# Hub clocks this far off are broken, and InfluxDB's nanosecond timestamps end in 2262:
# such events are left out rather than failing a report or an export batch.
MAX_EPOCH_S = 9_000_000_000.0
# Orders looked up per query when a void's order is outside the window.
LOOKUP_CHUNK = 500


def _chunks(keys: Iterable[str]) -> Iterator[list[str]]:
    """`keys` sorted, LOOKUP_CHUNK at a time: IN lists of a bounded size."""
    ordered = sorted(keys)
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        yield ordered[start : start + LOOKUP_CHUNK]


# order | line | void | payment (a paid bill: a visit) come from sales_rollups, which sums
# them; bad is an unreadable order, counted nowhere.
BAD = "bad"
TICKET, READY = "ticket", "ready"
FACT_TYPES = (ORDER_PLACED, ORDER_LINE_VOIDED, TICKET_PRINTED, ORDER_DONE, PAYMENT_RECORDED)


# The data is read with the contract's models (contract/uplink.py), strictly: "2" is
# not a quantity and true is not 1; its bounds on a line keep every sum inside InfluxDB's
# int64 fields.


class PlacedOrder(UplinkData):
    """What the reports count of an `order.placed` (its OrderPlaced's order, source and lines,
    the same line model): events stored by an older cloud may lack the rest."""

    order: str = Field(min_length=1)
    source: str
    lines: list[PlacedLine]


VoidedLine = OrderLineVoided


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any) -> M | None:
    """The event's data as `model`, or None when it does not match the contract."""
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


@dataclass(frozen=True)
class Fact:
    """A newly stored event, as ingest hands it over."""

    event_id: str
    type: str
    occurred_at: float
    data: dict[str, Any]
    # The data as the contract's model, when ingest has read it so (None: not read, or it
    # does not match the contract).
    typed: UplinkData | None = None


def _row(store_id: str, uid: str, kind: str, at: float, **values: Any) -> dict[str, Any]:
    row = {"dish": None, "name_zh": None, "name_en": None, "qty": 0, "revenue_fen": 0}
    return {
        **row,
        "store_id": store_id,
        "order_uid": uid,
        "kind": kind,
        "at": at,
        "at_s": floor(at),
        **values,
    }


def record(
    session: Session, store_id: str, events: Iterable[Fact], *, rollups: bool = True
) -> None:
    """The facts of events stored just now (never of a duplicate: ingest is idempotent, so
    each event is recorded once), and their part of the hourly rollups (`rollups`: False only
    for migrations older than the rollups). A few statements per batch, whatever its size:
    ingest's throughput is the hub's drain time after an outage."""
    events = [e for e in events if e.type in FACT_TYPES and 0 <= e.occurred_at < MAX_EPOCH_S]
    rows: list[dict[str, Any]] = []
    timings: list[dict[str, Any]] = []
    orders: dict[str, float | None] = {}  # uid -> its time; None: unreadable
    for e in events:
        if e.type == ORDER_PLACED:
            uid = e.event_id.removeprefix("op-")  # the key a void names its order by
            order = parse(PlacedOrder, e.data)
            orders[uid] = None if order is None else e.occurred_at
            if order is None:
                rows.append(_row(store_id, uid, BAD, e.occurred_at))
                continue
            rows.append(_row(store_id, uid, ORDER, e.occurred_at))
            rows += [
                _row(
                    store_id,
                    uid,
                    LINE,
                    e.occurred_at,
                    dish=x.dish,
                    name_zh=x.name_zh,
                    name_en=x.name_en,
                    qty=x.qty,
                    revenue_fen=x.qty * x.unit_price_fen,
                )
                for x in order.lines
            ]
        # A negative time (the hub's clock set back in between) is not a kitchen time.
        elif e.type == TICKET_PRINTED and (t := parse(TicketPrinted, e.data)) and t.latency_s >= 0:
            timings.append(_timing(store_id, TICKET, e.occurred_at, t.latency_s))
        elif e.type == ORDER_DONE and (d := parse(OrderDone, e.data)) and d.ready_s >= 0:
            timings.append(_timing(store_id, READY, e.occurred_at, d.ready_s))
        elif e.type == PAYMENT_RECORDED and (p := parse(PaymentRecorded, e.data)):
            # The bill's total at the payment's time (the daily metrics' visits, average bill).
            rows.append(_row(store_id, p.payment, PAY, e.occurred_at, revenue_fen=p.amount_fen))

    voids = [
        (e.occurred_at, v)
        for e in events
        if e.type == ORDER_LINE_VOIDED and (v := parse(VoidedLine, e.data)) is not None
    ]
    # Orders of this batch's voids that came in earlier batches.
    earlier = _known_orders(session, store_id, {v.order for _, v in voids} - orders.keys())
    for occurred_at, void in voids:
        known = orders.get(void.order, earlier.get(void.order, occurred_at))
        if known is None:
            continue  # nothing of an unreadable order counts, its voids neither
        rows.append(
            _row(
                store_id,
                void.order,
                VOID,
                known,
                dish=void.dish,
                qty=-void.qty,
                revenue_fen=-void.qty * void.unit_price_fen,
            )
        )
    changes = Changes()
    _settle_early_voids(session, store_id, orders, changes)
    _insert(session, SaleFact, rows)
    _insert(session, KitchenFact, timings)
    if rollups:
        changes.add(rows)
        sales_rollups.apply(session, changes)


def _insert(session: Session, model: type[SaleFact] | type[KitchenFact], rows: list[Any]) -> None:
    # Core executemany (psycopg pipelines it): the ORM's bulk insert would split a batch
    # wherever a column switches between NULL and a value, i.e. at every order, and one
    # multi-row VALUES statement costs more to compile than to run.
    if rows:
        session.execute(insert(table_of(model)), rows)


def _timing(store_id: str, kind: str, at: float, seconds: float) -> dict[str, Any]:
    return {"store_id": store_id, "kind": kind, "at": at, "seconds": seconds}


def _known_orders(session: Session, store_id: str, uids: set[str]) -> dict[str, float | None]:
    """uid -> order time (None: unreadable) for the orders HQ already has among `uids`."""
    known: dict[str, float | None] = {}
    for chunk in _chunks(uids):
        query = select(SaleFact.order_uid, SaleFact.kind, SaleFact.at).where(
            SaleFact.store_id == store_id,
            SaleFact.order_uid.in_(chunk),
            SaleFact.kind.in_((ORDER, BAD)),
        )
        for uid, kind, at in session.execute(query):
            known[uid] = None if kind == BAD else at
    return known


def _settle_early_voids(
    session: Session, store_id: str, orders: dict[str, float | None], changes: Changes
) -> None:
    """Voids that arrived before their order (counted at their own time) move to the order's
    time now, or go when the order is unreadable; `changes` takes the rollups' part. Rare: one
    query finds them."""
    for chunk in _chunks(orders):
        early = set(
            session.scalars(
                select(SaleFact.order_uid)
                .where(
                    SaleFact.store_id == store_id,
                    SaleFact.order_uid.in_(chunk),
                    SaleFact.kind == VOID,
                )
                .distinct()
            )
        )
        for uid in early:
            mine = (SaleFact.store_id == store_id) & (SaleFact.order_uid == uid)
            at = orders[uid]
            moved = sales_rollups.fact_rows(session, mine, SaleFact.kind == VOID)
            changes.add(moved, sign=-1)
            if at is not None:
                changes.add([{**r, "at": at, "at_s": floor(at)} for r in moved])
            if at is None:
                session.execute(delete(SaleFact).where(mine, SaleFact.kind == VOID))
            else:
                session.execute(
                    update(SaleFact)
                    .where(mine, SaleFact.kind == VOID)
                    .values(at=at, at_s=floor(at))
                )


def rebuild(
    session: Session,
    batch: int = 5000,
    *,
    types: tuple[str, ...] = FACT_TYPES,
    rollups: bool = True,
) -> int:
    """Every fact (of events of `types`) and rollup again from the stored events (for a
    database that had events before the facts existed); returns the events read. Migrations
    pass what they knew of, so that a later one can add its own."""
    session.execute(delete(SaleFact))
    session.execute(delete(KitchenFact))
    if rollups:
        session.execute(delete(SaleHour))  # record() adds them again with the facts
        session.execute(delete(DishHour))
    return record_stored(session, types, batch, rollups=rollups)


def record_stored(
    session: Session, types: tuple[str, ...], batch: int = 5000, *, rollups: bool = True
) -> int:
    """The facts of the stored events of `types`, in id order per store; the events read."""
    seen = 0
    for store_id in session.scalars(select(IngestedEvent.store_id).distinct()):
        last = 0
        while True:
            rows = session.execute(
                select(
                    IngestedEvent.id,
                    IngestedEvent.event_id,
                    IngestedEvent.type,
                    IngestedEvent.occurred_at,
                    IngestedEvent.data,
                )
                .where(
                    IngestedEvent.store_id == store_id,
                    IngestedEvent.type.in_(types),
                    IngestedEvent.id > last,
                )
                .order_by(IngestedEvent.id)
                .limit(batch)
            ).all()
            if not rows:
                break
            last = rows[-1].id
            seen += len(rows)
            record(
                session,
                store_id,
                [Fact(r.event_id, r.type, r.occurred_at, r.data) for r in rows],
                rollups=rollups,
            )
    return seen


def placed_orders(
    session: Session, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], tuple[float, PlacedOrder | None]]:
    """(store, order uid) -> (order time, the order or None if unreadable), for those known."""
    by_store: dict[str, set[str]] = {}
    for store_id, uid in keys:
        by_store.setdefault(store_id, set()).add(f"op-{uid}")
    found: dict[tuple[str, str], tuple[float, PlacedOrder | None]] = {}
    for store_id, wanted in by_store.items():
        for chunk in _chunks(wanted):
            query = select(
                IngestedEvent.event_id, IngestedEvent.occurred_at, IngestedEvent.data
            ).where(
                IngestedEvent.store_id == store_id,
                IngestedEvent.event_id.in_(chunk),
                IngestedEvent.type == ORDER_PLACED,
                IngestedEvent.occurred_at < MAX_EPOCH_S,
            )
            for event_id, occurred_at, data in session.execute(query):
                found[(store_id, event_id.removeprefix("op-"))] = (
                    occurred_at,
                    parse(PlacedOrder, data),
                )
    return found

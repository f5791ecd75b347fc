"""What HQ sells: revenue per store and day or hour, dishes per hour and overall, kitchen speed.

Read from the orders the hubs forward (smartstore/wire/uplink.py). Money is integer fen. An
event whose data does not match the contract is left out of every report, never a 500.
"""

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, available_timezones

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Result, select
from sqlalchemy.orm import Session

from cloud.api.deps import SessionDep
from cloud.api.hq import HQUserDep
from cloud.api.reports import csv_response, percentile
from cloud.const import STORE_ID_PATTERN
from cloud.models import IngestedEvent, Store
from smartstore.wire.uplink import ORDER_DONE, ORDER_LINE_VOIDED, ORDER_PLACED, TICKET_PRINTED

router = APIRouter(prefix="/api/v1/hq", tags=["hq"])

# Hub clocks this far off are broken, and InfluxDB's nanosecond timestamps end in 2262:
# such events are left out rather than failing a report or an export batch.
MAX_EPOCH_S = 9_000_000_000.0
# Bounds that keep every sum inside InfluxDB's int64 fields.
MAX_QTY = 1_000_000
MAX_UNIT_PRICE_FEN = 10_000_000_000
# Orders looked up per query when a void's order is outside the window.
LOOKUP_CHUNK = 500


# The contract, checked strictly: "2" is not a quantity and true is not 1.
class _Strict(BaseModel):
    model_config = ConfigDict(strict=True)


class PlacedLine(_Strict):
    dish: str = Field(min_length=1, max_length=64)
    name_zh: str
    name_en: str
    station: str
    qty: int = Field(gt=0, le=MAX_QTY)
    unit_price_fen: int = Field(ge=0, le=MAX_UNIT_PRICE_FEN)


class PlacedOrder(_Strict):
    order: str = Field(min_length=1)
    source: str
    lines: list[PlacedLine]


class VoidedLine(_Strict):
    order: str = Field(min_length=1)
    dish: str = Field(min_length=1, max_length=64)
    qty: int = Field(gt=0, le=MAX_QTY)
    unit_price_fen: int = Field(ge=0, le=MAX_UNIT_PRICE_FEN)


class OrderDone(_Strict):
    ready_s: float = Field(ge=0, allow_inf_nan=False)


class TicketPrinted(_Strict):
    latency_s: float = Field(ge=0, allow_inf_nan=False)


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any) -> M | None:
    """The event's data as `model`, or None when it does not match the contract."""
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


def placed_orders(
    session: Session, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], tuple[float, PlacedOrder | None]]:
    """(store, order uid) -> (order time, the order or None if unreadable), for those known."""
    by_store: dict[str, set[str]] = defaultdict(set)
    for store_id, uid in keys:
        by_store[store_id].add(f"op-{uid}")
    found: dict[tuple[str, str], tuple[float, PlacedOrder | None]] = {}
    for store_id, wanted in by_store.items():
        ids = sorted(wanted)
        for start in range(0, len(ids), LOOKUP_CHUNK):
            query = select(
                IngestedEvent.event_id, IngestedEvent.occurred_at, IngestedEvent.data
            ).where(
                IngestedEvent.store_id == store_id,
                IngestedEvent.event_id.in_(ids[start : start + LOOKUP_CHUNK]),
                IngestedEvent.type == ORDER_PLACED,
                IngestedEvent.occurred_at < MAX_EPOCH_S,
            )
            for event_id, occurred_at, data in session.execute(query):
                found[(store_id, event_id.removeprefix("op-"))] = (
                    occurred_at,
                    parse(PlacedOrder, data),
                )
    return found


@dataclass(frozen=True)
class SaleLine:
    store: str
    at: float  # the order's time; a void of an unknown order: the void's own time
    dish: str
    qty: int  # negative for a void
    revenue_fen: int


@dataclass
class Sales:
    orders: list[tuple[str, float]] = field(default_factory=list)  # (store, order time)
    lines: list[SaleLine] = field(default_factory=list)
    names: dict[str, tuple[str, str]] = field(default_factory=dict)  # dish -> newest names


def _events(
    session: Session, types: Sequence[str], since: float, until: float | None, store: str | None
) -> "Result[str, str, str, float, dict[str, Any]]":  # quoted: SQLAlchemy 2.0 refuses it
    query = select(
        IngestedEvent.store_id,
        IngestedEvent.event_id,
        IngestedEvent.type,
        IngestedEvent.occurred_at,
        IngestedEvent.data,
    ).where(
        IngestedEvent.type.in_(types),
        IngestedEvent.occurred_at >= since,
        IngestedEvent.occurred_at < (MAX_EPOCH_S if until is None else min(until, MAX_EPOCH_S)),
    )
    if store is not None:
        query = query.where(IngestedEvent.store_id == store)
    # Streamed: a month of a chain's orders need not sit in memory as rows.
    return session.execute(query.execution_options(yield_per=2000))


def load_sales(session: Session, since: float, until: float | None, store: str | None) -> Sales:
    """Placed lines in the window, and voids counted where their order is: a void late at night
    takes revenue from the evening it was ordered in, inside the window or out of it."""
    sales = Sales()
    order_at: dict[tuple[str, str], float] = {}
    unreadable: set[tuple[str, str]] = set()
    named_at: dict[str, float] = {}
    events = _events(session, [ORDER_PLACED], since, until, store)
    for store_id, event_id, _, occurred_at, data in events:
        # Keyed as a void finds its order: by the event id, op-<order uid>.
        key = (store_id, event_id.removeprefix("op-"))
        order = parse(PlacedOrder, data)
        if order is None:
            unreadable.add(key)
            continue
        order_at[key] = occurred_at
        sales.orders.append((store_id, occurred_at))
        for line in order.lines:
            sales.lines.append(
                SaleLine(store_id, occurred_at, line.dish, line.qty, line.qty * line.unit_price_fen)
            )
            if occurred_at >= named_at.get(line.dish, -1.0):
                named_at[line.dish] = occurred_at
                sales.names[line.dish] = (line.name_zh, line.name_en)

    # No upper bound: a void after `until` may belong to an order inside the window.
    voids: list[tuple[str, float, VoidedLine]] = []
    events = _events(session, [ORDER_LINE_VOIDED], since, None, store)
    for store_id, _, _, occurred_at, data in events:
        void = parse(VoidedLine, data)
        if void is not None:
            voids.append((store_id, occurred_at, void))
    elsewhere = placed_orders(
        session,
        {
            (s, v.order)
            for s, _, v in voids
            if (s, v.order) not in order_at and (s, v.order) not in unreadable
        },
    )
    for store_id, occurred_at, void in voids:
        key = (store_id, void.order)
        if key in unreadable:
            continue  # nothing of an unreadable order was counted: neither is its void
        if key in order_at:
            at = order_at[key]
        elif key in elsewhere:
            at, order = elsewhere[key]
            if order is None:
                continue
        else:
            at = occurred_at
        if at < since or (until is not None and at >= until):
            continue
        sales.lines.append(
            SaleLine(store_id, at, void.dish, -void.qty, -void.qty * void.unit_price_fen)
        )
    return sales


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def zone(tz: str) -> ZoneInfo:
    # Checked against the list, so user input never becomes a path ZoneInfo probes.
    if tz not in _zone_names():
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"unknown time zone {tz!r}: use an IANA name such as 'Asia/Shanghai' or 'UTC'",
        )
    return ZoneInfo(tz)


def day_of(at: float, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(at, tz).strftime("%Y-%m-%d")


def hour_of(at: float, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(at, tz).strftime("%Y-%m-%d %H:00")


Since = Annotated[float, Query(ge=0, description="epoch seconds, by the store's clock")]
Until = Annotated[float | None, Query(ge=0, description="epoch seconds, excluded")]
StoreFilter = Annotated[str | None, Query(pattern=STORE_ID_PATTERN, description="one store")]
Tz = Annotated[str, Query(max_length=64, description="IANA time zone, e.g. Asia/Shanghai")]
Format = Annotated[Literal["json", "csv"], Query()]


class SalesRow(BaseModel):
    store: str
    period: str
    orders: int
    items: int
    revenue_fen: int


@router.get("/sales", response_model=None)
def sales_report(
    session: SessionDep,
    _user: HQUserDep,
    since: Since = 0.0,
    until: Until = None,
    by: Annotated[Literal["day", "hour"], Query()] = "day",
    tz: Tz = "UTC",
    store: StoreFilter = None,
    format: Format = "json",
) -> list[SalesRow] | Response:
    """Per store and day (or hour) in `tz`: orders placed, items and revenue net of voids."""
    zi = zone(tz)
    label = day_of if by == "day" else hour_of
    sales = load_sales(session, since, until, store)
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for store_id, at in sales.orders:
        totals[(store_id, label(at, zi))][0] += 1
    for line in sales.lines:
        t = totals[(line.store, label(line.at, zi))]
        t[1] += line.qty
        t[2] += line.revenue_fen
    rows = [
        SalesRow(store=s, period=p, orders=o, items=i, revenue_fen=r)
        for (s, p), (o, i, r) in sorted(totals.items())
    ]
    if format == "csv":
        return csv_response(rows, SalesRow, f"sales-by-{by}.csv")
    return rows


@dataclass
class _DishTotal:
    qty: int = 0
    revenue_fen: int = 0


def _ranked(totals: dict[str, _DishTotal]) -> list[tuple[int, str, _DishTotal]]:
    """Best seller by quantity first; equal quantities share a rank (1, 1, 3) and are listed by
    revenue, then dish id."""
    ordered = sorted(totals.items(), key=lambda kv: (-kv[1].qty, -kv[1].revenue_fen, kv[0]))
    ranked: list[tuple[int, str, _DishTotal]] = []
    for n, (dish, total) in enumerate(ordered, start=1):
        rank = ranked[-1][0] if ranked and ranked[-1][2].qty == total.qty else n
        ranked.append((rank, dish, total))
    return ranked


class DishHourRow(BaseModel):
    hour: str
    dish: str
    name_zh: str | None
    name_en: str | None
    qty: int
    revenue_fen: int
    rank: int


@router.get("/dishes", response_model=None)
def dishes_per_hour(
    session: SessionDep,
    _user: HQUserDep,
    since: Since = 0.0,
    until: Until = None,
    tz: Tz = "UTC",
    store: StoreFilter = None,
    format: Format = "json",
) -> list[DishHourRow] | Response:
    """Per hour in `tz` and dish, all stores together (or one): quantity, revenue and rank."""
    zi = zone(tz)
    sales = load_sales(session, since, until, store)
    by_hour: dict[str, dict[str, _DishTotal]] = defaultdict(lambda: defaultdict(_DishTotal))
    for line in sales.lines:
        total = by_hour[hour_of(line.at, zi)][line.dish]
        total.qty += line.qty
        total.revenue_fen += line.revenue_fen
    rows = [
        DishHourRow(
            hour=hour,
            dish=dish,
            name_zh=sales.names.get(dish, (None, None))[0],
            name_en=sales.names.get(dish, (None, None))[1],
            qty=total.qty,
            revenue_fen=total.revenue_fen,
            rank=rank,
        )
        for hour in sorted(by_hour)
        for rank, dish, total in _ranked(by_hour[hour])
    ]
    if format == "csv":
        return csv_response(rows, DishHourRow, "dishes-by-hour.csv")
    return rows


class DishRankRow(BaseModel):
    rank: int
    dish: str
    name_zh: str | None
    name_en: str | None
    qty: int
    revenue_fen: int


@router.get("/dishes/ranking", response_model=None)
def dish_ranking(
    session: SessionDep,
    _user: HQUserDep,
    since: Since = 0.0,
    until: Until = None,
    store: StoreFilter = None,
    format: Format = "json",
) -> list[DishRankRow] | Response:
    """Dishes over the whole window, best seller first."""
    sales = load_sales(session, since, until, store)
    totals: dict[str, _DishTotal] = defaultdict(_DishTotal)
    for line in sales.lines:
        totals[line.dish].qty += line.qty
        totals[line.dish].revenue_fen += line.revenue_fen
    rows = [
        DishRankRow(
            rank=rank,
            dish=dish,
            name_zh=sales.names.get(dish, (None, None))[0],
            name_en=sales.names.get(dish, (None, None))[1],
            qty=total.qty,
            revenue_fen=total.revenue_fen,
        )
        for rank, dish, total in _ranked(totals)
    ]
    if format == "csv":
        return csv_response(rows, DishRankRow, "dish-ranking.csv")
    return rows


class KitchenRow(BaseModel):
    store: str
    orders: int
    tickets: int
    ticket_p50_s: float | None
    ticket_p95_s: float | None
    ready_p50_s: float | None


@router.get("/kitchen", response_model=None)
def kitchen_speed(
    session: SessionDep,
    _user: HQUserDep,
    since: Since = 0.0,
    until: Until = None,
    store: StoreFilter = None,
    format: Format = "json",
) -> list[KitchenRow] | Response:
    """Per store: orders placed, kitchen tickets printed, order-to-ticket and order-to-ready
    times."""
    orders: dict[str, int] = defaultdict(int)
    tickets: dict[str, list[float]] = defaultdict(list)
    ready: dict[str, list[float]] = defaultdict(list)
    types = [ORDER_PLACED, TICKET_PRINTED, ORDER_DONE]
    for store_id, _, kind, _, data in _events(session, types, since, until, store):
        if kind == ORDER_PLACED:
            orders[store_id] += parse(PlacedOrder, data) is not None
        elif kind == TICKET_PRINTED:
            if (ticket := parse(TicketPrinted, data)) is not None:
                tickets[store_id].append(ticket.latency_s)
        elif (done := parse(OrderDone, data)) is not None:
            ready[store_id].append(done.ready_s)
    stores = select(Store.id).order_by(Store.id)
    if store is not None:
        stores = stores.where(Store.id == store)
    rows = [
        KitchenRow(
            store=s,
            orders=orders[s],
            tickets=len(tickets[s]),
            ticket_p50_s=percentile(tickets[s], 50),
            ticket_p95_s=percentile(tickets[s], 95),
            ready_p50_s=percentile(ready[s], 50),
        )
        for s in session.scalars(stores)
    ]
    if format == "csv":
        return csv_response(rows, KitchenRow, "kitchen.csv")
    return rows

"""What HQ sells: revenue per store and day or hour, dishes per hour and overall, kitchen speed.

Read from the facts ingest writes beside the orders the hubs forward (cloud/sales_facts.py, which
also holds the counting rules): each report is a GROUP BY in the database. Money is integer
fen. An event whose data does not match the contract is left out of every report, never a 500.
"""

import functools
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from math import ceil, floor
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, available_timezones

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from cloud.api.deps import SessionDep
from cloud.api.errors import InvalidInput, Refusal, errors
from cloud.api.hq import HQUserDep
from cloud.api.reports import csv_response, json_or_csv, percentile
from cloud.const import STORE_ID_PATTERN
from cloud.models import KitchenFact, SaleFact, Store
from cloud.sales_facts import LINE, ORDER, READY, TICKET, VOID

router = APIRouter(prefix="/api/v1/hq", tags=["hq"], responses=errors(401))

DAY_S, HOUR_S = 86400, 3600


def offset_segments(lo: float, hi: float, tz: ZoneInfo) -> list[tuple[float, float, int]]:
    """[start, end) pieces of [lo, hi] over which `tz`'s UTC offset is constant (seconds), so
    that inside each a local day or hour is integer division of the shifted epoch."""

    def offset(t: float) -> int:
        delta = datetime.fromtimestamp(t, tz).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    segments: list[tuple[float, float, int]] = []
    start, current, t = lo, offset(lo), lo
    while t < hi:
        step = min(t + DAY_S, hi)
        if offset(step) == current:
            t = step
            continue
        # The change is in (t, step], on a whole second (zoneinfo's transitions are): search
        # whole seconds, so the search ends on it even when t and step are not.
        a, b = floor(t), ceil(step)
        while b - a > 1:
            m = (a + b) // 2
            a, b = (m, b) if offset(m) == current else (a, m)
        segments.append((start, b, current))
        start, current, t = b, offset(b), b
    segments.append((start, hi + 1, current))
    return segments


def _local(bucket: int, size: int) -> datetime:
    # bucket * size is local wall-clock time written as epoch seconds: render it as UTC.
    return datetime.fromtimestamp(bucket * size, UTC)


def _buckets(
    session: Session,
    columns: list[Any],
    kinds: tuple[str, ...],
    size: int,
    tz: ZoneInfo,
    where: list[ColumnElement[bool]],
) -> Iterator[tuple[datetime, Any]]:
    """(local start of the day or hour, row) for the facts in `where`, grouped by `columns` and
    the local day or hour: one GROUP BY per stretch of constant UTC offset."""
    where = [*where, SaleFact.kind.in_(kinds)]
    bounds: Any = session.execute(
        select(func.min(SaleFact.at), func.max(SaleFact.at)).where(*where)
    ).one()
    lo, hi = bounds
    if lo is None:
        return
    for start, end, off in offset_segments(lo, hi, tz):
        # Integer division truncates towards zero in SQL: shifted by a whole day so that the
        # first hours of 1970 west of Greenwich (a Pi with no time yet) still round down.
        bucket = ((SaleFact.at_s + off + DAY_S) // size - DAY_S // size).label("bucket")
        query = (
            select(
                bucket,
                *columns,
                func.count(),
                func.sum(SaleFact.qty),
                func.sum(SaleFact.revenue_fen),
            )
            .where(*where, SaleFact.at >= start, SaleFact.at < end)
            .group_by(bucket, *columns)
        )
        for row in session.execute(query):
            yield _local(row[0], size), row


Names = dict[str, tuple[str | None, str | None]]


def dish_names(session: Session, where: list[ColumnElement[bool]]) -> Names:
    """dish -> (name_zh, name_en) as its newest order in the window named it."""
    newest: dict[str, tuple[float, str | None, str | None]] = {}
    query = (
        select(SaleFact.dish, SaleFact.name_zh, SaleFact.name_en, func.max(SaleFact.at))
        .where(*where, SaleFact.kind == LINE)
        .group_by(SaleFact.dish, SaleFact.name_zh, SaleFact.name_en)
    )
    for dish, zh, en, at in session.execute(query):
        dish = str(dish)
        if dish not in newest or at >= newest[dish][0]:
            newest[dish] = (at, zh, en)
    return {dish: (zh, en) for dish, (_, zh, en) in newest.items()}


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


# What a report with a time zone answers 422 with: refused parameters, or zone()'s refusal.
ZONE_REFUSED: dict[int | str, dict[str, Any]] = {
    422: {
        "model": InvalidInput | Refusal,
        "description": "Parameters refused, or a time zone that is not an IANA name",
    }
}


def day_of(at: float, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(at, tz).strftime("%Y-%m-%d")


def hour_of(at: float, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(at, tz).strftime("%Y-%m-%d %H:00")


Since = Annotated[float, Query(ge=0, description="epoch seconds, by the store's clock")]
Until = Annotated[float | None, Query(ge=0, description="epoch seconds, excluded")]
StoreFilter = Annotated[str | None, Query(pattern=STORE_ID_PATTERN, description="one store")]


@dataclass(frozen=True)
class Window:
    """What a report covers: [since, until) on the stores' clocks; one store, or all."""

    since: float
    until: float | None
    store: str | None

    def where(self, model: type[SaleFact] | type[KitchenFact]) -> list[ColumnElement[bool]]:
        where = [model.at >= self.since]
        if self.until is not None:
            where.append(model.at < self.until)
        if self.store is not None:
            where.append(model.store_id == self.store)
        return where


def _report_window(since: Since = 0.0, until: Until = None, store: StoreFilter = None) -> Window:
    return Window(since, until, store)


ReportWindow = Annotated[Window, Depends(_report_window)]
Tz = Annotated[str, Query(max_length=64, description="IANA time zone, e.g. Asia/Shanghai")]
Format = Annotated[Literal["json", "csv"], Query()]


class SalesRow(BaseModel):
    store: str
    period: str
    orders: int
    items: int
    revenue_fen: int


@router.get("/sales", response_model=None, responses={**json_or_csv(SalesRow), **ZONE_REFUSED})
def sales_report(
    session: SessionDep,
    _user: HQUserDep,
    window: ReportWindow,
    by: Annotated[Literal["day", "hour"], Query()] = "day",
    tz: Tz = "UTC",
    format: Format = "json",
) -> list[SalesRow] | Response:
    """Per store and day (or hour) in `tz`: orders placed, items and revenue net of voids."""
    zi = zone(tz)
    size, fmt = (DAY_S, "%Y-%m-%d") if by == "day" else (HOUR_S, "%Y-%m-%d %H:00")
    where = window.where(SaleFact)
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    columns = [SaleFact.store_id, SaleFact.kind]
    for start, (_, store_id, kind, n, qty, revenue) in _buckets(
        session, columns, (ORDER, LINE, VOID), size, zi, where
    ):
        t = totals[(store_id, start.strftime(fmt))]
        if kind == ORDER:
            t[0] += n
        else:
            t[1] += qty
            t[2] += revenue
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


@router.get("/dishes", response_model=None, responses={**json_or_csv(DishHourRow), **ZONE_REFUSED})
def dishes_per_hour(
    session: SessionDep,
    _user: HQUserDep,
    window: ReportWindow,
    tz: Tz = "UTC",
    format: Format = "json",
) -> list[DishHourRow] | Response:
    """Per hour in `tz` and dish, all stores together (or one): quantity, revenue and rank."""
    zi = zone(tz)
    where = window.where(SaleFact)
    by_hour: dict[str, dict[str, _DishTotal]] = defaultdict(lambda: defaultdict(_DishTotal))
    for start, (_, dish, _n, qty, revenue) in _buckets(
        session, [SaleFact.dish], (LINE, VOID), HOUR_S, zi, where
    ):
        total = by_hour[start.strftime("%Y-%m-%d %H:00")][dish]
        total.qty += qty
        total.revenue_fen += revenue
    names = dish_names(session, where)
    rows = [
        DishHourRow(
            hour=hour,
            dish=dish,
            name_zh=names.get(dish, (None, None))[0],
            name_en=names.get(dish, (None, None))[1],
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


@router.get("/dishes/ranking", response_model=None, responses=json_or_csv(DishRankRow))
def dish_ranking(
    session: SessionDep,
    _user: HQUserDep,
    window: ReportWindow,
    format: Format = "json",
) -> list[DishRankRow] | Response:
    """Dishes over the whole window, best seller first."""
    where = window.where(SaleFact)
    totals: dict[str, _DishTotal] = {}
    query = (
        select(SaleFact.dish, func.sum(SaleFact.qty), func.sum(SaleFact.revenue_fen))
        .where(*where, SaleFact.kind.in_((LINE, VOID)))
        .group_by(SaleFact.dish)
    )
    for dish, qty, revenue in session.execute(query):
        totals[str(dish)] = _DishTotal(qty, revenue)
    names = dish_names(session, where)
    rows = [
        DishRankRow(
            rank=rank,
            dish=dish,
            name_zh=names.get(dish, (None, None))[0],
            name_en=names.get(dish, (None, None))[1],
            qty=total.qty,
            revenue_fen=total.revenue_fen,
        )
        for rank, dish, total in _ranked(totals)
    ]
    if format == "csv":
        return csv_response(rows, DishRankRow, "dish-ranking.csv")
    return rows


Stats = tuple[int, float | None, float | None]  # how many, p50, p95


def _timing_stats(
    session: Session, where: list[ColumnElement[bool]]
) -> dict[tuple[str, str], Stats]:
    """(store, kind) -> how many kitchen timings, their p50 and p95. PostgreSQL takes the
    percentiles itself (percentile_cont interpolates as `percentile` does); on SQLite, the
    demo's database, the values come back and Python takes them."""
    key = (KitchenFact.store_id, KitchenFact.kind)
    if session.get_bind().dialect.name == "postgresql":
        query = (
            select(
                *key,
                func.count(),
                func.percentile_cont(0.5).within_group(KitchenFact.seconds),
                func.percentile_cont(0.95).within_group(KitchenFact.seconds),
            )
            .where(*where)
            .group_by(*key)
        )
        return {
            (s, k): (n, round(float(p50), 3), round(float(p95), 3))
            for s, k, n, p50, p95 in session.execute(query)
        }
    values: dict[tuple[str, str], list[float]] = defaultdict(list)
    for s, k, seconds in session.execute(select(*key, KitchenFact.seconds).where(*where)):
        values[(s, k)].append(seconds)
    return {k: (len(v), percentile(v, 50), percentile(v, 95)) for k, v in values.items()}


class KitchenRow(BaseModel):
    store: str
    orders: int
    tickets: int
    ticket_p50_s: float | None
    ticket_p95_s: float | None
    ready_p50_s: float | None


@router.get("/kitchen", response_model=None, responses=json_or_csv(KitchenRow))
def kitchen_speed(
    session: SessionDep,
    _user: HQUserDep,
    window: ReportWindow,
    format: Format = "json",
) -> list[KitchenRow] | Response:
    """Per store: orders placed, kitchen tickets printed, order-to-ticket and order-to-ready
    times."""
    orders: dict[str, int] = defaultdict(int)
    counted = (
        select(SaleFact.store_id, func.count())
        .where(*window.where(SaleFact), SaleFact.kind == ORDER)
        .group_by(SaleFact.store_id)
    )
    for store_id, n in session.execute(counted):
        orders[store_id] = n
    timings = _timing_stats(session, window.where(KitchenFact))
    none: Stats = (0, None, None)
    stores = select(Store.id).order_by(Store.id)
    if window.store is not None:
        stores = stores.where(Store.id == window.store)
    rows = [
        KitchenRow(
            store=s,
            orders=orders[s],
            tickets=timings.get((s, TICKET), none)[0],
            ticket_p50_s=timings.get((s, TICKET), none)[1],
            ticket_p95_s=timings.get((s, TICKET), none)[2],
            ready_p50_s=timings.get((s, READY), none)[1],
        )
        for s in session.scalars(stores)
    ]
    if format == "csv":
        return csv_response(rows, KitchenRow, "kitchen.csv")
    return rows

"""What HQ sells: revenue per store and day or hour, dishes per hour and overall, kitchen speed.

Read from the facts ingest writes beside the orders the hubs forward (cloud/sales_facts.py, which
also holds the counting rules): each report is a GROUP BY in the database. Money is integer
fen. An event whose data does not match the contract is left out of every report, never a 500.
"""

import functools
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from math import ceil, floor
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, available_timezones

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import Session

from cloud.api.deps import SessionDep
from cloud.api.errors import InvalidInput, Refusal, errors
from cloud.api.hq import HQUserDep
from cloud.api.reports import csv_response, json_or_csv, json_rows, percentile
from cloud.const import STORE_ID_PATTERN
from cloud.models import DishHour, KitchenFact, SaleFact, SaleHour, Store
from cloud.sales_facts import MAX_EPOCH_S, READY, TICKET
from cloud.sales_rollups import HOUR_S, LINE, ORDER, PAY, VOID

router = APIRouter(prefix="/api/v1/hq", tags=["hq"], responses=errors(401, 403))

DAY_S = 86400


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


@dataclass(frozen=True)
class Measure:
    """What a report sums, from the facts or from an hourly rollup, the same either way:
    `values` name the rollup's columns and give the facts' expression for each; a group is
    answered when a fact of `kinds` is in it (a rollup row whose `present` is above 0)."""

    rollup: type[SaleHour] | type[DishHour]
    kinds: tuple[str, ...]
    present: str
    values: tuple[tuple[str, Any], ...]
    rollup_keys: tuple[str, ...] = ("store_id",)  # its primary key but the hour


def _sum_if(column: Any, *kinds: str) -> Any:
    return func.sum(case((SaleFact.kind.in_(kinds), column), else_=0))


SALES = Measure(
    SaleHour,
    (ORDER, LINE, VOID),
    "facts",
    (
        ("orders", _sum_if(1, ORDER)),
        ("qty", func.sum(SaleFact.qty)),
        ("revenue_fen", func.sum(SaleFact.revenue_fen)),
    ),
)
DISHES = Measure(
    DishHour,
    (LINE, VOID),
    "facts",
    (("qty", func.sum(SaleFact.qty)), ("revenue_fen", func.sum(SaleFact.revenue_fen))),
    ("store_id", "dish"),
)
VISITS = Measure(
    SaleHour,
    (PAY,),
    "visits",
    (("visits", func.count()), ("paid_fen", func.sum(SaleFact.revenue_fen))),
)


NO_FACTS_FROM = ceil(MAX_EPOCH_S / HOUR_S) * HOUR_S


def _split(
    lo: float, hi: float | None, whole_hours: bool
) -> tuple[list[tuple[float, float | None]], tuple[int, int | None] | None]:
    """[lo, hi) as the facts' ranges and the rollups' whole hours [a, b) (None: no rollup)."""
    if not whole_hours:
        return [(lo, hi)], None
    # No fact is at or after NO_FACTS_FROM (MAX_EPOCH_S): hours past it would be integers
    # too large for the database, and hold nothing anyway.
    a = ceil(min(lo, NO_FACTS_FROM) / HOUR_S) * HOUR_S
    b = None if hi is None else floor(min(hi, NO_FACTS_FROM) / HOUR_S) * HOUR_S
    if b is not None and a >= b:
        return [(lo, hi)], None
    facts: list[tuple[float, float | None]] = [(lo, float(a))] if lo < a else []
    if b is not None and hi is not None and b < hi:
        facts.append((float(b), hi))
    return facts, (a, b)


def _fact_range(lo: float, hi: float | None) -> list[ColumnElement[bool]]:
    where = [SaleFact.at >= lo]
    if hi is not None:
        where.append(SaleFact.at < hi)
    return where


def _hour_range(
    model: type[SaleHour] | type[DishHour], a: int, b: int | None
) -> list[ColumnElement[bool]]:
    where = [model.hour_s >= a]
    if b is not None:
        where.append(model.hour_s < b)
    return where


class Reader:
    """A report's window read from the hourly rollups for its whole hours and from the facts
    for the rest (`rollups` False: all from the facts, what the tests compare against)."""

    def __init__(self, session: Session, window: "Window", rollups: bool) -> None:
        self.session, self.window, self.rollups = session, window, rollups

    def _store(self, model: Any) -> list[ColumnElement[bool]]:
        stores = self.window.stores
        return [] if stores is None else [model.store_id.in_(sorted(stores))]

    def _pieces(
        self, lo: float, hi: float | None, whole_hours: bool
    ) -> tuple[list[tuple[float, float | None]], tuple[int, int | None] | None]:
        lo = max(lo, self.window.since)
        until = self.window.until
        hi = until if hi is None else (hi if until is None else min(hi, until))
        if hi is not None and lo >= hi:
            return [], None
        return _split(lo, hi, whole_hours and self.rollups)

    def bounds(self, m: Measure) -> tuple[float, float] | None:
        """The first and last second holding data of `m` in the window."""
        facts, hours = self._pieces(self.window.since, None, True)
        found: list[float] = []
        for lo, hi in facts:
            row: Any = self.session.execute(
                select(func.min(SaleFact.at), func.max(SaleFact.at)).where(
                    *_fact_range(lo, hi), *self._store(SaleFact), SaleFact.kind.in_(m.kinds)
                )
            ).one()
            found += [v for v in row if v is not None]
        if hours is not None:
            r = m.rollup
            row = self.session.execute(
                select(func.min(r.hour_s), func.max(r.hour_s)).where(
                    *_hour_range(r, *hours), *self._store(r), getattr(r, m.present) > 0
                )
            ).one()
            if row[0] is not None:
                found += [float(row[0]), float(row[1] + HOUR_S - 1)]
        return (min(found), max(found)) if found else None

    def groups(
        self,
        m: Measure,
        keys: tuple[str, ...],
        lo: float,
        hi: float | None,
        bucket: Callable[[Any], Any] | None = None,
        hourly: bool = False,
    ) -> Iterator[tuple[Any, ...]]:
        """(bucket?, *keys, *values) summed over [lo, hi) of the window, in pieces: the same
        group may come from several pieces (callers add them up). `hourly`: `bucket` maps each
        UTC hour to a bucket of its own."""
        facts, hours = self._pieces(lo, hi, True)
        for a, b in facts:
            by = [bucket(SaleFact.at_s)] if bucket is not None else []
            key = [getattr(SaleFact, k) for k in keys]
            query = (
                select(*by, *key, *(expr for _, expr in m.values))
                .where(*_fact_range(a, b), *self._store(SaleFact), SaleFact.kind.in_(m.kinds))
                .group_by(*by, *key)
            )
            yield from self.session.execute(query)
        if hours is not None:
            r = m.rollup
            by = [bucket(r.hour_s)] if bucket is not None else []
            key = [getattr(r, k) for k in keys]
            where = (*_hour_range(r, *hours), *self._store(r), getattr(r, m.present) > 0)
            if hourly and keys == m.rollup_keys:
                # A bucket of one hour over the rollup's own keys: each row is its group, and
                # grouping a month of a chain's rows (spilled past work_mem) only costs time.
                # Ordered by its keys and hour (its primary key's order), through Core:
                # the ORM's row handling was a fifth of the hourly report.
                yield from (
                    self.session.connection()
                    .execute(
                        select(*by, *key, *(getattr(r, c) for c, _ in m.values))
                        .where(*where)
                        .order_by(*key, r.hour_s)
                    )
                    .all()
                )  # fetched at once: a fetch per row was a tenth of the report
                return
            query = (
                select(*by, *key, *(func.sum(getattr(r, c)) for c, _ in m.values))
                .where(*where)
                .group_by(*by, *key)
            )
            yield from self.session.execute(query)

    def buckets(
        self, m: Measure, keys: tuple[str, ...], size: int, tz: ZoneInfo
    ) -> Iterator[tuple[datetime, Any]]:
        """(local start of the day or hour, row of *keys, *values) per local day or hour of
        `tz`: one GROUP BY per stretch of constant UTC offset and source. A zone whose offset
        is not whole hours (Asia/Kathmandu) reads that stretch from the facts."""
        bounds = self.bounds(m)
        if bounds is None:
            return
        for start, end, off in offset_segments(bounds[0], bounds[1], tz):

            def bucket(at_s: Any, off: int = off) -> Any:
                # Integer division truncates towards zero in SQL: shifted by a whole day so
                # that the first hours of 1970 west of Greenwich (a Pi with no time yet) still
                # round down.
                return ((at_s + off + DAY_S) // size - DAY_S // size).label("bucket")

            if off % HOUR_S:
                facts_only = Reader(self.session, self.window, rollups=False)
                rows = facts_only.groups(m, keys, start, end, bucket)
            else:
                rows = self.groups(m, keys, start, end, bucket, hourly=size == HOUR_S)
            starts: dict[int, datetime] = {}  # a bucket's start made once, not per row
            for row in rows:
                b = row[0]
                local = starts.get(b)
                if local is None:
                    local = starts[b] = _local(b, size)
                yield local, row[1:]

    def totals(self, m: Measure, keys: tuple[str, ...]) -> dict[tuple[Any, ...], list[int]]:
        """*keys -> the values summed over the whole window."""
        totals: dict[tuple[Any, ...], list[int]] = {}
        for row in self.groups(m, keys, self.window.since, None):
            total = totals.setdefault(tuple(row[: len(keys)]), [0] * len(m.values))
            for i, v in enumerate(row[len(keys) :]):
                total[i] += int(v or 0)
        return totals

    def dish_names(self) -> "Names":
        """dish -> (name_zh, name_en) as its newest order line in the window named it."""
        newest: dict[str, tuple[float, str | None, str | None]] = {}
        facts, hours = self._pieces(self.window.since, None, True)
        queries: list[Select[Any, Any, Any, Any]] = [
            select(SaleFact.dish, SaleFact.name_zh, SaleFact.name_en, func.max(SaleFact.at))
            .where(*_fact_range(a, b), *self._store(SaleFact), SaleFact.kind == LINE)
            .group_by(SaleFact.dish, SaleFact.name_zh, SaleFact.name_en)
            for a, b in facts
        ]
        if hours is not None:
            queries.append(
                select(
                    DishHour.dish, DishHour.name_zh, DishHour.name_en, func.max(DishHour.name_at)
                )
                .where(
                    *_hour_range(DishHour, *hours),
                    *self._store(DishHour),
                    DishHour.name_at.is_not(None),
                )
                .group_by(DishHour.dish, DishHour.name_zh, DishHour.name_en)
            )
        for query in queries:
            for dish, zh, en, at in self.session.execute(query):
                dish = str(dish)
                if dish not in newest or at >= newest[dish][0]:
                    newest[dish] = (at, zh, en)
        return {dish: (zh, en) for dish, (_, zh, en) in newest.items()}


def use_rollups() -> bool:
    """The reports read the rollups; a dependency so that nothing in the API can turn it off
    (the tests call the report functions with False to compare)."""
    return True


Rollups = Annotated[bool, Depends(use_rollups)]


Names = dict[str, tuple[str | None, str | None]]


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
    """What a report covers: [since, until) on the stores' clocks; one store, or all (of the
    user's scope: `scope` None is the whole chain)."""

    since: float
    until: float | None
    store: str | None
    scope: frozenset[str] | None = None

    @property
    def stores(self) -> frozenset[str] | None:
        """The stores to read; None: every store."""
        return self.scope if self.store is None else frozenset({self.store})

    def where(self, model: type[KitchenFact]) -> list[ColumnElement[bool]]:
        where = [model.at >= self.since]
        if self.until is not None:
            where.append(model.at < self.until)
        if self.stores is not None:
            where.append(model.store_id.in_(sorted(self.stores)))
        return where


def _report_window(
    user: HQUserDep, since: Since = 0.0, until: Until = None, store: StoreFilter = None
) -> Window:
    """The window asked for, within what the user sees: a store outside it is refused (403);
    no store is all of the user's stores."""
    if store is not None:
        user.require_store(store)
    return Window(since, until, store, user.stores)


ReportWindow = Annotated[Window, Depends(_report_window)]
Tz = Annotated[str, Query(max_length=64, description="IANA time zone, e.g. Asia/Shanghai")]
Format = Annotated[Literal["json", "csv"], Query()]


class _Periods(dict[datetime, str]):
    """A bucket's start -> its label in `fmt`, formatted once per bucket (500 stores share
    each hour of a month: strftime per row was a second of the hourly report)."""

    def __init__(self, fmt: str) -> None:
        super().__init__()
        self.fmt = fmt

    def __missing__(self, start: datetime) -> str:
        label = self[start] = start.strftime(self.fmt)
        return label


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
    rollups: Rollups,
    by: Annotated[Literal["day", "hour"], Query()] = "day",
    tz: Tz = "UTC",
    format: Format = "json",
) -> Response:
    """Per store and day (or hour) in `tz`: orders placed, items and revenue net of voids."""
    zi = zone(tz)
    size, fmt = (DAY_S, "%Y-%m-%d") if by == "day" else (HOUR_S, "%Y-%m-%d %H:00")
    reader = Reader(session, window, rollups)
    periods = _Periods(fmt)
    found = [
        (store_id, periods[start], int(orders), int(qty), int(revenue))
        for start, (store_id, orders, qty, revenue) in reader.buckets(
            SALES, ("store_id",), size, zi
        )
    ]
    # The pieces come ordered by store and period (Reader.groups): sorting them is merging a
    # few runs, and a group split over pieces (a ragged end, a change of UTC offset) is then
    # next to itself.
    found.sort()
    # Plain dicts of SalesRow's fields: a model per row costs more than the query here.
    rows: list[dict[str, Any]] = []
    last: dict[str, Any] = {}
    for store_id, period, orders, qty, revenue in found:
        if last and last["store"] == store_id and last["period"] == period:
            last["orders"] += orders
            last["items"] += qty
            last["revenue_fen"] += revenue
            continue
        last = {
            "store": store_id,
            "period": period,
            "orders": orders,
            "items": qty,
            "revenue_fen": revenue,
        }
        rows.append(last)
    if format == "csv":
        return csv_response(rows, SalesRow, f"sales-by-{by}.csv")
    return json_rows(rows)


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
    rollups: Rollups,
    tz: Tz = "UTC",
    format: Format = "json",
) -> list[DishHourRow] | Response:
    """Per hour in `tz` and dish, all stores together (or one): quantity, revenue and rank."""
    zi = zone(tz)
    reader = Reader(session, window, rollups)
    by_hour: dict[str, dict[str, _DishTotal]] = defaultdict(lambda: defaultdict(_DishTotal))
    for start, (dish, qty, revenue) in reader.buckets(DISHES, ("dish",), HOUR_S, zi):
        total = by_hour[start.strftime("%Y-%m-%d %H:00")][dish]
        total.qty += int(qty)
        total.revenue_fen += int(revenue)
    names = reader.dish_names()
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
    rollups: Rollups,
    format: Format = "json",
) -> list[DishRankRow] | Response:
    """Dishes over the whole window, best seller first."""
    reader = Reader(session, window, rollups)
    totals = {
        str(dish): _DishTotal(qty, revenue)
        for (dish,), (qty, revenue) in reader.totals(DISHES, ("dish",)).items()
    }
    names = reader.dish_names()
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
    rollups: Rollups,
    format: Format = "json",
) -> list[KitchenRow] | Response:
    """Per store: orders placed, kitchen tickets printed, order-to-ticket and order-to-ready
    times."""
    orders: dict[str, int] = defaultdict(int)
    for (store_id,), (n, _, _) in (
        Reader(session, window, rollups).totals(SALES, ("store_id",)).items()
    ):
        orders[store_id] = n
    timings = _timing_stats(session, window.where(KitchenFact))
    none: Stats = (0, None, None)
    stores = select(Store.id).order_by(Store.id)
    if window.stores is not None:
        stores = stores.where(Store.id.in_(sorted(window.stores)))
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


class DailyRow(BaseModel):
    """A store's day: visits are paid bills (payments recorded, waived bills included, at 0);
    the average bill is what they paid over the visits, to the nearest fen. New and returning
    members and the coupon use rate come with members."""

    store: str
    day: str
    visits: int
    paid_fen: int
    average_bill_fen: int


@router.get("/daily", response_model=None, responses={**json_or_csv(DailyRow), **ZONE_REFUSED})
def daily_metrics(
    session: SessionDep,
    _user: HQUserDep,
    window: ReportWindow,
    rollups: Rollups,
    tz: Tz = "UTC",
    format: Format = "json",
) -> Response:
    """Per store and day in `tz`: visits (paid bills), what they paid and the average bill."""
    zi = zone(tz)
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    reader = Reader(session, window, rollups)
    days = _Periods("%Y-%m-%d")
    for start, (store_id, visits, paid) in reader.buckets(VISITS, ("store_id",), DAY_S, zi):
        t = totals[(store_id, days[start])]
        t[0] += int(visits)
        t[1] += int(paid)
    rows = [
        {
            "store": s,
            "day": d,
            "visits": v,
            "paid_fen": p,
            "average_bill_fen": round(p / v) if v else 0,
        }
        for (s, d), (v, p) in sorted(totals.items())
    ]
    if format == "csv":
        return csv_response(rows, DailyRow, "daily-metrics.csv")
    return json_rows(rows)

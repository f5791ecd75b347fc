"""Hourly rollups of the sales facts, kept in the facts' transaction.

A month of 500 stores is tens of millions of fact rows (an order, its lines, its voids): a
report that groups them all takes many seconds (docs/benchmarks.md, "HQ reports"). Every change
to `sale_facts` also adds its difference to one row per store and UTC hour (`sale_hours`) and
per store, UTC hour and dish (`dish_hours`), so a report reads whole hours from the rollups and
only the ragged ends of its window (a `since` or `until` that is not on the hour) from the
facts. The answer is the same to the fen: the reports' tests compare both paths.

The rows are changed by upsert (`INSERT … ON CONFLICT DO UPDATE SET x = x + excluded.x`), with
the differences of one batch summed per key first (a statement may not touch a row twice) and
sorted (concurrent batches lock rows in the same order). A row whose facts all went (a void
that moved to its order's hour) is deleted, so a rollup row exists exactly when a fact does.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cloud.models import DishHour, SaleFact, SaleHour, table_of

HOUR_S = 3600
# The kinds of sale_facts rows this module sums (cloud/sales_facts.py writes them and adds
# "bad", an unreadable order, which counts nowhere).
ORDER, LINE, VOID, PAY = "order", "line", "void", "payment"


def hour_of(at_s: int) -> int:
    """The UTC hour (its epoch second) of a fact's whole second; facts are never before 1970."""
    return at_s - at_s % HOUR_S


@dataclass
class _Sales:
    facts: int = 0
    orders: int = 0
    qty: int = 0
    revenue_fen: int = 0
    visits: int = 0
    paid_fen: int = 0


@dataclass
class _Dish:
    facts: int = 0
    qty: int = 0
    revenue_fen: int = 0
    name_zh: str | None = None
    name_en: str | None = None
    name_at: float | None = None


@dataclass
class Changes:
    """The rollups' differences for a set of fact rows added (sign 1) or removed (sign -1)."""

    sales: dict[tuple[str, int], _Sales] = field(default_factory=dict)
    dishes: dict[tuple[str, int, str], _Dish] = field(default_factory=dict)
    removed: bool = False

    def add(self, rows: Iterable[Mapping[str, Any]], sign: int = 1) -> None:
        """`rows` as sale_facts rows (dicts with store_id, kind, at, at_s, dish, names, qty,
        revenue_fen); `sign` -1 takes them away."""
        for r in rows:
            kind = r["kind"]
            if kind not in (ORDER, LINE, VOID, PAY):
                continue  # an unreadable order counts nowhere
            self.removed |= sign < 0
            hour = hour_of(int(r["at_s"]))
            s = self.sales.setdefault((r["store_id"], hour), _Sales())
            if kind == PAY:
                s.visits += sign
                s.paid_fen += sign * r["revenue_fen"]
                continue
            s.facts += sign
            if kind == ORDER:
                s.orders += sign
                continue
            s.qty += sign * r["qty"]
            s.revenue_fen += sign * r["revenue_fen"]
            d = self.dishes.setdefault((r["store_id"], hour, r["dish"]), _Dish())
            d.facts += sign
            d.qty += sign * r["qty"]
            d.revenue_fen += sign * r["revenue_fen"]
            # The newest line names the dish (lines are never removed, only voids move).
            if kind == LINE and sign > 0 and (d.name_at is None or r["at"] >= d.name_at):
                d.name_zh, d.name_en, d.name_at = r["name_zh"], r["name_en"], r["at"]


def _upsert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def apply(session: Session, changes: Changes) -> None:
    """Add `changes` to the rollups, in the caller's transaction."""
    upsert = _upsert(session)
    if changes.sales:
        table = table_of(SaleHour)
        stmt = upsert(table)
        sums = ("facts", "orders", "qty", "revenue_fen", "visits", "paid_fen")
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["store_id", "hour_s"],
                set_={c: table.c[c] + stmt.excluded[c] for c in sums},
            ),
            [
                {"store_id": store, "hour_s": hour, **vars(s)}
                for (store, hour), s in sorted(changes.sales.items())
            ],
        )
    if changes.dishes:
        table = table_of(DishHour)
        stmt = upsert(table)
        newer = and_(
            stmt.excluded.name_at.is_not(None),
            or_(table.c.name_at.is_(None), stmt.excluded.name_at >= table.c.name_at),
        )
        names = {
            c: case((newer, stmt.excluded[c]), else_=table.c[c])
            for c in ("name_zh", "name_en", "name_at")
        }
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["store_id", "hour_s", "dish"],
                set_={
                    **{c: table.c[c] + stmt.excluded[c] for c in ("facts", "qty", "revenue_fen")},
                    **names,
                },
            ),
            [
                {"store_id": store, "hour_s": hour, "dish": dish, **vars(d)}
                for (store, hour, dish), d in sorted(changes.dishes.items())
            ],
        )
    if changes.removed:
        # Rare (a void that came before its order): rows left with no fact go.
        for store, hour in changes.sales:
            session.execute(
                delete(SaleHour).where(
                    SaleHour.store_id == store,
                    SaleHour.hour_s == hour,
                    SaleHour.facts <= 0,
                    SaleHour.visits <= 0,
                )
            )
        for store, hour, dish in changes.dishes:
            session.execute(
                delete(DishHour).where(
                    DishHour.store_id == store,
                    DishHour.hour_s == hour,
                    DishHour.dish == dish,
                    DishHour.facts <= 0,
                )
            )


def fact_rows(session: Session, *where: Any) -> list[dict[str, Any]]:
    """sale_facts rows as dicts (what Changes.add takes), for rows about to change."""
    columns = [
        SaleFact.store_id,
        SaleFact.kind,
        SaleFact.at,
        SaleFact.at_s,
        SaleFact.dish,
        SaleFact.name_zh,
        SaleFact.name_en,
        SaleFact.qty,
        SaleFact.revenue_fen,
    ]
    return [dict(r._mapping) for r in session.execute(select(*columns).where(*where))]


def rebuild(session: Session) -> None:
    """Every rollup row again from the facts (the migration that made them, and
    `smartstore rebuild-report-rows`): one GROUP BY per table, in the database."""
    session.execute(delete(SaleHour))
    session.execute(delete(DishHour))
    hour = (SaleFact.at_s - SaleFact.at_s % HOUR_S).label("hour_s")

    def count_if(*kinds: str) -> Any:
        return func.coalesce(func.sum(case((SaleFact.kind.in_(kinds), 1), else_=0)), 0)

    def sum_if(column: Any, *kinds: str) -> Any:
        return func.coalesce(func.sum(case((SaleFact.kind.in_(kinds), column), else_=0)), 0)

    sales = (
        select(
            SaleFact.store_id,
            hour,
            count_if(ORDER, LINE, VOID),
            count_if(ORDER),
            sum_if(SaleFact.qty, LINE, VOID),
            sum_if(SaleFact.revenue_fen, LINE, VOID),
            count_if(PAY),
            sum_if(SaleFact.revenue_fen, PAY),
        )
        .where(SaleFact.kind.in_((ORDER, LINE, VOID, PAY)))
        .group_by(SaleFact.store_id, hour)
    )
    session.execute(
        insert(SaleHour).from_select(
            ["store_id", "hour_s", "facts", "orders", "qty", "revenue_fen", "visits", "paid_fen"],
            sales,
        )
    )
    dishes = (
        select(
            SaleFact.store_id,
            hour,
            SaleFact.dish,
            func.count(),
            func.sum(SaleFact.qty),
            func.sum(SaleFact.revenue_fen),
        )
        .where(SaleFact.kind.in_((LINE, VOID)))
        .group_by(SaleFact.store_id, hour, SaleFact.dish)
    )
    session.execute(
        insert(DishHour).from_select(
            ["store_id", "hour_s", "dish", "facts", "qty", "revenue_fen"], dishes
        )
    )
    # Each row's names: those of its newest line (ties: the highest fact id, as ingest's
    # order would have left them).
    ranked = (
        select(
            SaleFact.store_id,
            hour,
            SaleFact.dish,
            SaleFact.name_zh,
            SaleFact.name_en,
            SaleFact.at,
            func.row_number()
            .over(
                partition_by=(SaleFact.store_id, hour, SaleFact.dish),
                order_by=(SaleFact.at.desc(), SaleFact.id.desc()),
            )
            .label("n"),
        )
        .where(SaleFact.kind == LINE)
        .subquery()
    )
    newest = select(ranked).where(ranked.c.n == 1).subquery()
    session.execute(
        update(DishHour)
        .where(
            DishHour.store_id == newest.c.store_id,
            DishHour.hour_s == newest.c.hour_s,
            DishHour.dish == newest.c.dish,
        )
        .values(name_zh=newest.c.name_zh, name_en=newest.c.name_en, name_at=newest.c.at)
    )

"""HQ's reports over a month of a chain: from the hourly rollups against from the facts.

    .venv/bin/python -m bench.bench_rollups [--stores 500] [--days 30] [--orders 150]

A durable PostgreSQL holds a month of --stores stores, each with --orders orders a day (3 lines
each, a void in ten, a payment per order), written straight into `sale_facts` by SQL (the
rows ingest would have written: loading them through ingest would take most of an hour here),
then the rollups are made from them as migration 0006 does (`sales_rollups.rebuild`, timed).
Each report is asked for the whole month of the whole chain: once through the report code
reading the rollups (what the API does) and once reading only the facts (what it did before),
median of --runs calls each, and the rollups' answer through `smartstore cloud` over HTTP.
The two answers must be equal row for row (exit 1 otherwise: bench/common.py).
"""

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
from fastapi import Response
from pydantic import BaseModel

from bench.common import Verdict, at_most, markdown_table, met_cell, write_section, zero
from cloud import sales_rollups
from cloud.api.sales import (
    Window,
    daily_metrics,
    dish_ranking,
    dishes_per_hour,
    kitchen_speed,
    sales_report,
)
from cloud.db import make_engine, make_sessions, migrate
from smartstore.cloud_service import HQ_TEST_PASSWORD, run_cloud_process, start_postgres

DAY0 = 1_790_000_000 - 1_790_000_000 % 86400 - 8 * 3600  # a midnight in Shanghai
TZ = "Asia/Shanghai"
DISHES = ["gbjd", "mapo", "rice", "cuke", "tea", "beer"]
NAMES_ZH = ["宫保鸡丁", "麻婆豆腐", "米饭", "拍黄瓜", "菊花茶", "青岛啤酒"]
PRICES = [3800, 2600, 300, 1600, 1200, 1500]


def _array(values: list[Any]) -> str:
    return "ARRAY[" + ", ".join(repr(v) if isinstance(v, str) else str(v) for v in values) + "]"


def load(dsn: str, stores: int, days: int, orders: int) -> int:
    """The month's facts, by SQL; returns the rows written."""
    grid = f"""
        FROM generate_series(1, {stores}) AS s, generate_series(0, {days - 1}) AS d,
             generate_series(0, {orders - 1}) AS n
    """
    at = (
        f"({DAY0} + d * 86400 + 10 * 3600 + ((n * 7919 + s * 104729) % 43200)"
        " + (n % 1000) / 1000.0)"
    )
    store = "'B' || lpad(s::text, 4, '0')"
    uid = "s || '-' || d || '-' || n"
    dish = f"({_array(DISHES)})[1 + ((n + s + 2 * k) % 6)]"
    name = f"({_array(NAMES_ZH)})[1 + ((n + s + 2 * k) % 6)]"
    price = f"({_array(PRICES)})[1 + ((n + s + 2 * k) % 6)]"
    qty = "(1 + (n + k) % 3)"
    insert = (
        "INSERT INTO sale_facts (store_id, order_uid, kind, at, at_s, dish, name_zh, name_en,"
        " qty, revenue_fen)"
    )
    with psycopg.connect(dsn, autocommit=True) as db:
        # Integers from the command line only: nothing to inject.
        stores_sql = f"FROM generate_series(1, {stores}) AS s"
        db.execute(
            "INSERT INTO stores (id, name, created_at)"
            f" SELECT 'B' || lpad(s::text, 4, '0'), 'store ' || s, {DAY0} {stores_sql}"
        )
        db.execute(
            f"{insert} SELECT {store}, {uid}, 'order', {at}, floor({at}), NULL, NULL, NULL, 0, 0"
            f" {grid}"
        )
        db.execute(
            f"{insert} SELECT {store}, {uid}, 'line', {at}, floor({at}), {dish}, {name}, {dish},"
            f" {qty}, {qty} * {price} {grid}, generate_series(0, 2) AS k"
        )
        # A void in ten: the first line's dish, one of it, at its order's time.
        db.execute(
            f"{insert} SELECT {store}, {uid}, 'void', {at}, floor({at}), {dish}, NULL, NULL,"
            f" -1, -{price} {grid}, (SELECT 0 AS k) AS k0 WHERE n % 10 = 0"
        )
        db.execute(
            f"{insert} SELECT {store}, 'pay-' || {uid}, 'payment', {at} + 1800,"
            f" floor({at} + 1800), NULL, NULL, NULL, 0, 5000 + (n % 7) * 1000 {grid}"
        )
        db.execute("ANALYZE")
        count = db.execute("SELECT count(*) FROM sale_facts").fetchone()
    return int(count[0]) if count else 0


def timed(call: Callable[[], Any], runs: int) -> tuple[float, Any]:
    """Median seconds of `runs` calls, and the first answer."""
    times, first = [], None
    for i in range(runs):
        start = time.perf_counter()
        answer = call()
        times.append(time.perf_counter() - start)
        if i == 0:
            first = answer
    return statistics.median(times), first


def plain(answer: Any) -> list[dict[str, Any]]:
    if isinstance(answer, Response):  # the JSON the API sends, made by the report
        rows: list[dict[str, Any]] = json.loads(bytes(answer.body))
        return rows
    return [r.model_dump() if isinstance(r, BaseModel) else r for r in answer]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--stores", type=int, default=500)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--orders", type=int, default=150)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    pg_dir = Path(tempfile.mkdtemp(dir="/tmp", prefix="bench-pg-"))
    work = Path(tempfile.mkdtemp(prefix="bench-rollups-"))
    pg = start_postgres(pg_dir, durable=True)
    verdict = Verdict("bench_rollups")
    rows: list[list[str]] = []
    try:
        url = pg.create_database("rollups")
        migrate(url)
        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        start = time.perf_counter()
        facts = load(dsn, args.stores, args.days, args.orders)
        load_s = time.perf_counter() - start
        print(f"{facts:,} facts in {load_s:.0f} s", flush=True)
        engine = make_engine(url)
        sessions = make_sessions(engine)
        start = time.perf_counter()
        with sessions.begin() as session:
            sales_rollups.rebuild(session)
        backfill_s = time.perf_counter() - start
        with psycopg.connect(dsn, autocommit=True) as db:
            db.execute("ANALYZE")
            hours = db.execute("SELECT count(*) FROM sale_hours").fetchone()
            dish_hours = db.execute("SELECT count(*) FROM dish_hours").fetchone()
        print(f"rollups made in {backfill_s:.0f} s", flush=True)
        month = Window(float(DAY0), float(DAY0 + args.days * 86400), None)
        reports: list[tuple[str, Callable[..., Any], dict[str, Any], str, dict[str, str]]] = [
            ("sales by day", sales_report, {"by": "day", "tz": TZ}, "/sales", {"by": "day"}),
            ("sales by hour", sales_report, {"by": "hour", "tz": TZ}, "/sales", {"by": "hour"}),
            ("dishes per hour", dishes_per_hour, {"tz": TZ}, "/dishes", {}),
            ("dish ranking", dish_ranking, {}, "/dishes/ranking", {}),
            ("daily metrics", daily_metrics, {"tz": TZ}, "/daily", {}),
            ("kitchen (orders)", kitchen_speed, {}, "/kitchen", {}),
        ]
        cloud = run_cloud_process(url, work, workers=1)
        try:
            with httpx.Client(base_url=cloud.base_url, timeout=600) as c:
                admin = {"Authorization": f"Bearer {cloud.admin_token}"}
                user = {"username": "bench", "password": HQ_TEST_PASSWORD}
                c.post("/api/v1/hq/users", json=user, headers=admin).raise_for_status()
                r = c.post("/api/v1/hq/login", json=user)
                r.raise_for_status()
                c.headers["Authorization"] = f"Bearer {r.json()['token']}"
                for name, report, params, path, query in reports:

                    def call(rollups: bool, report: Any = report, params: Any = params) -> Any:
                        with sessions() as session:
                            return plain(
                                report(session, "bench", month, rollups, format="json", **params)
                            )

                    after_s, fast = timed(lambda: call(True), args.runs)
                    before_s, slow = timed(lambda: call(False), args.runs)
                    http = {
                        "since": str(month.since),
                        "until": str(month.until),
                        **({"tz": TZ} if "tz" in params else {}),
                        **query,
                    }

                    def over_http(path: str = path, http: dict[str, str] = http) -> None:
                        c.get(f"/api/v1/hq{path}", params=http).raise_for_status()

                    http_s, _ = timed(over_http, args.runs)
                    wrong = int(fast != slow)
                    same = verdict.check(f"{name}: rollups answer as the facts do", wrong, zero())
                    checks = [same]
                    if name in ("sales by day", "sales by hour"):
                        checks.append(
                            verdict.check(f"{name}: over HTTP (s)", http_s, at_most(1.0, "< 1 s"))
                        )
                    rows.append(
                        [
                            name,
                            f"{len(fast):,}",
                            f"{before_s:,.2f} s",
                            f"{after_s:,.2f} s",
                            f"{before_s / after_s:,.0f}×",
                            f"{http_s:,.2f} s",
                            "same" if not wrong else "**differ**",
                            met_cell(*checks),
                        ]
                    )
                    print(
                        f"{name:18} {len(fast):>8} rows  facts {before_s:7.2f} s  rollups"
                        f" {after_s:6.2f} s  HTTP {http_s:6.2f} s  {'same' if not wrong else 'DIFFER'}",
                        flush=True,
                    )
        finally:
            cloud.stop()
        engine.dispose()
    finally:
        pg.stop()
        shutil.rmtree(pg_dir, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)

    header = [
        "report (whole month, whole chain)",
        "rows",
        "from the facts (before)",
        "from the rollups (after)",
        "faster",
        "after, over HTTP",
        "answers",
        "met",
    ]
    table = f"""## HQ reports over a month: {args.stores} stores × {args.days} days × {args.orders} orders a day

`.venv/bin/python -m bench.bench_rollups --stores {args.stores} --days {args.days} --orders {args.orders}`
on this machine ({os.cpu_count()} cores, shared), {time.strftime("%Y-%m-%d")}. PostgreSQL 15 with fsync on.
{facts:,} fact rows (orders of 3 lines, a void in ten, a payment each) written by SQL in {load_s:.0f} s;
the rollups made from them as migration 0006 does in {backfill_s:.0f} s: {hours[0] if hours else 0:,} store-hours,
{dish_hours[0] if dish_hours else 0:,} store-hour-dishes. Median of {args.runs} calls per report for the month in
{TZ}: the report code reading only the facts (before) and reading the rollups (after; the
same process, the same answer required row for row), and the API's answer over HTTP
(`smartstore cloud --workers 1`, JSON).

{markdown_table(header, rows)}

{verdict.markdown()}

"kitchen (orders)": its orders per store come from the rollups; its ticket and ready
percentiles still read kitchen_facts (none in this load), which a percentile cannot be rolled
up into. The hour-by-hour answers are large (a row per store and hour, 14.5 MB of JSON):
their time is Python's per row and the sending, not the database (docs/benchmarks.md, "What
moved the hourly report").
"""
    print(table)
    if not args.no_write:
        write_section("rollups", table)
    verdict.exit()


if __name__ == "__main__":
    main()

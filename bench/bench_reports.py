"""HQ's sales reports over a chain: how long HQ waits for a day of many stores.

    .venv/bin/python -m bench.bench_reports [--stores 200] [--orders 300]

`smartstore cloud` on a durable PostgreSQL holds one day of --stores stores, each with --orders
orders (3 lines each), a kitchen ticket per station, a done and one void in ten, as the hubs
send them. Each report is then asked for that day, for the whole chain and for one store; the
median of 5 calls per report is shown (JSON; CSV for the dish report).

Each answer is checked against what was loaded: the benchmark works out every row each report
must hold from the events it generated (`truth_of`, `expected`: the counting rules of
docs/hq-reports.md, written again here, not the cloud's code) and counts the rows missing,
unexpected or with another value, and the calls that answered differently from the first.
Exits 1 if any report has a wrong row (bench/common.py).
"""

import argparse
import concurrent.futures
import csv
import io
import json
import math
import os
import random
import secrets
import shutil
import statistics
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg

from bench.common import Verdict, markdown_table, met_cell, write_section, zero
from smartstore.cloud_service import HQ_TEST_PASSWORD, run_cloud_process, start_postgres

DAY = 1_790_000_000.0 - 1_790_000_000.0 % 86400  # a UTC midnight
BATCH = 500
DISHES: list[tuple[str, str, str, str, int]] = [
    ("gbjd", "宫保鸡丁", "Kung Pao Chicken", "hot", 3800),
    ("mapo", "麻婆豆腐", "Mapo Tofu", "hot", 2600),
    ("rice", "米饭", "Rice", "hot", 300),
    ("cuke", "拍黄瓜", "Smashed Cucumber", "cold", 1600),
    ("tea", "菊花茶", "Chrysanthemum Tea", "bar", 1200),
    ("beer", "青岛啤酒", "Tsingtao Beer", "bar", 1500),
]


def store_day(store: str, orders: int, rng: random.Random) -> list[dict[str, Any]]:
    """One store's day as its hub forwards it."""
    events: list[dict[str, Any]] = []
    for n in range(orders):
        uid = f"{store}-{n:05d}-{secrets.token_hex(4)}"
        at = DAY + 10 * 3600 + rng.random() * 12 * 3600  # 10:00-22:00
        lines: list[dict[str, Any]] = [
            {
                "dish": d,
                "name_zh": zh,
                "name_en": en,
                "station": st,
                "qty": rng.randint(1, 3),
                "unit_price_fen": price,
            }
            for d, zh, en, st, price in rng.sample(DISHES, 3)
        ]
        total = sum(x["qty"] * x["unit_price_fen"] for x in lines)
        events.append(
            {
                "id": f"op-{uid}",
                "type": "order.placed",
                "occurred_at": at,
                "data": {
                    "order": uid,
                    "no": n + 1,
                    "source": "table",
                    "table": "A1",
                    "device": None,
                    "created_at": at,
                    "total_fen": total,
                    "lines": lines,
                },
            }
        )
        for station in sorted({x["station"] for x in lines}):
            latency = rng.uniform(0.01, 0.3)
            events.append(
                {
                    "id": f"tp-{uid}-{station}",
                    "type": "ticket.printed",
                    "occurred_at": at + latency,
                    "data": {
                        "order": uid,
                        "station": station,
                        "printer": f"printer-{station}",
                        "ordered_at": at,
                        "printed_at": at + latency,
                        "latency_s": round(latency, 3),
                    },
                }
            )
        ready = rng.uniform(300, 1500)
        events.append(
            {
                "id": f"od-{uid}",
                "type": "order.done",
                "occurred_at": at + ready,
                "data": {"order": uid, "no": n + 1, "ready_s": round(ready, 3)},
            }
        )
        if n % 10 == 0:
            x = lines[0]
            events.append(
                {
                    "id": f"ov-{uid}-1",
                    "type": "order.line_voided",
                    "occurred_at": at + 60,
                    "data": {
                        "order": uid,
                        "dish": x["dish"],
                        "qty": x["qty"],
                        "unit_price_fen": x["unit_price_fen"],
                        "by": "alice",
                    },
                }
            )
    return events


# --- what the reports must answer, worked out from the events generated, not from the cloud ---

TZ = "Asia/Shanghai"
NAMES = {d: (zh, en) for d, zh, en, _, _ in DISHES}
Key = tuple[str, ...]
Rows = dict[Key, tuple[Any, ...]]


@dataclass
class Truth:
    """One store's day as its reports must count it (docs/hq-reports.md): orders, items and
    revenue net of voids, a void at its order's time; dishes per local hour; kitchen timings."""

    orders: int = 0
    sales: dict[tuple[str, str], list[int]] = field(default_factory=dict)  # (by, period)
    dishes: dict[tuple[str, str], list[int]] = field(default_factory=dict)  # (hour, dish)
    tickets: list[float] = field(default_factory=list)
    ready: list[float] = field(default_factory=list)


def truth_of(events: list[dict[str, Any]], since: float, until: float) -> Truth:
    zone = ZoneInfo(TZ)
    truth = Truth()
    placed = {e["data"]["order"]: e["occurred_at"] for e in events if e["type"] == "order.placed"}

    def count(at: float, dish: str, qty: int, revenue: int, order: int = 0) -> None:
        if not since <= at < until:
            return
        local = datetime.fromtimestamp(at, zone)
        for by, period in (("day", f"{local:%Y-%m-%d}"), ("hour", f"{local:%Y-%m-%d %H}:00")):
            total = truth.sales.setdefault((by, period), [0, 0, 0])
            total[0] += order
            total[1] += qty
            total[2] += revenue
        if dish:
            per_dish = truth.dishes.setdefault((f"{local:%Y-%m-%d %H}:00", dish), [0, 0])
            per_dish[0] += qty
            per_dish[1] += revenue

    for e in events:
        at, d = e["occurred_at"], e["data"]
        if e["type"] == "order.placed":
            truth.orders += since <= at < until
            count(at, "", 0, 0, order=1)
            for x in d["lines"]:
                count(at, x["dish"], x["qty"], x["qty"] * x["unit_price_fen"])
        elif e["type"] == "order.line_voided":
            count(placed[d["order"]], d["dish"], -d["qty"], -d["qty"] * d["unit_price_fen"])
        elif e["type"] == "ticket.printed" and since <= at < until:
            truth.tickets.append(d["latency_s"])
        elif e["type"] == "order.done" and since <= at < until:
            truth.ready.append(d["ready_s"])
    return truth


def interpolated(values: list[float], p: float) -> float | None:
    """PostgreSQL's percentile_cont: linear between the two nearest ranks."""
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * p
    lo = math.floor(k)
    hi = min(lo + 1, len(v) - 1)
    return round(v[lo] + (v[hi] - v[lo]) * (k - lo), 3)


def ranked(totals: dict[str, list[int]]) -> dict[str, int]:
    """The documented rule: most sold first, by revenue then dish id; equal quantities share
    a rank (1, 1, 3)."""
    ranks: dict[str, int] = {}
    previous: tuple[int, int] | None = None
    for n, (dish, (qty, _)) in enumerate(
        sorted(totals.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0])), start=1
    ):
        rank = previous[1] if previous and previous[0] == qty else n
        ranks[dish] = rank
        previous = (qty, rank)
    return ranks


def expected(report: str, truths: Mapping[str, Truth]) -> Rows:
    """The rows `report` must answer for these stores."""
    if report in ("sales by day", "sales by hour"):
        by = report.removeprefix("sales by ")
        return {
            (store, period): tuple(v)
            for store, t in truths.items()
            for (b, period), v in t.sales.items()
            if b == by
        }
    if report == "kitchen times":
        return {
            (store,): (
                t.orders,
                len(t.tickets),
                interpolated(t.tickets, 0.5),
                interpolated(t.tickets, 0.95),
                interpolated(t.ready, 0.5),
            )
            for store, t in truths.items()
        }
    hours: dict[str, dict[str, list[int]]] = {}
    for t in truths.values():
        for (hour, dish), (qty, revenue) in t.dishes.items():
            total = hours.setdefault(hour, {}).setdefault(dish, [0, 0])
            total[0] += qty
            total[1] += revenue
    if report == "dishes per hour (CSV)":
        return {
            (hour, dish): (*totals[dish], rank, *NAMES[dish])
            for hour, totals in hours.items()
            for dish, rank in ranked(totals).items()
        }
    day: dict[str, list[int]] = {}
    for totals in hours.values():
        for dish, (qty, revenue) in totals.items():
            total = day.setdefault(dish, [0, 0])
            total[0] += qty
            total[1] += revenue
    return {(dish,): (rank, *day[dish], *NAMES[dish]) for dish, rank in ranked(day).items()}


def answered(report: str, body: bytes) -> Rows:
    """The rows a report answered, in `expected`'s shape."""
    if report == "dishes per hour (CSV)":
        rows = csv.DictReader(io.StringIO(body.decode("utf-8-sig")))
        return {
            (r["hour"], r["dish"]): (
                int(r["qty"]),
                int(r["revenue_fen"]),
                int(r["rank"]),
                r["name_zh"],
                r["name_en"],
            )
            for r in rows
        }
    data = json.loads(body)
    if report in ("sales by day", "sales by hour"):
        return {
            (r["store"], r["period"]): (r["orders"], r["items"], r["revenue_fen"]) for r in data
        }
    if report == "kitchen times":
        return {
            (r["store"],): (
                r["orders"],
                r["tickets"],
                r["ticket_p50_s"],
                r["ticket_p95_s"],
                r["ready_p50_s"],
            )
            for r in data
        }
    return {
        (r["dish"],): (r["rank"], r["qty"], r["revenue_fen"], r["name_zh"], r["name_en"])
        for r in data
    }


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        # percentiles are rounded to the millisecond on both sides
        return a is not None and b is not None and abs(a - b) <= 0.0011
    return bool(a == b)


def wrong_rows(want: Rows, got: Rows) -> int:
    """Rows missing, rows not expected, and rows with a value that is not the expected one."""
    differ = sum(
        1
        for k in want.keys() & got.keys()
        if len(want[k]) != len(got[k]) or not all(map(_same, want[k], got[k]))
    )
    return len(want.keys() ^ got.keys()) + differ


def load(base: str, admin: str, stores: list[str], orders: int) -> tuple[int, dict[str, Truth]]:
    """Register and load each store's day; the events loaded, and what each store's reports
    must answer."""

    def one(store: str) -> tuple[int, Truth]:
        rng = random.Random(store)
        with httpx.Client(base_url=base, timeout=120) as c:
            r = c.post(
                "/api/v1/stores",
                json={"id": store, "name": store},
                headers={"Authorization": f"Bearer {admin}"},
            )
            r.raise_for_status()
            c.headers["Authorization"] = f"Bearer {r.json()['token']}"
            events = store_day(store, orders, rng)
            for i in range(0, len(events), BATCH):
                batch = {"store": store, "events": events[i : i + BATCH]}
                c.post("/api/v1/ingest", json=batch).raise_for_status()
            return len(events), truth_of(events, DAY, DAY + 86400)

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(one, stores))
    return sum(n for n, _ in results), {s: t for s, (_, t) in zip(stores, results, strict=True)}


def timed(
    c: httpx.Client, path: str, params: dict[str, str], runs: int = 5
) -> tuple[float, bytes, int]:
    """Median milliseconds of `runs` calls, the first answer, and how many of the others
    answered differently."""
    times = []
    bodies = []
    for _ in range(runs):
        start = time.perf_counter()
        r = c.get(path, params=params)
        times.append((time.perf_counter() - start) * 1000)
        r.raise_for_status()
        bodies.append(r.content)
    return statistics.median(times), bodies[0], sum(b != bodies[0] for b in bodies[1:])


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--stores", type=int, default=200)
    ap.add_argument("--orders", type=int, default=300)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    stores = [f"S{n:04d}" for n in range(1, args.stores + 1)]
    pg_dir = Path(tempfile.mkdtemp(dir="/tmp", prefix="bench-pg-"))
    work = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    pg = start_postgres(pg_dir, durable=True)
    verdict = Verdict("bench_reports")
    rows: list[list[str]] = []
    try:
        database = pg.create_database("reports")
        cloud = run_cloud_process(database, work, workers=1)
        try:
            start = time.perf_counter()
            events, truths = load(cloud.base_url, cloud.admin_token, stores, args.orders)
            load_s = time.perf_counter() - start
            # What autovacuum does within a minute of a load like this in production: the
            # planner's statistics, so the reports run on today's plans, not a guess.
            dsn = database.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(dsn, autocommit=True) as db:
                db.execute("ANALYZE")
            print(f"loaded {events:,} events in {load_s:.0f} s", flush=True)
            with httpx.Client(base_url=cloud.base_url, timeout=600) as c:
                admin = {"Authorization": f"Bearer {cloud.admin_token}"}
                c.post(
                    "/api/v1/hq/users",
                    json={"username": "bench", "password": HQ_TEST_PASSWORD},
                    headers=admin,
                ).raise_for_status()
                r = c.post(
                    "/api/v1/hq/login", json={"username": "bench", "password": HQ_TEST_PASSWORD}
                )
                r.raise_for_status()
                c.headers["Authorization"] = f"Bearer {r.json()['token']}"
                day = {"since": str(DAY), "until": str(DAY + 86400), "tz": TZ}
                for scope, extra, truth in (
                    ("chain", {}, truths),
                    ("one store", {"store": stores[0]}, {stores[0]: truths[stores[0]]}),
                ):
                    for name, path, params in (
                        ("sales by day", "/api/v1/hq/sales", {"by": "day"}),
                        ("sales by hour", "/api/v1/hq/sales", {"by": "hour"}),
                        ("dishes per hour (CSV)", "/api/v1/hq/dishes", {"format": "csv"}),
                        ("dish ranking", "/api/v1/hq/dishes/ranking", {}),
                        ("kitchen times", "/api/v1/hq/kitchen", {}),
                    ):
                        p = {**day, **params, **extra}
                        if name == "dish ranking" or name == "kitchen times":
                            p.pop("tz")
                        ms, body, unstable = timed(c, path, p)
                        want = expected(name, truth)
                        wrong = wrong_rows(want, answered(name, body)) + unstable
                        check = verdict.check(f"{scope}, {name}: wrong rows", wrong, zero())
                        rows.append(
                            [
                                scope,
                                name,
                                f"{ms:,.0f} ms",
                                f"{len(body) / 1024:,.0f} KB",
                                f"{len(want):,}",
                                f"{wrong:,}",
                                "0 wrong",
                                met_cell(check),
                            ]
                        )
                        print(
                            f"{scope:10} {name:24} {ms:8.0f} ms {len(body):>10,} B "
                            f"{len(want):>6} rows expected, {wrong} wrong",
                            flush=True,
                        )
        finally:
            cloud.stop()
    finally:
        pg.stop()
        shutil.rmtree(pg_dir, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)

    header = ["scope", "report", "median", "answer", "rows expected", "wrong rows", "target", "met"]
    table = f"""## HQ reports: one day of {args.stores} stores × {args.orders} orders

`.venv/bin/python -m bench.bench_reports --stores {args.stores} --orders {args.orders}` on this machine ({os.cpu_count()} cores), {time.strftime("%Y-%m-%d")}.
{events:,} events in PostgreSQL (orders with 3 lines, a ticket per station, done, a void in ten);
`smartstore cloud --workers 1`; median of 5 calls for the day ({TZ}), after ANALYZE.
Each answer is checked against what the loader generated, worked out in the benchmark from its
own events (orders, items and revenue net of voids per store and local day or hour; quantity,
revenue, rank and names per dish; kitchen counts and percentiles): a row missing, unexpected
or with another value is wrong, and so is a call that answered differently from the first.

Loading them (4 threads, batches of {BATCH}, the reports' facts written at ingest): {load_s:.0f} s =
{events / load_s:,.0f} events/s.

{markdown_table(header, rows)}

{verdict.markdown()}

Baseline, the same run at commit f846fc9 (reports read every event's JSON; no facts at
ingest), two runs: chain sales by day 3.6 / 6.2 s, by hour 3.9 / 6.4 s, dishes per hour
3.4 / 5.7 s, ranking 2.8 / 2.6 s, kitchen 4.4 / 3.4 s; one store 14–26 ms; loading 4,412
events/s. The facts make the chain's reports 15–45× faster (the kitchen's percentiles are
PostgreSQL's percentile_cont; taken in Python they cost 0.52 s here). Writing them cost order-heavy ingest about 40% (2,680 events/s) until
the events themselves went in as one executemany instead of a 500-row VALUES statement built
per batch; with both, ingest is back at the baseline's rate. The reports run after an ANALYZE
(autovacuum's job in production): without fresh statistics right after the load, one store's
reports took ~40 ms and the chain's ~0.3–0.6 s.
"""
    print(table)
    if not args.no_write:
        write_section("reports", table)
    verdict.exit()


if __name__ == "__main__":
    main()

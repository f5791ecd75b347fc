"""HQ's sales reports over a chain: how long HQ waits for a day of many stores.

    .venv/bin/python -m bench.bench_reports [--stores 200] [--orders 300]

`smartstore cloud` on a durable PostgreSQL holds one day of --stores stores, each with --orders
orders (3 lines each), a kitchen ticket per station, a done and one void in ten, as the hubs
send them. Each report is then asked for that day, for the whole chain and for one store; the
median of 5 calls per report is shown (JSON; CSV for the dish report).
"""

import argparse
import concurrent.futures
import os
import random
import secrets
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.common import write_section
from cloud.testing import HQ_TEST_PASSWORD, run_cloud_process, start_postgres

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


def load(base: str, admin: str, stores: list[str], orders: int) -> int:
    def one(store: str) -> int:
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
            return len(events)

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        return sum(pool.map(one, stores))


def timed(c: httpx.Client, path: str, params: dict[str, str], runs: int = 5) -> tuple[float, int]:
    """Median milliseconds of `runs` calls, and the size of the answer."""
    times = []
    size = 0
    for _ in range(runs):
        start = time.perf_counter()
        r = c.get(path, params=params)
        times.append((time.perf_counter() - start) * 1000)
        r.raise_for_status()
        size = len(r.content)
    return statistics.median(times), size


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
    rows: list[tuple[str, str, float, int]] = []
    try:
        database = pg.create_database("reports")
        cloud = run_cloud_process(database, work, workers=1)
        try:
            start = time.perf_counter()
            events = load(cloud.base_url, cloud.admin_token, stores, args.orders)
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
                day = {"since": str(DAY), "until": str(DAY + 86400), "tz": "Asia/Shanghai"}
                for scope, extra in (("chain", {}), ("one store", {"store": stores[0]})):
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
                        ms, size = timed(c, path, p)
                        rows.append((scope, name, ms, size))
                        print(f"{scope:10} {name:24} {ms:8.0f} ms {size:>10,} B", flush=True)
        finally:
            cloud.stop()
    finally:
        pg.stop()
        shutil.rmtree(pg_dir, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)

    lines = "\n".join(
        f"| {scope} | {name} | {ms:,.0f} ms | {size / 1024:,.0f} KB |"
        for scope, name, ms, size in rows
    )
    table = f"""## HQ reports: one day of {args.stores} stores × {args.orders} orders

`.venv/bin/python -m bench.bench_reports --stores {args.stores} --orders {args.orders}` on this machine ({os.cpu_count()} cores), {time.strftime("%Y-%m-%d")}.
{events:,} events in PostgreSQL (orders with 3 lines, a ticket per station, done, a void in ten);
`smartstore cloud --workers 1`; median of 5 calls for the day (Asia/Shanghai), after ANALYZE.

Loading them (4 threads, batches of {BATCH}, the reports' facts written at ingest): {load_s:.0f} s =
{events / load_s:,.0f} events/s.

| scope | report | median | answer |
|---|---|---|---|
{lines}

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


if __name__ == "__main__":
    main()

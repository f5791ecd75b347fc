"""The cloud's ingest into PostgreSQL, and a hub draining its outbox after an outage.

    .venv/bin/python -m bench.bench_uplink [--events 100000]

1. Ingest: `smartstore cloud --workers 2` on a durable PostgreSQL (fsync on); 4 client threads
   post distinct batches of 500 events until --events are stored; then the same events again
   (all duplicates: the cost of idempotency).
2. Drain: a hub whose outbox holds --events call facts (as after a long outage) starts with the
   cloud reachable; time until its outbox is empty, and a check that the cloud holds each once.
"""

import argparse
import concurrent.futures
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import write_section
from cloud.testing import run_cloud_process, start_postgres
from edge.db import init_db, make_engine
from edge.inventory import generate_inventory
from edge.uplink import service as outbox
from tests.support import PIN, STAFF, hub_settings, run_hub_process, start_broker, wait_until

BATCH = 500
THREADS = 4


Fact = tuple[str, str, float, dict[str, object]]


def facts(n: int) -> list[Fact]:
    """n call openings as the hub's outbox holds them: (id, type, occurred_at, data)."""
    data: dict[str, object] = {
        "call": "x" * 32,
        "device": "btn-001",
        "zone": "A",
        "table": "A1",
        "reason": "service",
    }
    return [(f"co-{i:012d}", "call.opened", 1.8e9 + i, data) for i in range(n)]


def events_for(n: int) -> list[dict[str, object]]:
    return [{"id": i, "type": t, "occurred_at": at, "data": d} for i, t, at, d in facts(n)]


def post_all(
    base: str, token: str, store: str, events: list[dict[str, object]]
) -> tuple[float, int]:
    batches = [events[i : i + BATCH] for i in range(0, len(events), BATCH)]

    def post(batch: list[dict[str, object]]) -> int:
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as c:
            r = c.post("/api/v1/ingest", json={"store": store, "events": batch})
            r.raise_for_status()
            return len(r.json()["stored"])

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        stored = sum(pool.map(post, batches))
    return time.perf_counter() - start, stored


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    n = args.events
    pg_dir = Path(tempfile.mkdtemp(dir="/tmp", prefix="bench-pg-"))
    work = Path(tempfile.mkdtemp(prefix="bench-uplink-"))
    pg = start_postgres(pg_dir, durable=True)
    try:
        cloud = run_cloud_process(pg.create_database("ingest"), work)
        base = cloud.base_url
        try:
            token = cloud.register("BENCH")
            events = events_for(n)
            first_s, stored = post_all(base, token, "BENCH", events)
            again_s, again = post_all(base, token, "BENCH", events)
        finally:
            cloud.stop()
        print(
            f"ingest: {stored} in {first_s:.1f} s; again {again} new in {again_s:.1f} s", flush=True
        )

        # The drain: a hub whose outbox holds n facts.
        cloud = run_cloud_process(pg.create_database("drain"), work)
        base, admin = cloud.base_url, cloud.admin_token
        inventory = generate_inventory("DRAIN", buttons=4)
        broker = start_broker(work / "mqtt", inventory)
        try:
            token = cloud.register("DRAIN")
            settings = hub_settings(broker, work / "hub", cloud_url=base, cloud_token=token)
            engine = make_engine(settings.db_path)
            sessions = init_db(engine)
            with sessions.begin() as session:
                outbox.enqueue(session, facts(n))
            engine.dispose()
            start = time.perf_counter()
            hub = run_hub_process(settings, work / "hub.log")
            with httpx.Client(base_url=hub.base_url, timeout=10) as c:
                c.post("/api/login", json={"name": STAFF, "pin": PIN}).raise_for_status()
                wait_until(
                    lambda: c.get("/api/stats").json()["outbox_backlog"] == 0,
                    timeout=600,
                    what="drained",
                )
            drain_s = time.perf_counter() - start
            hub.kill()
            with sqlite3.connect(settings.db_path) as db:
                left = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
            r = httpx.get(
                f"{base}/api/v1/stores/DRAIN/events",
                params={"limit": 1},
                headers={"Authorization": f"Bearer {admin}"},
            )
            r.raise_for_status()
        finally:
            cloud.stop()
            broker.stop()
        print(f"drain: {n} in {drain_s:.1f} s (hub start included), {left} left", flush=True)
    finally:
        pg.stop()
        shutil.rmtree(pg_dir, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)

    table = f"""## Uplink: cloud ingest into PostgreSQL, and a hub draining {n:,} queued facts

`.venv/bin/python -m bench.bench_uplink --events {n}` on this machine ({os.cpu_count()} cores), {time.strftime("%Y-%m-%d")}.
PostgreSQL 15 (Debian) with fsync on, `smartstore cloud --workers 2`, {THREADS} client threads, batches of {BATCH}.
Everything (PostgreSQL, both workers, the clients, later the hub) shares the 2 cores.

| measurement | result | target |
|---|---|---|
| ingest, {n:,} new events | {first_s:.1f} s = {stored / first_s:,.0f} events/s | ≥ 5,000/s |
| the same {n:,} again (all duplicates) | {again_s:.1f} s = {n / again_s:,.0f} events/s, {again} stored | 0 stored |
| hub drains a {n:,}-event outbox (from hub start) | {drain_s:.1f} s, {left} left | ≤ 60 s, 0 left |
"""
    print(table)
    if not args.no_write:
        write_section("uplink", table)


if __name__ == "__main__":
    main()

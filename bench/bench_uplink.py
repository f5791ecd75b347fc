"""The cloud's ingest into PostgreSQL, and a hub draining its outbox after an outage.

    .venv/bin/python -m bench.bench_uplink [--events 100000] [--deadline 300] [--no-write]

1. Ingest: `smartstore cloud --workers 2` on a durable PostgreSQL (fsync on); 4 client threads
   post distinct batches of 500 events until --events are stored; then the same events again
   (all duplicates: the cost of idempotency).
2. Drain: a hub whose outbox holds --events call openings (as after a long outage) starts with
   the cloud reachable; the time until its /api/stats shows an empty outbox (given up at
   --deadline, without failing there).

What is held is then observed, not assumed. After each part every event the cloud holds for
the store is read back from its PostgreSQL (`ingested_events`; the events endpoint has no
paging, at most 1,000 of the newest) and compared with what was sent, id by id: missing
(lost), unexpected, wrong (type, time or data not what was sent), duplicated (the same call
held more than once, counted by the call's uid in the data, so a repeat under another id would
show as well as one under the same id). The repeat's cost is checked by the rows it added
(database) besides what ingest answered. "Left" is the outbox's row count read from the hub's
SQLite file after the hub is killed, whatever the wait saw. Exits 1 if any of these is not 0
(bench/common.py).
"""

import argparse
import concurrent.futures
import os
import shutil
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.common import Table, Verdict, at_least, at_most, write_section, zero
from contract.inventory import generate_inventory
from contract.uplink import CallOpened, CallOpenedEvent
from edge.db import init_db, make_engine
from edge.uplink import service as outbox
from smartstore.cloud_service import run_cloud_process, start_postgres
from tests.support import PIN, STAFF, hub_settings, run_hub_process, start_broker

BATCH = 500
THREADS = 4
Held = tuple[str, str, float, Any]  # event id, type, occurred_at, data


def facts(n: int) -> list[CallOpenedEvent]:
    """n call openings, one call each, as the hub's outbox holds them."""
    return [
        CallOpenedEvent(
            id=f"co-{i:012d}",
            occurred_at=1.8e9 + i,
            data=CallOpened(
                call=f"{i:032x}",
                device="btn-001",
                zone="A",
                table="A1",
                reason="service",
                opened_at=1.8e9 + i,
            ),
        )
        for i in range(n)
    ]


def events_for(n: int) -> list[dict[str, Any]]:
    return [e.model_dump(mode="json") for e in facts(n)]


def post_all(base: str, token: str, store: str, events: list[dict[str, Any]]) -> tuple[float, int]:
    """Seconds to post them all, and how many ingest answered it stored."""
    batches = [events[i : i + BATCH] for i in range(0, len(events), BATCH)]

    def post(batch: list[dict[str, Any]]) -> int:
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


def held_by_cloud(database_url: str, store: str) -> list[Held]:
    """Every event the cloud's database holds for `store`."""
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as db:
        rows = db.execute(
            "SELECT event_id, type, occurred_at, data FROM ingested_events WHERE store_id = %s",
            (store,),
        ).fetchall()
    return [(str(e), str(t), float(at), data) for e, t, at, data in rows]


def compare(sent: Sequence[Mapping[str, Any]], held: Sequence[Held]) -> dict[str, int]:
    """What the cloud holds against what was sent, id by id."""
    by_id = {str(e["id"]): e for e in sent}
    ids = {e for e, _, _, _ in held}
    calls = Counter(str(data.get("call")) if isinstance(data, dict) else "" for *_, data in held)
    wrong = 0
    for event_id, kind, at, data in held:
        e = by_id.get(event_id)
        if e is not None and (kind, at, data) != (e["type"], e["occurred_at"], e["data"]):
            wrong += 1
    return {
        "held": len(held),
        "missing": len(by_id.keys() - ids),
        "unexpected": len(ids - by_id.keys()),
        "duplicated": sum(n - 1 for n in calls.values()),
        "wrong": wrong,
    }


def wait_drained(base_url: str, start: float, deadline_s: float) -> float:
    """Seconds from `start` until the hub's stats show an empty outbox; NaN if that did not
    happen within `deadline_s` (what is left is then counted, not raised)."""
    with httpx.Client(base_url=base_url, timeout=10) as c:
        c.post("/api/login", json={"name": STAFF, "pin": PIN}).raise_for_status()
        while (now := time.perf_counter()) - start < deadline_s:
            if c.get("/api/stats").json()["outbox_backlog"] == 0:
                return now - start
            time.sleep(0.05)
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--deadline", type=float, default=300.0, help="seconds to wait for the drain")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    n = args.events
    events = events_for(n)
    pg_dir = Path(tempfile.mkdtemp(dir="/tmp", prefix="bench-pg-"))
    work = Path(tempfile.mkdtemp(prefix="bench-uplink-"))
    pg = start_postgres(pg_dir, durable=True)
    try:
        database = pg.create_database("ingest")
        cloud = run_cloud_process(database, work)
        try:
            token = cloud.register("BENCH")
            first_s, stored = post_all(cloud.base_url, token, "BENCH", events)
            first = compare(events, held_by_cloud(database, "BENCH"))
            again_s, again = post_all(cloud.base_url, token, "BENCH", events)
            added = len(held_by_cloud(database, "BENCH")) - first["held"]
        finally:
            cloud.stop()
        print(
            f"ingest: {stored} in {first_s:.1f} s; again {again} new in {again_s:.1f} s; "
            f"held {first}, rows added by the repeat {added}",
            flush=True,
        )

        # The drain: a hub whose outbox holds n facts.
        database = pg.create_database("drain")
        cloud = run_cloud_process(database, work)
        inventory = generate_inventory("DRAIN", buttons=4)
        broker = start_broker(work / "mqtt", inventory)
        try:
            token = cloud.register("DRAIN")
            settings = hub_settings(
                broker, work / "hub", cloud_url=cloud.base_url, cloud_token=token
            )
            engine = make_engine(settings.db_path)
            sessions = init_db(engine)
            with sessions.begin() as session:
                outbox.enqueue(session, facts(n))
            engine.dispose()
            start = time.perf_counter()
            hub = run_hub_process(settings, work / "hub.log")
            drain_s = wait_drained(hub.base_url, start, args.deadline)
            hub.kill()
            with sqlite3.connect(settings.db_path) as db:
                left = int(db.execute("SELECT count(*) FROM outbox").fetchone()[0])
            drained = compare(events, held_by_cloud(database, "DRAIN"))
        finally:
            cloud.stop()
            broker.stop()
        print(f"drain: {n} in {drain_s:.1f} s (hub start included), {left} left, held {drained}")
    finally:
        pg.stop()
        shutil.rmtree(pg_dir, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)

    verdict = Verdict("bench_uplink")
    t = Table(
        verdict,
        [
            {
                "rate": n / first_s,
                "stored": stored,
                **{f"first_{k}": v for k, v in first.items()},
                "again_rate": n / again_s,
                "again": again,
                "added": added,
                "drain_s": drain_s,
                "left": left,
                **{f"drain_{k}": v for k, v in drained.items()},
            }
        ],
        first="measurement",
    )
    t.add(f"ingest: {n:,} new events (events/s)", "rate", at_least(5000, "≥ 5,000/s"))
    t.add("ingest: stored (ingest's answer)", "stored", worst="")
    t.add("ingest: held by the cloud (read back)", "first_held", worst="")
    t.add("ingest: missing from the cloud (lost)", "first_missing", zero())
    t.add("ingest: held twice (same call)", "first_duplicated", zero())
    t.add("ingest: held but never sent", "first_unexpected", zero())
    t.add("ingest: held wrong (type, time or data)", "first_wrong", zero())
    t.add(f"repeat: the same {n:,} again, all duplicates (events/s)", "again_rate")
    t.add("repeat: stored again (ingest's answer)", "again", zero())
    t.add("repeat: rows it added (database)", "added", zero())
    t.add(f"drain: a {n:,}-event outbox, from hub start (s)", "drain_s", at_most(60), fmt="{:.1f}")
    t.add("drain: left in the outbox (its SQLite file, hub killed)", "left", zero())
    t.add("drain: held by the cloud (read back)", "drain_held", worst="")
    t.add("drain: missing from the cloud (lost)", "drain_missing", zero())
    t.add("drain: held twice (same call)", "drain_duplicated", zero())
    t.add("drain: held but never sent", "drain_unexpected", zero())
    t.add("drain: held wrong (type, time or data)", "drain_wrong", zero())

    table = f"""## Uplink: cloud ingest into PostgreSQL, and a hub draining {n:,} queued facts

`.venv/bin/python -m bench.bench_uplink --events {n}` on this machine ({os.cpu_count()} cores), {time.strftime("%Y-%m-%d")}.
PostgreSQL 15 (Debian) with fsync on, `smartstore cloud --workers 2`, {THREADS} client threads, batches of {BATCH}.
Everything (PostgreSQL, both workers, the clients, later the hub) shares the 2 cores.
After each part every event the cloud holds for the store is read back from its database and
compared with what was sent, id by id; "left" is read from the hub's outbox after it is killed.

{t.markdown()}

{verdict.markdown()}
"""
    print(table)
    if not args.no_write:
        write_section("uplink", table)
    verdict.exit()


if __name__ == "__main__":
    main()

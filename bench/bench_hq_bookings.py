"""Bookings taken at HQ and decided by the store's hub: how long HQ's caller waits, on two
cloud workers sharing one PostgreSQL.

    .venv/bin/python -m bench.bench_hq_bookings [--runs 3] [--bookings 40] [--no-write]

`smartstore cloud --workers 2` on PostgreSQL (fsync on), a hub with mosquitto reaching
it over HTTP as from behind a store's NAT (its long poll held by one worker, HQ's callers
answered by either). Each run:

1. One at a time: --bookings bookings through `POST /api/v1/hq/stores/{store}/bookings`, each
   for its own slot: the time from the call to HQ's answer (the hub's booking in it).
2. A burst: --bookings callers at once for slots of capacity 2 (group A), 8 callers a slot:
   HQ's answers against the hub's own list of bookings afterwards. Booked must equal what the
   hub holds, and never more than the capacity per slot.
3. The hub stopped: one call, timed: HQ must say 503 "nothing was booked".

Exits 1 if a correctness target is missed (bench/common.py).
"""

import argparse
import concurrent.futures
import os
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from bench.common import Table, Verdict, at_most, median, percentile, print_run, write_section, zero
from contract.inventory import generate_inventory
from smartstore.cloud_service import HQ_TEST_PASSWORD, run_cloud_process, start_postgres
from tests.support import PIN, STAFF, hub_settings, run_hub_thread, start_broker, wait_until

STORE = "BOOK"
PER_SLOT = 8  # callers a slot in the burst; group A takes 2 a slot


def _hq(base_url: str, admin: str) -> httpx.Client:
    admin_client = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {admin}"})
    r = admin_client.post(
        "/api/v1/hq/users", json={"username": "bench", "password": HQ_TEST_PASSWORD}
    )
    assert r.status_code in (201, 409), r.text
    admin_client.close()
    client = httpx.Client(base_url=base_url, timeout=60)
    r = client.post("/api/v1/hq/login", json={"username": "bench", "password": HQ_TEST_PASSWORD})
    client.headers["Authorization"] = f"Bearer {r.json()['token']}"
    return client


def _slot(n: int) -> str:
    minutes = 10 * 60 + 15 * n
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _ask(request_id: str, day: str, slot: str) -> dict[str, object]:
    return {"request_id": request_id, "day": day, "slot": slot, "size": 2, "name": "bench",
            "phone": "13800138000"}  # fmt: skip


def one_run(
    run: int, hq: httpx.Client, hub_url: str, staff: httpx.Client, n: int
) -> dict[str, float]:
    url = f"/api/v1/hq/stores/{STORE}/bookings"
    day = time.strftime("%Y-%m-%d", time.localtime(time.time() + (1 + 2 * run) * 86400))
    burst_day = time.strftime("%Y-%m-%d", time.localtime(time.time() + (2 + 2 * run) * 86400))
    waits, codes = [], Counter[int]()
    for i in range(n):
        start = time.perf_counter()
        r = hq.post(url, json=_ask(f"run{run}-one-{i:04d}", day, _slot(i % 40)))
        waits.append(time.perf_counter() - start)
        codes[r.status_code] += 1

    def burst(i: int) -> int:
        ask = _ask(f"run{run}-burst-{i:04d}", burst_day, _slot(i // PER_SLOT))
        return hq.post(url, json=ask).status_code

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        burst_codes = Counter(pool.map(burst, range(n)))
    burst_s = time.perf_counter() - start
    held = staff.get(f"{hub_url}/api/bookings", params={"day": burst_day}).json()
    per_slot = Counter(b["slot"] for b in held)
    return {
        "p50_s": median(waits),
        "p95_s": percentile(waits, 95),
        "one_booked": codes[201],
        "one_not_booked": n - codes[201],
        "burst_s": burst_s,
        "burst_booked": burst_codes[201],
        "burst_refused": burst_codes[409],
        "burst_other": sum(v for k, v in burst_codes.items() if k not in (201, 409)),
        "held": len(held),
        "answer_vs_hub": abs(burst_codes[201] - len(held)),
        "over_capacity": sum(max(0, c - 2) for c in per_slot.values()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--bookings", type=int, default=40)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    pg_dir = Path(tempfile.mkdtemp(dir="/tmp", prefix="bench-pg-"))
    work = Path(tempfile.mkdtemp(prefix="bench-hqbook-"))
    pg = start_postgres(pg_dir, durable=True)
    runs: list[dict[str, float]] = []
    try:
        cloud = run_cloud_process(pg.create_database("hqbook"), work, workers=2)
        broker = start_broker(work / "mqtt", generate_inventory(STORE, buttons=2))
        try:
            token = cloud.register(STORE)
            settings = hub_settings(
                broker, work / "hub", cloud_url=cloud.base_url, cloud_token=token,
                bookings_per_client_per_minute=10_000,
            )  # fmt: skip
            hub = run_hub_thread(settings)
            hq = _hq(cloud.base_url, cloud.admin_token)
            staff = httpx.Client(timeout=30)
            r = staff.post(f"{hub.base_url}/api/login", json={"name": STAFF, "pin": PIN})
            assert r.status_code == 200, r.text
            probe = _ask("probe", time.strftime("%Y-%m-%d", time.localtime(time.time() + 86400)),
                         "21:45")  # fmt: skip

            def polling() -> bool:  # a fresh id each try: one HQ gave up on stays given up
                ask = {**probe, "request_id": f"probe-{time.monotonic_ns()}"}
                return hq.post(f"/api/v1/hq/stores/{STORE}/bookings", json=ask).status_code != 503

            wait_until(polling, timeout=90, what="the hub's long poll at HQ")
            for i in range(args.runs):
                runs.append(one_run(i, hq, hub.base_url, staff, args.bookings))
                print_run(i, runs[-1])
            hub.stop()
            start = time.perf_counter()
            away = hq.post(
                f"/api/v1/hq/stores/{STORE}/bookings",
                json=_ask("away-0001", time.strftime("%Y-%m-%d"), "23:30"),
            )
            away_s = time.perf_counter() - start
            for r_ in runs:
                r_["away_status"], r_["away_s"] = away.status_code, away_s
        finally:
            cloud.stop()
            broker.stop()
    finally:
        pg.stop()
        shutil.rmtree(pg_dir, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)

    n = args.bookings
    verdict = Verdict("bench_hq_bookings")
    t = Table(verdict, runs)
    t.add("one at a time: HQ's answer, p50 (s)", "p50_s", at_most(1.0, "≤ 1 s"), fmt="{:.2f}")
    t.add("one at a time: HQ's answer, p95 (s)", "p95_s", at_most(2.0, "≤ 2 s"), fmt="{:.2f}")
    t.add(f"one at a time: booked of {n}", "one_booked", worst="min")
    t.add("one at a time: not booked (hub up, room in every slot)", "one_not_booked", zero())
    t.add(f"burst: {n} callers at once, all answered (s)", "burst_s", fmt="{:.1f}")
    t.add("burst: booked (HQ's 201)", "burst_booked", worst="")
    t.add("burst: refused by the hub, slot full (409)", "burst_refused", worst="")
    t.add("burst: other answers (503, 202, 5xx)", "burst_other", zero())
    t.add("burst: HQ's booked vs the hub's list (difference)", "answer_vs_hub", zero())
    t.add("burst: bookings over a slot's capacity", "over_capacity", zero())
    t.add("hub stopped: HQ's answer (s)", "away_s", fmt="{:.1f}")
    t.add("hub stopped: status (503)", lambda r: float(r["away_status"] != 503), zero())

    table = f"""## Bookings taken at HQ, decided by the store's hub

`.venv/bin/python -m bench.bench_hq_bookings --runs {args.runs} --bookings {n}` on this machine
({os.cpu_count()} cores), {time.strftime("%Y-%m-%d")}. `smartstore cloud --workers 2` on
PostgreSQL (fsync on), a hub (in the bench's process) with mosquitto long-polling it over HTTP; everything
shares the cores. One at a time: each booking its own slot; the burst: {n} callers at once,
{PER_SLOT} a slot of capacity 2. The hub stopped: HQ answers after its wait (8 s), the hub having
polled a moment before (docs/waitlist.md, "HQ takes a booking").

{t.markdown()}

{verdict.markdown()}
"""
    print(table)
    if not args.no_write:
        write_section("hq_bookings", table)
    verdict.exit()


if __name__ == "__main__":
    main()

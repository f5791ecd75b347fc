"""Orders at a busy store: phones (HTTP) and kiosks (MQTT) together, kitchen tickets as bytes.

Offers a steady rate of orders for a while: three quarters from phones at the tables' QR pages,
one quarter from kiosks over MQTT. Measures order-accepted latency (phone: the POST's answer;
kiosk: publish → the hub's ack), order → kitchen-ticket-bytes latency (the last ticket of the
order received by a software printer on TCP), tickets lost and duplicated, and the diner
page's time to first byte and bytes of a first load (before pictures).
Run: .venv/bin/python -m bench.bench_orders
"""

import argparse
import os
import platform
import re
import secrets
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from bench.common import ProcessSampler, median, percentile, write_section
from devices.fleet import Fleet
from devices.kiosk import Kiosk, random_lines
from devices.virtual_printer import VirtualPrinter, decode_text
from edge.inventory import generate_inventory
from smartstore.menu import load_menu
from smartstore.samples import SAMPLE_MENU
from smartstore.wire import EventAck
from tests.support import PIN, STAFF, hub_settings, run_hub_process, start_broker

STATIONS = ("hot", "cold", "bar")
NO = re.compile(r"No\. (\d+)")


def page_load(base_url: str, path: str, token: str) -> tuple[float, int]:
    """Time to first byte of the diner page (ms) and bytes of its first load before pictures."""
    with httpx.Client(base_url=base_url, timeout=10) as c:
        t0 = time.perf_counter()
        with c.stream("GET", path) as r:
            ttfb = (time.perf_counter() - t0) * 1000
            page = r.read()
        assets = re.findall(rb'(?:src|href)="(/static/[^"]+)"', page)
        total = len(page) + sum(len(c.get(a.decode()).content) for a in assets)
        total += len(c.get(f"/api/diner/{token}/menu").content)
        total += len(c.get(f"/api/diner/{token}/orders").content)
    return ttfb, total


def measure(rate: float, seconds: float, tables: int, work: Path) -> dict[str, Any]:
    received: list[tuple[float, str]] = []
    lock = threading.Lock()

    def on_job(job: bytes) -> None:
        at = time.monotonic()
        with lock:
            received.append((at, decode_text(job)))

    printers = {s: VirtualPrinter(on_job=on_job).start() for s in STATIONS}
    inventory = generate_inventory("BENCH", tables=tables, kiosks=4, printers=3)
    inventory = inventory.model_copy(
        update={
            "devices": [
                d.model_copy(update={"address": f"127.0.0.1:{printers[d.station].port}"})
                if d.station
                else d
                for d in inventory.devices
            ]
        }
    )
    broker = start_broker(work / "mqtt", inventory)
    settings = hub_settings(broker, work / "hub", orders_per_table_per_minute=60)
    hub = run_hub_process(settings, work / "hub.log")
    menu = load_menu(SAMPLE_MENU)
    kiosk_sent: dict[str, float] = {}
    kiosk_acked: dict[str, tuple[float, int, float]] = {}  # id -> (latency, no, sent at)

    def on_ack(device: Any, ack: EventAck, latency_s: float) -> None:
        if ack.data and "no" in ack.data:
            kiosk_acked[ack.id] = (latency_s * 1000, int(ack.data["no"]), kiosk_sent[ack.id])

    fleet = Fleet(inventory, broker.accounts, "127.0.0.1", broker.port, on_ack=on_ack)
    fleet.start()
    fleet.wait_connected()
    staff = httpx.Client(base_url=hub.base_url, timeout=10)
    staff.post("/api/login", json={"name": STAFF, "pin": PIN})
    paths = [t["qr_path"] for t in staff.get("/api/tables").json()["tables"]]
    tokens = [p.rsplit("/", 1)[1] for p in paths]
    ttfb, page_bytes = page_load(hub.base_url, paths[0], tokens[0])

    phone_results: list[tuple[float, int, float, int]] = []  # latency ms, no, sent at, status
    expected: dict[int, int] = {}  # order no -> kitchen tickets it should print

    def stations_of(lines: list[Any]) -> int:
        return len({menu.by_id()[x.dish].station for x in lines})

    clients = threading.local()

    def phone_order(i: int) -> None:
        if not hasattr(clients, "c"):
            clients.c = httpx.Client(base_url=hub.base_url, timeout=30)
        lines = random_lines(menu)
        body = {"key": "k-" + secrets.token_hex(10), "lines": [x.model_dump() for x in lines]}
        t0 = time.monotonic()
        r = clients.c.post(f"/api/diner/{tokens[i % len(tokens)]}/orders", json=body)
        latency = (time.monotonic() - t0) * 1000
        no = r.json()["no"] if r.status_code == 201 else -1
        with lock:
            phone_results.append((latency, no, t0, r.status_code))
            if no > 0:
                expected[no] = stations_of(lines)

    kiosk_lines: dict[str, int] = {}

    def kiosk_order() -> None:
        kiosk = fleet.kiosks[len(kiosk_sent) % len(fleet.kiosks)]
        assert isinstance(kiosk, Kiosk)
        lines = random_lines(menu)
        event_id = kiosk.order(lines)
        kiosk_sent[event_id] = time.monotonic()
        kiosk_lines[event_id] = stations_of(lines)

    sampler = ProcessSampler(hub.proc.pid)
    sampler.start()
    start = time.monotonic()
    n = 0
    with ThreadPoolExecutor(max_workers=32) as pool:
        while (elapsed := time.monotonic() - start) < seconds:
            due = int(elapsed * rate)
            while n < due:
                if n % 4 == 3:
                    fleet.loop.call_soon_threadsafe(kiosk_order)
                else:
                    pool.submit(phone_order, n)
                n += 1
            time.sleep(0.005)
    time.sleep(5.0)  # the last tickets
    cpu = sampler.stop()
    for event_id, (_, no, _) in kiosk_acked.items():
        expected[no] = kiosk_lines[event_id]
    fleet.stop()
    staff.close()
    hub.kill()
    broker.stop()
    for p in printers.values():
        p.stop()

    arrivals: dict[int, list[float]] = {}
    for at, text in received:
        m = NO.search(text)
        if m:
            arrivals.setdefault(int(m.group(1)), []).append(at)
    sent_at = {no: t0 for _, no, t0, _ in phone_results if no > 0}
    sent_at.update({no: t0 for _, no, t0 in kiosk_acked.values()})
    to_ticket = [
        (max(arrivals[no]) - sent_at[no]) * 1000
        for no in expected
        if len(arrivals.get(no, [])) >= expected[no]
    ]
    counts = Counter({no: len(a) for no, a in arrivals.items()})
    accepted = [lat for lat, no, _, _ in phone_results if no > 0]
    accepted += [lat for lat, _, _ in kiosk_acked.values()]
    return {
        "offered": n,
        "phones_ok": sum(1 for r in phone_results if r[3] == 201),
        "phones_failed": sum(1 for r in phone_results if r[3] != 201),
        "kiosk_acked": len(kiosk_acked),
        "kiosk_unacked": len(kiosk_sent) - len(kiosk_acked),
        "tickets_expected": sum(expected.values()),
        "tickets_lost": sum(max(0, expected[no] - counts.get(no, 0)) for no in expected),
        "tickets_duplicated": sum(max(0, counts[no] - expected.get(no, 0)) for no in counts),
        "accept_p50": median(accepted),
        "accept_p99": percentile(accepted, 99),
        "ticket_p50": median(to_ticket),
        "ticket_p99": percentile(to_ticket, 99),
        "ttfb_ms": ttfb,
        "page_kb": page_bytes / 1024,
        "cpu": cpu,
        "rss_mb": sampler.peak_rss / 2**20,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rate", type=float, default=20.0, help="orders/s, phones and kiosks")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--tables", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    runs = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            r = measure(args.rate, args.seconds, args.tables, Path(tmp))
        runs.append(r)
        print(
            f"run {i + 1}: "
            + ", ".join(
                f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()
            ),
            flush=True,
        )

    def med(key: str) -> float:
        return median([float(r[key]) for r in runs])

    def worst(key: str) -> float:
        return max(float(r[key]) for r in runs)

    table = f"""## Orders: {args.rate:.0f} orders/s for {args.seconds:.0f} s (phones and kiosks), tickets to TCP printers

`.venv/bin/python -m bench.bench_orders --rate {args.rate:.0f} --seconds {args.seconds:.0f} --runs {args.runs}`
on this machine ({os.cpu_count()} cores, Python {platform.python_version()}), {time.strftime("%Y-%m-%d")}.
The hub as `smartstore hub` with the sample menu, {args.tables} tables, 4 kiosks, 3 stations each
with a software ESC/POS printer on TCP (in the benchmark's process). Three quarters of the orders
from phones (HTTP, 32 concurrent clients), one quarter from kiosks over MQTT. Accepted latency:
the phone's POST answer, or kiosk publish → the hub's ack. Order → ticket: the order sent → the
last of its kitchen tickets received in full by its printer. Medians of {args.runs} runs.

| metric | median | worst | target |
|---|---|---|---|
| orders offered | {med("offered"):.0f} | | {args.rate * args.seconds:.0f} |
| phone orders accepted / failed | {med("phones_ok"):.0f} / {med("phones_failed"):.0f} | {worst("phones_failed"):.0f} failed | 0 failed |
| kiosk orders acked / unanswered | {med("kiosk_acked"):.0f} / {med("kiosk_unacked"):.0f} | {worst("kiosk_unacked"):.0f} unanswered | 0 |
| kitchen tickets expected | {med("tickets_expected"):.0f} | | |
| tickets lost / duplicated | {med("tickets_lost"):.0f} / {med("tickets_duplicated"):.0f} | {worst("tickets_lost"):.0f} / {worst("tickets_duplicated"):.0f} | 0 / 0 |
| order accepted p50 / p99 (ms) | {med("accept_p50"):.1f} / {med("accept_p99"):.1f} | {worst("accept_p99"):.1f} | p99 ≤ 100 |
| order → ticket bytes p50 / p99 (ms) | {med("ticket_p50"):.1f} / {med("ticket_p99"):.1f} | {worst("ticket_p99"):.1f} | p99 ≤ 300 |
| diner page time to first byte (ms) | {med("ttfb_ms"):.1f} | {worst("ttfb_ms"):.1f} | |
| diner page first load before pictures (KB) | {med("page_kb"):.1f} | | ≤ 150 |
| hub CPU (% of one core) | {med("cpu"):.0f} | {worst("cpu"):.0f} | |
| hub peak RSS (MB) | {med("rss_mb"):.0f} | {worst("rss_mb"):.0f} | |
"""
    print(table)
    if not args.no_write:
        write_section("orders", table)


if __name__ == "__main__":
    main()

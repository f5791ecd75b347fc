"""Orders at a busy store: phones (HTTP) and kiosks (MQTT) together, kitchen tickets as bytes.

Offers a steady rate of orders for a while: three quarters from phones at the tables' QR pages,
one quarter from kiosks over MQTT. Measures order-accepted latency (phone: the POST's answer;
kiosk: publish → the hub's ack), order → kitchen-ticket-bytes latency (the last ticket of the
order received by a software printer on TCP), and the diner page's time to first byte and bytes
of a first load (before pictures).

Every order carries a tag of the benchmark's own in its order note, which the hub prints on
each of its kitchen tickets: the tickets the printers received are matched to every order
sent, answered or not. Lost: an order and station it needs with no ticket; duplicated: more
than one ticket for an order and station (not counting tickets marked REPRINT); unexpected: a
ticket for no order sent or for a station the order does not need; wrong: not that station's
lines, or not the number the hub answered. Orders refused or never answered count too. Exits 1
if any of these is not 0 (bench/common.py).

    .venv/bin/python -m bench.bench_orders [--rate 20] [--seconds 60] [--runs 3] [--no-write]
"""

import argparse
import functools
import os
import platform
import re
import secrets
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    ProcessSampler,
    Table,
    Verdict,
    at_least,
    at_most,
    median,
    percentile,
    print_run,
    write_section,
    zero,
)
from contract import EventAck, KioskOrderEvent, KioskOrderLine, encode
from contract.const import AckStatus
from contract.inventory import generate_inventory
from contract.menu import load_menu
from devices.fleet import Fleet
from devices.kiosk import Kiosk, random_lines
from devices.virtual_printer import VirtualPrinter, decode_text
from smartstore.samples import SAMPLE_MENU
from tests.support import PIN, STAFF, hub_settings, run_hub_process, start_broker

STATIONS = ("hot", "cold", "bar")
NO = re.compile(r"No\. (\d+)")
TAG = re.compile(r"Order note: (bench-\d+)")  # each order's own tag, printed on its tickets
DISH = re.compile(r"^(\d+) x (.+)$", re.M)
REPRINT = "REPRINT"
SETTLE_S = 30.0  # after the last order: the longest wait for acks and tickets
LATE_S = 2.0  # then this long for tickets printed twice to show up

Lines = Counter[tuple[int, str]]  # (qty, dish name as printed)


@dataclass
class SentOrder:
    """One order as the benchmark sent it, and what the hub answered."""

    source: str  # "phone" | "kiosk"
    at: float  # monotonic, when sent
    stations: dict[str, Lines]  # the tickets it needs: station -> the lines printed there
    answer: str = "no answer"  # "accepted", or the refusal (HTTP status, "rejected")
    no: int | None = None  # the number the hub answered with
    accepted_ms: float | None = None


@dataclass(frozen=True)
class Printed:
    at: float  # monotonic, when the printer had the whole job
    station: str  # of the printer that received it
    text: str


def tally_tickets(orders: Mapping[str, SentOrder], printed: Sequence[Printed]) -> dict[str, Any]:
    """Every ticket matched to the order it names (by the tag in its order note), whatever the
    hub answered that order: each order sent must yield one ticket per station it needs, with
    that station's lines and the number the hub answered (when it answered)."""
    originals: Counter[tuple[str, str]] = Counter()  # (tag, station) -> tickets not REPRINT
    first: dict[tuple[str, str], float] = {}
    unexpected = wrong = reprints = 0
    for p in printed:
        m = TAG.search(p.text)
        tag = m.group(1) if m else ""
        order = orders.get(tag)
        if order is None or p.station not in order.stations:
            unexpected += 1  # no order of ours, or a station the order does not need
            continue
        if REPRINT in p.text:
            reprints += 1  # a reprint says so: not a duplicate, but the ticket is there
        else:
            originals[(tag, p.station)] += 1
        first.setdefault((tag, p.station), p.at)
        lines = Counter((int(q), name.strip()) for q, name in DISH.findall(p.text))
        no = NO.search(p.text)
        if lines != order.stations[p.station] or (
            order.no is not None and (no is None or int(no.group(1)) != order.no)
        ):
            wrong += 1
    needed = [(tag, st) for tag, o in orders.items() for st in o.stations]
    missing = [k for k in needed if k not in first]
    to_ticket = [
        (max(first[(tag, st)] for st in o.stations) - o.at) * 1000
        for tag, o in orders.items()
        if all((tag, st) in first for st in o.stations)
    ]
    return {
        "tickets_expected": len(needed),
        "orders_lost": len({tag for tag, _ in missing}),
        "tickets_lost": len(missing),
        "tickets_duplicated": sum(n - 1 for n in originals.values() if n > 1),
        "tickets_unexpected": unexpected,
        "tickets_wrong": wrong,
        "reprints": reprints,
        "ticket_p50": median(to_ticket),
        "ticket_p99": percentile(to_ticket, 99),
    }


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
    printed: list[Printed] = []
    have: set[tuple[str, str]] = set()  # (tag, station) with a ticket so far
    lock = threading.Lock()

    def printer_of(station: str) -> Callable[[bytes], None]:
        def on_job(job: bytes) -> None:
            at = time.monotonic()
            text = decode_text(job)
            with lock:
                printed.append(Printed(at, station, text))
                have.update((tag, station) for tag in TAG.findall(text))

        return on_job

    printers = {s: VirtualPrinter(on_job=printer_of(s)).start() for s in STATIONS}
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
    dishes = menu.by_id()
    orders: dict[str, SentOrder] = {}  # tag -> the order
    kiosk_tags: dict[str, str] = {}  # kiosk event id -> tag

    def on_ack(device: Any, ack: EventAck, latency_s: float) -> None:
        order = orders[kiosk_tags[ack.id]]
        if ack.status is AckStatus.OK and ack.data and "no" in ack.data:
            order.answer, order.no = "accepted", int(ack.data["no"])
            order.accepted_ms = latency_s * 1000
        else:
            order.answer = "rejected"

    fleet = Fleet(inventory, broker.accounts, "127.0.0.1", broker.port, on_ack=on_ack)
    fleet.start()
    fleet.wait_connected()
    staff = httpx.Client(base_url=hub.base_url, timeout=10)
    staff.post("/api/login", json={"name": STAFF, "pin": PIN}).raise_for_status()
    paths = [t["qr_path"] for t in staff.get("/api/tables").json()["tables"]]
    tokens = [p.rsplit("/", 1)[1] for p in paths]
    ttfb, page_bytes = page_load(hub.base_url, paths[0], tokens[0])

    def needs(lines: list[KioskOrderLine]) -> dict[str, Lines]:
        stations: dict[str, Lines] = {}
        for x in lines:
            dish = dishes[x.dish]
            stations.setdefault(dish.station, Counter())[(x.qty, dish.name_zh)] += 1
        return stations

    clients = threading.local()

    def phone_order(i: int, tag: str) -> None:
        if not hasattr(clients, "c"):
            clients.c = httpx.Client(base_url=hub.base_url, timeout=30)
        lines = random_lines(menu)
        body = {
            "key": "k-" + secrets.token_hex(10),
            "lines": [x.model_dump() for x in lines],
            "note": tag,
        }
        t0 = time.monotonic()
        with lock:
            orders[tag] = order = SentOrder("phone", t0, needs(lines))
        try:
            r = clients.c.post(f"/api/diner/{tokens[i % len(tokens)]}/orders", json=body)
        except httpx.HTTPError:
            return  # no answer; its tickets are still expected
        if r.status_code == 201:
            order.answer, order.no = "accepted", int(r.json()["no"])
            order.accepted_ms = (time.monotonic() - t0) * 1000
        else:
            order.answer = f"HTTP {r.status_code}"

    def kiosk_order(n: int, tag: str) -> None:  # on the fleet's loop
        kiosk = fleet.kiosks[n % len(fleet.kiosks)]
        assert isinstance(kiosk, Kiosk)
        lines = random_lines(menu)
        event_id = kiosk.next_event_id()
        with lock:
            kiosk_tags[event_id] = tag
            orders[tag] = SentOrder("kiosk", time.monotonic(), needs(lines))
        event = KioskOrderEvent(id=event_id, type="order", lines=lines, note=tag)
        kiosk.send_event(encode(event), event_id)

    def settled() -> bool:
        with lock:
            wanted = {(tag, st) for tag, o in list(orders.items()) for st in o.stations}
            return fleet.unacknowledged() == 0 and wanted <= have

    sampler = ProcessSampler(hub.proc.pid)
    sampler.start()
    start = time.monotonic()
    n = 0
    with ThreadPoolExecutor(max_workers=32) as pool:
        while (elapsed := time.monotonic() - start) < seconds:
            due = int(elapsed * rate)
            while n < due:
                tag = f"bench-{n:06d}"
                if n % 4 == 3:
                    fleet.loop.call_soon_threadsafe(functools.partial(kiosk_order, n // 4, tag))
                else:
                    pool.submit(phone_order, n, tag)
                n += 1
            time.sleep(0.005)
    deadline = time.monotonic() + SETTLE_S
    while not settled() and time.monotonic() < deadline:
        time.sleep(0.1)
    cpu = sampler.stop()
    time.sleep(LATE_S)
    fleet.stop()
    staff.close()
    hub.kill()
    broker.stop()
    for p in printers.values():
        p.stop()

    with lock:
        sent, jobs = dict(orders), list(printed)
    phones = [o for o in sent.values() if o.source == "phone"]
    kiosks = [o for o in sent.values() if o.source == "kiosk"]
    accepted = [o.accepted_ms for o in sent.values() if o.accepted_ms is not None]
    return {
        "offered": n,
        "sent": len(sent),
        "phones_ok": sum(1 for o in phones if o.answer == "accepted"),
        "phones_failed": sum(1 for o in phones if o.answer != "accepted"),
        "kiosk_acked": sum(1 for o in kiosks if o.answer == "accepted"),
        "kiosk_failed": sum(1 for o in kiosks if o.answer != "accepted"),
        **tally_tickets(sent, jobs),
        "accept_p50": median(accepted),
        "accept_p99": percentile(accepted, 99),
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
        print_run(i, r)

    offered = args.rate * args.seconds
    verdict = Verdict("bench_orders")
    t = Table(verdict, runs)
    t.add("orders offered", "offered", at_least(offered - 1, f"{offered:,.0f}"))
    t.add("phone orders accepted", "phones_ok", worst="min")
    t.add("phone orders refused or unanswered", "phones_failed", zero())
    t.add("kiosk orders acked", "kiosk_acked", worst="min")
    t.add("kiosk orders rejected or unanswered", "kiosk_failed", zero())
    t.add("kitchen tickets expected (order × station it needs)", "tickets_expected", worst="")
    t.add("orders lost (sent, a ticket missing)", "orders_lost", zero())
    t.add("tickets lost (order × station with no ticket)", "tickets_lost", zero())
    t.add(
        "tickets duplicated (order × station printed twice, not REPRINT)",
        "tickets_duplicated",
        zero(),
    )
    t.add("tickets for no order sent, or a station it does not need", "tickets_unexpected", zero())
    t.add(
        "tickets wrong (not the station's lines, or not the number answered)",
        "tickets_wrong",
        zero(),
    )
    t.add("tickets marked REPRINT", "reprints")
    t.add("order accepted p50 (ms)", "accept_p50", fmt="{:.1f}")
    t.add("order accepted p99 (ms)", "accept_p99", at_most(100), fmt="{:.1f}")
    t.add("order → ticket bytes p50 (ms)", "ticket_p50", fmt="{:.1f}")
    t.add("order → ticket bytes p99 (ms)", "ticket_p99", at_most(300), fmt="{:.1f}")
    t.add("diner page time to first byte (ms)", "ttfb_ms", fmt="{:.1f}")
    t.add("diner page first load before pictures (KB)", "page_kb", at_most(150), fmt="{:.1f}")
    t.add("hub CPU (% of one core)", "cpu")
    t.add("hub peak RSS (MB)", "rss_mb")

    table = f"""## Orders: {args.rate:.0f} orders/s for {args.seconds:.0f} s (phones and kiosks), tickets to TCP printers

`.venv/bin/python -m bench.bench_orders --rate {args.rate:.0f} --seconds {args.seconds:.0f} --runs {args.runs}`
on this machine ({os.cpu_count()} cores, Python {platform.python_version()}), {time.strftime("%Y-%m-%d")}.
The hub as `smartstore hub` with the sample menu, {args.tables} tables, 4 kiosks, 3 stations each
with a software ESC/POS printer on TCP (in the benchmark's process). Three quarters of the orders
from phones (HTTP, 32 concurrent clients), one quarter from kiosks over MQTT. Accepted latency:
the phone's POST answer, or kiosk publish → the hub's ack. Order → ticket: the order sent → the
last of its kitchen tickets received in full by its printer. Every order carries its own tag in
its order note, printed on its tickets: each ticket is matched to the order sent (answered or
not) and checked against it (station, lines, number). Medians of {args.runs} runs; correctness
targets (0) hold in every run, performance targets are judged on the median.

{t.markdown()}

{verdict.markdown()}
"""
    print(table)
    if not args.no_write:
        write_section("orders", table)
    verdict.exit()


if __name__ == "__main__":
    main()

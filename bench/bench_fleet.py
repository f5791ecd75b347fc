"""A store of 1,000 devices heartbeating at 1 Hz while buttons press at 200/s.

    .venv/bin/python -m bench.bench_fleet [--devices 1000] [--rate 200] [--seconds 60]

Processes: the project's mosquitto, the hub (`smartstore hub`, heartbeat timeout 3 s), all the
devices on one DeviceLoop, a board client on the WebSocket. Halfway through, some devices hang
(they keep their connection, so no Will fires: only silence tells). Reports press-to-board
latency, hub CPU and RSS, and how long the board took to show each hung device offline.
"""

import argparse
import json
import multiprocessing as mp
import os
import platform
import random
import resource
import sqlite3
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.board_client import run_board_client
from bench.common import ProcessSampler, median, percentile, write_section
from edge.inventory import Inventory, generate_inventory
from tests.support import hub_settings, run_hub_process, start_broker

HEARTBEAT_S = 1.0
SILENT_AFTER_S = 3.0


def store_of(devices: int) -> Inventory:
    """Mostly buttons and tables, as a big store would be."""
    kiosks, screens, printers = devices // 100, devices // 50, devices // 50
    tables = devices // 5
    buttons = devices - tables - kiosks - screens - printers
    return generate_inventory(
        "FLEET", tables=tables, buttons=buttons, kiosks=kiosks, screens=screens, printers=printers
    )


def run_fleet(
    inventory_json: str,
    accounts: dict[str, str],
    port: int,
    rate: float,
    seconds: float,
    hang: int,
    out: str,
    ready: Any,
    go: Any,
) -> None:
    from devices.fleet import Fleet

    inventory = Inventory.model_validate_json(inventory_json)
    fleet = Fleet(inventory, accounts, "127.0.0.1", port, telemetry_every_s=HEARTBEAT_S)
    sent: list[tuple[str, float]] = []
    hung: dict[str, dict[str, float]] = {}
    finished = threading.Event()
    fleet.start()
    fleet.wait_connected(180)
    ready.set()
    go.wait()
    fleet.press_steady(
        rate, seconds, on_press=lambda e, t: sent.append((e, t)), on_done=finished.set
    )

    def hang_some() -> None:
        quiet = [d for d in fleet.devices.values() if d not in fleet.buttons]
        for device in random.sample(quiet, min(hang, len(quiet))):
            device.freeze()
            hung[device.id] = {"at": time.time(), "last_heartbeat": device.last_report_at}

    fleet.loop.call_soon_threadsafe(lambda: fleet.loop.call_later(seconds / 2, hang_some))
    finished.wait(seconds + 60)
    deadline = time.monotonic() + 60
    while fleet.unacknowledged() and time.monotonic() < deadline:
        time.sleep(0.2)
    unacked = fleet.unacknowledged()
    fleet.stop()
    Path(out).write_text(json.dumps({"sent": sent, "hung": hung, "unacked": unacked}))


def measure(devices: int, rate: float, seconds: float, hang: int, work: Path) -> dict[str, Any]:
    inventory = store_of(devices)
    broker = start_broker(work / "mqtt", inventory)
    settings = hub_settings(
        broker, work / "hub", device_silent_after_s=SILENT_AFTER_S, call_urgent_after_s=3600
    )
    hub = run_hub_process(settings, work / "hub.log")
    ctx = mp.get_context("spawn")
    ready_f, go, ready_w, stop_w = ctx.Event(), ctx.Event(), ctx.Event(), ctx.Event()
    sim = ctx.Process(
        target=run_fleet,
        args=(
            inventory.model_dump_json(),
            broker.accounts,
            broker.port,
            rate,
            seconds,
            hang,
            str(work / "fleet.json"),
            ready_f,
            go,
        ),
    )
    board = ctx.Process(
        target=run_board_client, args=(hub.base_url, str(work / "board.json"), ready_w, stop_w)
    )
    try:
        sim.start()
        if not ready_f.wait(240):
            raise RuntimeError("the fleet did not connect")
        time.sleep(3)  # every device has sent a heartbeat or two
        board.start()
        if not ready_w.wait(30):
            raise RuntimeError("the board client did not connect")
        sampler = ProcessSampler(hub.proc.pid)
        sampler.start()
        go.set()
        sim.join(seconds + 180)
        cpu = sampler.stop()
        time.sleep(1.0)
        stop_w.set()
        board.join(30)
    finally:
        for p in (sim, board):
            if p.is_alive():
                p.kill()
        hub.kill()
        broker.stop()
    fleet = json.loads((work / "fleet.json").read_text())
    seen = json.loads((work / "board.json").read_text())
    sent = dict(fleet["sent"])
    first: dict[str, float] = {}
    for eid, t in seen["events"]:
        first.setdefault(eid, t)
    latencies = [(first[e] - t) * 1000 for e, t in sent.items() if e in first]
    with sqlite3.connect(settings.db_path) as db:
        stored = {r[0] for r in db.execute("SELECT event_id FROM call_events")}
        dup = db.execute(
            "SELECT count(*) - count(DISTINCT device_id || event_id) FROM call_events"
        ).fetchone()[0]
    offline = seen["offline"]
    from_death = [offline[d] - h["at"] for d, h in fleet["hung"].items() if d in offline]
    from_beat = [offline[d] - h["last_heartbeat"] for d, h in fleet["hung"].items() if d in offline]
    return {
        "devices": len(inventory.devices),
        "sent": len(sent),
        "lost": sum(1 for e in sent if e not in stored),
        "duplicated": dup,
        "unacked": fleet["unacked"],
        "p50": median(latencies),
        "p99": percentile(latencies, 99),
        "cpu": cpu,
        "rss_mb": sampler.peak_rss / 2**20,
        "hung": len(fleet["hung"]),
        "shown_offline": len(from_death),
        "offline_from_death_max": max(from_death, default=float("nan")),
        "offline_from_heartbeat_max": max(from_beat, default=float("nan")),
        "offline_from_heartbeat_median": median(from_beat),
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--hang", type=int, default=10, help="devices that hang halfway through")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))  # 1,000 sockets

    runs = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            r = measure(args.devices, args.rate, args.seconds, args.hang, Path(tmp))
        runs.append(r)
        print(
            f"run {i + 1}: "
            + ", ".join(
                f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()
            ),
            flush=True,
        )

    def med(key: str) -> float:
        return median([float(r[key]) for r in runs])

    def worst(key: str) -> float:
        return max(float(r[key]) for r in runs)

    bound = SILENT_AFTER_S + 2
    table = f"""## Device fleet: {med("devices"):.0f} devices heartbeating at {1 / HEARTBEAT_S:.0f} Hz, {args.rate:.0f} presses/s for {args.seconds:.0f} s

`.venv/bin/python -m bench.bench_fleet --devices {args.devices} --rate {args.rate:.0f} --seconds {args.seconds:.0f} --runs {args.runs}`
on this machine ({os.cpu_count()} cores, Python {platform.python_version()}), {time.strftime("%Y-%m-%d")}.
All devices on one DeviceLoop in one process (each with its own MQTT connection and credentials,
through the generated ACL), the hub as `smartstore hub` with a {SILENT_AFTER_S:.0f} s heartbeat timeout,
one board client on the WebSocket. {args.hang} devices hang halfway through (connection kept, so no
Will: only silence shows them dead). Medians of {args.runs} runs; "worst" is the worst run.

| metric | median | worst | target |
|---|---|---|---|
| presses sent | {med("sent"):.0f} | | |
| lost / duplicated / unacknowledged | {med("lost"):.0f} / {med("duplicated"):.0f} / {med("unacked"):.0f} | {worst("lost"):.0f} / {worst("duplicated"):.0f} / {worst("unacked"):.0f} | 0 / 0 / 0 |
| press → board p50 (ms) | {med("p50"):.1f} | {worst("p50"):.1f} | |
| press → board p99 (ms) | {med("p99"):.1f} | {worst("p99"):.1f} | ≤ 100 |
| hub CPU (% of one core) | {med("cpu"):.0f} | {worst("cpu"):.0f} | |
| hub peak RSS (MB) | {med("rss_mb"):.0f} | {worst("rss_mb"):.0f} | ≤ 200 |
| hung devices shown offline | {med("shown_offline"):.0f} of {med("hung"):.0f} | {min(r["shown_offline"] for r in runs)} | all |
| last heartbeat → shown offline, median / max (s) | {med("offline_from_heartbeat_median"):.2f} / {med("offline_from_heartbeat_max"):.2f} | {worst("offline_from_heartbeat_max"):.2f} | ≤ {bound:.0f} (timeout + 2 s) |
| hang → shown offline, max (s) | {med("offline_from_death_max"):.2f} | {worst("offline_from_death_max"):.2f} | ≤ {bound:.0f} |
"""
    print(table)
    if not args.no_write:
        write_section("fleet", table)


if __name__ == "__main__":
    main()

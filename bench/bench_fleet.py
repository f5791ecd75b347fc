"""A store of 1,000 devices heartbeating at 1 Hz while buttons press at 200/s.

    .venv/bin/python -m bench.bench_fleet [--devices 1000] [--rate 200] [--seconds 60]

Processes: the project's mosquitto, the hub (`smartstore hub`, heartbeat timeout 3 s), all the
devices on one DeviceLoop, a board client on the WebSocket. Halfway through, some devices hang
(they keep their connection, so no Will fires: only silence tells). Reports where each
press ended up (bench/presses.py), press-to-board latency, hub CPU and RSS, and how long the
board took to show each hung device offline (and any device it showed offline that had not
hung), each against its target. Exits 1 if a correctness figure is not 0 (bench/common.py).
"""

import argparse
import json
import multiprocessing as mp
import os
import platform
import random
import resource
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.board_client import run_board_client
from bench.common import (
    ProcessSampler,
    Table,
    Verdict,
    at_most,
    median,
    print_run,
    write_section,
    zero,
)
from bench.presses import press_rows, tally_presses
from contract.inventory import Inventory, generate_inventory
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
    stopping = time.time()  # from here devices go offline because they are told to
    fleet.stop()
    Path(out).write_text(
        json.dumps({"sent": sent, "hung": hung, "unacked": unacked, "stopping": stopping})
    )


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
    board = json.loads((work / "board.json").read_text())
    sent: dict[str, float] = dict(fleet["sent"])
    # Shown offline while the fleet still ran: once it stops, every device goes offline.
    offline = {d: at for d, at in board["offline"].items() if at < fleet["stopping"]}
    hung: dict[str, dict[str, float]] = fleet["hung"]
    from_death = [offline[d] - h["at"] for d, h in hung.items() if d in offline]
    from_beat = [offline[d] - h["last_heartbeat"] for d, h in hung.items() if d in offline]
    return {
        **tally_presses(sent, board, settings.db_path),
        "devices": len(inventory.devices),
        "unacked": fleet["unacked"],
        "cpu": cpu,
        "rss_mb": sampler.peak_rss / 2**20,
        "hung": len(hung),
        "hung_not_shown": len(hung) - len(from_death),
        "false_offline": sum(1 for d in offline if d not in hung),  # shown dead, was not
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
        print_run(i, r)

    bound = SILENT_AFTER_S + 2
    verdict = Verdict("bench_fleet")
    t = Table(verdict, runs)
    t.add("presses sent", "sent", worst="min")
    press_rows(t, p99_ms=100)
    t.add("hub CPU (% of one core)", "cpu")
    t.add("hub peak RSS (MB)", "rss_mb", at_most(200))
    t.add("devices hung", "hung", worst="")
    t.add("hung devices not shown offline while the fleet ran", "hung_not_shown", zero())
    t.add("devices shown offline that had not hung (false alarms)", "false_offline", zero())
    t.add(
        "last heartbeat → shown offline, median (s)", "offline_from_heartbeat_median", fmt="{:.2f}"
    )
    t.add(
        "last heartbeat → shown offline, max (s)",
        "offline_from_heartbeat_max",
        at_most(bound, f"≤ {bound:.0f} (timeout + 2 s)"),
        fmt="{:.2f}",
    )
    t.add("hang → shown offline, max (s)", "offline_from_death_max", at_most(bound), fmt="{:.2f}")

    devices = median([float(r["devices"]) for r in runs])
    table = f"""## Device fleet: {devices:.0f} devices heartbeating at {1 / HEARTBEAT_S:.0f} Hz, {args.rate:.0f} presses/s for {args.seconds:.0f} s

`.venv/bin/python -m bench.bench_fleet --devices {args.devices} --rate {args.rate:.0f} --seconds {args.seconds:.0f} --runs {args.runs}`
on this machine ({os.cpu_count()} cores, Python {platform.python_version()}), {time.strftime("%Y-%m-%d")}.
All devices on one DeviceLoop in one process (each with its own MQTT connection and credentials,
through the generated ACL), the hub as `smartstore hub` with a {SILENT_AFTER_S:.0f} s heartbeat timeout,
one board client on the WebSocket. {args.hang} devices hang halfway through (connection kept, so no
Will: only silence shows them dead). Presses are counted per press id and per button in the
hub's database (`call_events`, `calls.presses`) and on the board; offline as the board showed it.
Medians of {args.runs} runs; "worst" is the worst run. Correctness targets (0) hold in every
run; performance targets are judged on the median.

{t.markdown()}

{verdict.markdown()}
"""
    print(table)
    if not args.no_write:
        write_section("fleet", table)
    verdict.exit()


if __name__ == "__main__":
    main()

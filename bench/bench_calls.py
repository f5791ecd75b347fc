"""Call-button presses at QoS 1 through the real broker into the hub and out to the board.

    .venv/bin/python -m bench.bench_calls [--buttons 200] [--rate 2000] [--seconds 30]

Runs, each in its own process: the project's mosquitto, the hub (`smartstore hub`), the
simulated buttons (one DeviceLoop) and a board client on the WebSocket. Reports where
each press ended up (bench/presses.py: lost, duplicated, short, per press id and per button, from
the hub's database and from the board), press-to-board latency, hub CPU and RSS, each against
its target (met or MISSED); then the same offered load into a naive paho QoS 1 subscriber on a
default mosquitto, for comparison. Writes the tables to docs/benchmarks.md (not with
--no-write). Exits 1 if a correctness figure is not 0 (bench/common.py).
"""

import argparse
import json
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.board_client import run_board_client
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
)
from bench.presses import press_rows, tally_presses
from contract.inventory import demo_inventory
from contract.net import free_port
from provisioning.broker import mosquitto_binary, wait_for_port
from tests.support import hub_settings, run_hub_process, start_broker

# --- the simulated buttons (own process) -----------------------------------------------------


def run_buttons(
    inventory_json: str,
    accounts: dict[str, str],
    port: int,
    rate: float,
    seconds: float,
    out: str,
    ready: Any,
    go: Any,
) -> None:
    from contract.inventory import Inventory
    from devices.fleet import Fleet

    inventory = Inventory.model_validate_json(inventory_json)
    fleet = Fleet(inventory, accounts, "127.0.0.1", port, telemetry_every_s=30)
    sent: list[tuple[str, float]] = []
    finished = {"flag": False}
    fleet.start()
    fleet.wait_connected(60)
    ready.set()
    go.wait()
    fleet.press_steady(
        rate,
        seconds,
        on_press=lambda eid, t: sent.append((eid, t)),
        on_done=lambda: finished.update(flag=True),
    )
    while not finished["flag"]:
        time.sleep(0.1)
    Path(out).write_text(json.dumps({"sent": sent}))  # before waiting: the naive run ends here
    deadline = time.monotonic() + 60
    while fleet.unacknowledged() and time.monotonic() < deadline:
        time.sleep(0.2)
    resent = sum(d.resent for d in fleet.devices.values())
    acked = sum(d.acked for d in fleet.devices.values())
    pending = fleet.unacknowledged()
    fleet.stop()
    Path(out).write_text(
        json.dumps({"sent": sent, "resent": resent, "acked": acked, "pending": pending, "done": 1})
    )


# --- the naive subscriber (baseline) ---------------------------------------------------------


def run_naive_subscriber(port: int, out: str, ready: Any, stop: Any) -> None:
    """What a first attempt looks like: paho defaults, QoS 1, no TCP_NODELAY."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    got: list[tuple[str, float]] = []

    def on_message(_c: Any, _u: Any, msg: Any) -> None:
        data = json.loads(msg.payload)
        got.append((data["id"], time.time()))

    def on_connect(c: Any, *_: Any) -> None:
        c.subscribe("store/+/+/+/event", 1)
        ready.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="naive")
    client.on_connect = on_connect
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.loop_start()
    stop.wait()
    client.loop_stop()
    Path(out).write_text(json.dumps(got))


# --- orchestration ---------------------------------------------------------------------------


def measure_hub(buttons: int, rate: float, seconds: float, work: Path) -> dict[str, Any]:
    inventory = demo_inventory("BENCH", buttons)
    broker = start_broker(work / "mqtt", inventory)
    settings = hub_settings(broker, work / "hub", call_urgent_after_s=3600)
    hub = run_hub_process(settings, work / "hub.log")
    ctx = mp.get_context("spawn")
    ready_b, go, ready_w, stop_w = ctx.Event(), ctx.Event(), ctx.Event(), ctx.Event()
    sim = ctx.Process(
        target=run_buttons,
        args=(
            inventory.model_dump_json(),
            broker.accounts,
            broker.port,
            rate,
            seconds,
            str(work / "sent.json"),
            ready_b,
            go,
        ),
    )
    board = ctx.Process(
        target=run_board_client, args=(hub.base_url, str(work / "seen.json"), ready_w, stop_w)
    )
    try:
        board.start()
        sim.start()
        if not (ready_w.wait(30) and ready_b.wait(90)):
            raise RuntimeError("the board client or the buttons did not get ready")
        sampler = ProcessSampler(hub.proc.pid)
        sampler.start()
        go.set()
        sim.join(seconds + 120)
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

    result = json.loads((work / "sent.json").read_text())
    if "done" not in result:
        raise RuntimeError("the buttons did not finish (see sent.json)")
    sent: dict[str, float] = dict(result["sent"])
    board = json.loads((work / "seen.json").read_text())
    return {
        **tally_presses(sent, board, settings.db_path),
        "offered_rate": len(sent) / seconds,
        "resent": result["resent"],
        "unacked": result["pending"],
        "cpu": cpu,
        "rss_mb": sampler.peak_rss / 2**20,
    }


def measure_naive(buttons: int, rate: float, seconds: float, work: Path) -> dict[str, Any]:
    """The same offered load into a default mosquitto and a default paho subscriber."""
    inventory = demo_inventory("NAIVE", buttons)
    conf = work / "naive.conf"
    port = free_port()
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    broker = subprocess.Popen([mosquitto_binary(), "-c", str(conf)], stderr=subprocess.DEVNULL)
    wait_for_port("127.0.0.1", port)
    ctx = mp.get_context("spawn")
    ready_b, go, ready_s, stop_s = ctx.Event(), ctx.Event(), ctx.Event(), ctx.Event()
    accounts = {d.id: "unused" for d in inventory.devices}
    sim = ctx.Process(
        target=run_buttons,
        args=(
            inventory.model_dump_json(),
            accounts,
            port,
            rate,
            seconds,
            str(work / "naive-sent.json"),
            ready_b,
            go,
        ),
    )
    sub = ctx.Process(
        target=run_naive_subscriber, args=(port, str(work / "naive-got.json"), ready_s, stop_s)
    )
    try:
        sub.start()
        ready_s.wait(30)
        sim.start()
        ready_b.wait(90)
        go.set()
        # Nobody acks these presses: the buttons resend for a while after the run; stop them.
        time.sleep(seconds + 5)
        stop_s.set()
        sub.join(30)
    finally:
        for p in (sim, sub):
            if p.is_alive():
                p.kill()
        broker.terminate()
        broker.wait(10)
    got = json.loads((work / "naive-got.json").read_text())
    sent: dict[str, float] = dict(json.loads((work / "naive-sent.json").read_text())["sent"])
    first: dict[str, float] = {}
    for eid, t in got:
        first.setdefault(eid, t)
    latencies = [(first[e] - t) * 1000 for e, t in sent.items() if e in first]
    span = (max(first.values()) - min(sent.values())) if first else 1.0
    return {
        "offered": len(sent),
        "received": sum(1 for e in sent if e in first),
        "rate": len(first) / span,
        "p50": median(latencies),
        "p99": percentile(latencies, 99),
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--buttons", type=int, default=200)
    ap.add_argument("--rate", type=float, default=2000.0, help="presses/s, all buttons together")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--naive-seconds", type=float, default=10.0)
    ap.add_argument("--runs", type=int, default=3, help="repeat the hub measurement; medians")
    ap.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = ap.parse_args()

    runs = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            r = measure_hub(args.buttons, args.rate, args.seconds, Path(tmp))
        runs.append(r)
        print_run(i, r)
    with tempfile.TemporaryDirectory() as tmp:
        naive = measure_naive(args.buttons, args.rate, args.naive_seconds, Path(tmp))
    print(f"naive: {naive}", flush=True)

    def med(key: str) -> float:
        return median([float(r[key]) for r in runs])

    verdict = Verdict("bench_calls")
    t = Table(verdict, runs)
    t.add("presses sent", "sent", worst="min")
    t.add(
        "offered rate (presses/s)",
        "offered_rate",
        at_least(0.99 * args.rate, f"{args.rate:,.0f}/s"),
    )
    press_rows(t, p99_ms=50)
    t.add("resends by buttons", "resent")
    t.add("hub CPU (% of one core)", "cpu")
    t.add("hub peak RSS (MB)", "rss_mb", at_most(150))

    table = f"""## Call ingest: {args.buttons} buttons, {args.rate:.0f} presses/s at QoS 1 for {args.seconds:.0f} s

`.venv/bin/python -m bench.bench_calls --buttons {args.buttons} --rate {args.rate:.0f} --seconds {args.seconds:.0f} --runs {args.runs}`
on {platform.node() and "this machine"} ({os.cpu_count()} cores, Python {platform.python_version()}), {time.strftime("%Y-%m-%d")}.
Mosquitto with the project's config, the hub as `smartstore hub` (SQLite WAL, synchronous=FULL,
no InfluxDB configured so points stay in the bounded buffer), {args.buttons} simulated buttons on one
DeviceLoop in a second process, one board client on the WebSocket in a third. Latency is press
published → event id received by the board client (wall clocks of one machine).
Where each press ended up is counted per press id and per button: the ids the buttons sent, the
rows in the hub's `call_events` and the presses on its `calls` (read from the database after the
hub is killed), and the event ids and call counts the board received.
Medians of {args.runs} runs; "worst" is the worst run. Correctness targets (0) hold in every run;
performance targets are judged on the median.

{t.markdown()}

{verdict.markdown()}

Baseline, the same offered load for {args.naive_seconds:.0f} s into a naive subscriber (paho defaults, QoS 1,
no TCP_NODELAY, no database, no board) on a default mosquitto (max 1,000 queued messages):

| | received | rate (/s) | latency p50 / p99 (ms) |
|---|---|---|---|
| naive paho QoS 1 subscriber | {naive["received"]} of {naive["offered"]} | {naive["rate"]:.0f} | {naive["p50"]:.1f} / {naive["p99"]:.1f} (publish → on_message) |
| smartstore hub (median run) | {med("stored"):.0f} of {med("sent"):.0f} | {med("stored") / args.seconds:.0f} | {med("p50"):.1f} / {med("p99"):.1f} (publish → board WebSocket) |
"""
    print(table)
    if not args.no_write:
        write_section("calls", table)
        print("written to docs/benchmarks.md", file=sys.stderr)
    verdict.exit()


if __name__ == "__main__":
    main()

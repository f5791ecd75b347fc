"""A subscriber coming back to a backlog: how fast it drains N queued QoS 1 messages.

    .venv/bin/python -m bench.bench_drain [--messages 20000]

This is what the hub faces after a restart (its persistent session queued the presses made
meanwhile). The same paho subscriber drains the same backlog twice: with paho's defaults, and
with TCP_NODELAY set on its socket after connect (what edge.mqtt does).
"""

import argparse
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.common import write_section
from edge.broker import free_port, mosquitto_binary, wait_for_port
from edge.mqtt import set_nodelay

TOPIC = "store/DRAIN/call_button/btn-001/event"


def drain(port: int, messages: int, nodelay: bool, timeout: float) -> tuple[int, float]:
    """Queue `messages` for a persistent subscriber while it is away; time its drain."""
    client_id = f"drain-{'nodelay' if nodelay else 'naive'}"
    got = threading.Event()
    count = {"n": 0, "first": 0.0, "last": 0.0}

    def on_connect(c: mqtt.Client, *_: Any) -> None:
        if nodelay:
            set_nodelay(c)
        c.subscribe(TOPIC, 1)

    def on_message(_c: Any, _u: Any, _m: Any) -> None:
        now = time.monotonic()
        count["first"] = count["first"] or now
        count["last"] = now
        count["n"] += 1
        if count["n"] >= messages:
            got.set()

    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
    sub.on_connect = on_connect
    sub.connect("127.0.0.1", port)
    sub.loop_start()
    time.sleep(0.5)
    sub.disconnect()
    sub.loop_stop()

    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{client_id}")
    pub.max_inflight_messages_set(1000)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    infos = [pub.publish(TOPIC, b'{"v":1,"id":"btn-001-b-%d"}' % i, 1) for i in range(messages)]
    for info in infos:
        info.wait_for_publish(30)
    pub.disconnect()
    pub.loop_stop()

    sub.on_message = on_message
    start = time.monotonic()
    sub.reconnect()
    sub.loop_start()
    got.wait(timeout)
    elapsed = (count["last"] or time.monotonic()) - start
    sub.disconnect()
    sub.loop_stop()
    return int(count["n"]), elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        conf = Path(tmp) / "mosquitto.conf"
        # Enough queue for the backlog; otherwise mosquitto's defaults.
        conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 1000000\n"
        )
        broker = subprocess.Popen([mosquitto_binary(), "-c", str(conf)], stderr=subprocess.DEVNULL)
        try:
            wait_for_port("127.0.0.1", port)
            for nodelay in (False, True):
                n, secs = drain(port, args.messages, nodelay, args.timeout)
                label = "TCP_NODELAY after connect" if nodelay else "paho defaults"
                rows.append((label, n, secs, n / secs if secs else 0.0))
                print(
                    f"{label}: {n}/{args.messages} in {secs:.1f} s = {n / secs:.0f}/s", flush=True
                )
        finally:
            broker.terminate()
            broker.wait(10)
    table = [
        f"## Draining a backlog of {args.messages} queued QoS 1 messages (a hub coming back)",
        "",
        f"`.venv/bin/python -m bench.bench_drain --messages {args.messages}`, {time.strftime('%Y-%m-%d')}."
        " One paho subscriber with a persistent session; the backlog is queued while it is away;"
        f" time from reconnect to the last message (stopped at {args.timeout:.0f} s).",
        "",
        "| subscriber socket | received | seconds | messages/s |",
        "|---|---|---|---|",
        *[f"| {label} | {n} | {secs:.1f} | {rate:.0f} |" for label, n, secs, rate in rows],
    ]
    text = "\n".join(table)
    print(text)
    if not args.no_write:
        write_section("drain", text)


if __name__ == "__main__":
    main()

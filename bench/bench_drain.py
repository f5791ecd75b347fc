"""A subscriber coming back to a backlog: how fast it drains N queued QoS 1 messages.

    .venv/bin/python -m bench.bench_drain [--messages 20000]

This is what the hub faces after a restart (its persistent session queued the presses made
meanwhile). The same paho subscriber drains the same backlog twice: with paho's defaults, and
with TCP_NODELAY set on its socket after connect (what contract.mqtt.set_nodelay does).

Every message carries its own id, and the subscriber counts what it receives per id: unique
ids received, redeliveries (copies beyond the first: QoS 1 is at least once, so these are
reported, not failed), lost (ids never received) and unexpected ids. Exits 1 if any message is
lost or unexpected (bench/common.py).
"""

import argparse
import json
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.common import Verdict, markdown_table, met_cell, write_section, zero
from contract.mqtt import set_nodelay
from contract.net import free_port
from provisioning.broker import mosquitto_binary, wait_for_port

TOPIC = "store/DRAIN/call_button/btn-001/event"


def drain(port: int, messages: int, nodelay: bool, timeout: float) -> dict[str, float]:
    """Queue `messages` (each with its own id) for a persistent subscriber while it is away;
    time its drain, and count what it received per id."""
    client_id = f"drain-{'nodelay' if nodelay else 'naive'}"
    got = threading.Event()
    received: Counter[str] = Counter()
    times = {"last": 0.0}

    def on_connect(c: mqtt.Client, *_: Any) -> None:
        if nodelay:
            set_nodelay(c)
        c.subscribe(TOPIC, 1)

    def on_message(_c: Any, _u: Any, m: mqtt.MQTTMessage) -> None:
        message_id = str(json.loads(m.payload)["id"])
        if message_id not in received:
            times["last"] = time.monotonic()  # the drain ends with the last new message
        received[message_id] += 1
        if len(received) >= messages:
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
    ids = [f"btn-001-b-{i}" for i in range(messages)]
    infos = [pub.publish(TOPIC, json.dumps({"v": 1, "id": m}), 1) for m in ids]
    for info in infos:
        info.wait_for_publish(30)
    pub.disconnect()
    pub.loop_stop()

    sub.on_message = on_message
    start = time.monotonic()
    sub.reconnect()
    sub.loop_start()
    if got.wait(timeout):
        time.sleep(0.5)  # redeliveries of the last messages, if any
    sub.disconnect()
    sub.loop_stop()
    elapsed = (times["last"] or time.monotonic()) - start
    unique = sum(1 for m in ids if m in received)
    return {
        "unique": unique,
        "redelivered": sum(n - 1 for n in received.values()),
        "lost": messages - unique,
        "unexpected": len(received.keys() - set(ids)),
        "seconds": elapsed,
        "rate": unique / elapsed if elapsed else 0.0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    verdict = Verdict("bench_drain")
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
                r = drain(port, args.messages, nodelay, args.timeout)
                label = "TCP_NODELAY after connect" if nodelay else "paho defaults"
                print(f"{label}: {r}", flush=True)
                lost = verdict.check(f"{label}: lost", r["lost"], zero())
                strays = verdict.check(f"{label}: unexpected", r["unexpected"], zero())
                rows.append(
                    [
                        label,
                        f"{r['unique']:.0f}",
                        f"{r['redelivered']:.0f}",
                        f"{r['lost']:.0f}",
                        f"{r['unexpected']:.0f}",
                        f"{r['seconds']:.1f}",
                        f"{r['rate']:.0f}",
                        "0 lost, 0 unexpected",
                        met_cell(lost, strays),
                    ]
                )
        finally:
            broker.terminate()
            broker.wait(10)
    header = [
        "subscriber socket",
        "received (unique ids)",
        "redelivered",
        "lost",
        "unexpected",
        "seconds",
        "messages/s",
        "target",
        "met",
    ]
    text = "\n".join(
        [
            f"## Draining a backlog of {args.messages} queued QoS 1 messages (a hub coming back)",
            "",
            f"`.venv/bin/python -m bench.bench_drain --messages {args.messages}`, {time.strftime('%Y-%m-%d')}."
            " One paho subscriber with a persistent session; the backlog is queued while it is away;"
            f" time from reconnect to the last message (stopped at {args.timeout:.0f} s)."
            " Each message carries its own id: received counts distinct ids, redelivered the"
            " copies beyond the first (QoS 1 is at least once; the hub dedups them), lost the ids"
            " never received. Messages/s is unique ids per second.",
            "",
            markdown_table(header, rows),
            "",
            verdict.markdown(),
        ]
    )
    print(text)
    if not args.no_write:
        write_section("drain", text)
    verdict.exit()


if __name__ == "__main__":
    main()

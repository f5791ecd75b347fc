"""A burst of call-button presses over the real broker, with the ids the hub acknowledged."""

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from contract.const import AckStatus
from contract.payloads import EventAck
from devices.base import SimDevice
from devices.fleet import Fleet
from tests.support import Broker


@dataclass
class Burst:
    fleet: Fleet
    sent: list[str] = field(default_factory=list)
    acked: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def acked_now(self) -> set[str]:
        with self.lock:
            return set(self.acked)


@contextmanager
def press_burst(broker: Broker, presses_per_s: float, seconds: float) -> Iterator[Burst]:
    """Every button of the broker's inventory pressing, round-robin, at a combined rate;
    stopped (no more resends) when the block ends."""
    holder: list[Burst] = []

    def on_ack(_device: SimDevice, ack: EventAck, _latency: float) -> None:
        if ack.status is AckStatus.OK:
            with holder[0].lock:
                holder[0].acked.add(ack.id)

    fleet = Fleet(broker.inventory, broker.accounts, "127.0.0.1", broker.port, on_ack=on_ack)
    burst = Burst(fleet)
    holder.append(burst)
    fleet.start()
    try:
        fleet.wait_connected(30)
        fleet.press_steady(presses_per_s, seconds, on_press=lambda eid, _t: burst.sent.append(eid))
        yield burst
    finally:
        fleet.stop()


def stored_press_ids(db: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {r[0] for r in conn.execute("SELECT event_id FROM call_events")}
    finally:
        conn.close()


def integrity(db: Path) -> list[tuple[str]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA integrity_check").fetchall()
    finally:
        conn.close()

"""The one thread that writes device input to SQLite.

It drains the ingest queue in batches: one transaction (one fsync) per batch instead of per
event, then acknowledges the batch's events to their devices and tells the boards. An event is
acknowledged only after its transaction has committed, so an ack means "stored".
"""

import logging
import queue
import threading
import time
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from edge.calls import service as calls
from edge.calls.models import Call
from edge.calls.service import Press
from edge.devices import service as devices
from edge.devices.service import StateReport, TelemetryReport
from edge.ingest import RejectCounter, Rejected, Report
from edge.mqtt import HubMqtt
from edge.telemetry import points
from edge.telemetry.buffer import buffer_points
from smartstore.wire import EventAck, encode
from smartstore.wire.const import AckStatus

log = logging.getLogger(__name__)

MAX_BATCH = 1000
TICK_S = 0.5
INGEST_POINTS_EVERY_S = 10.0

CallsChanged = Callable[[list[Call], list[str]], None]


class StoreWriter:
    def __init__(
        self,
        store: str,
        sessions: sessionmaker[Session],
        mqtt: HubMqtt,
        rejects: RejectCounter,
        on_calls: CallsChanged,
        urgent_after_s: float,
    ) -> None:
        self._store = store
        self._sessions = sessions
        self._mqtt = mqtt
        self._rejects = rejects
        self._on_calls = on_calls
        self._urgent_after_s = urgent_after_s
        self._queue: queue.SimpleQueue[Report | Rejected | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._next_tick = 0.0
        self._next_ingest_points = time.time() + INGEST_POINTS_EVERY_S

    def submit(self, item: Report | Rejected) -> None:
        self._queue.put(item)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def backlog(self) -> int:
        return self._queue.qsize()

    def _run(self) -> None:
        while True:
            taken: list[Report | Rejected | None] = []
            try:
                taken.append(self._queue.get(timeout=TICK_S))
                while len(taken) < MAX_BATCH:
                    taken.append(self._queue.get_nowait())
            except queue.Empty:
                pass  # an empty batch still runs the tick (escalation)
            batch = [item for item in taken if item is not None]
            try:
                self._write(batch)
            except Exception:
                # The batch's events stay unacknowledged: their devices resend them.
                log.exception("writing a batch of %d reports failed", len(batch))
                time.sleep(0.5)
            if None in taken:
                return

    def _write(self, batch: list[Report | Rejected]) -> None:
        now = time.time()
        presses = [r for r in batch if isinstance(r, Press)]
        rejected = [r for r in batch if isinstance(r, Rejected)]
        with self._sessions.begin() as session:
            outcome = calls.record_presses(session, self._store, presses)
            for r in batch:
                if isinstance(r, StateReport):
                    devices.apply_state(session, r)
                elif isinstance(r, TelemetryReport):
                    devices.apply_telemetry(session, r)
                    buffer_points(
                        session,
                        [
                            points.device_telemetry(
                                self._store, r.device, r.telemetry, r.received_at
                            )
                        ],
                    )
            escalated: list[Call] = []
            if now >= self._next_tick:
                self._next_tick = now + TICK_S
                escalated = calls.escalate(session, now, self._urgent_after_s)
            if now >= self._next_ingest_points:
                self._next_ingest_points = now + INGEST_POINTS_EVERY_S
                buffer_points(
                    session,
                    [
                        points.hub_ingest(self._store, reason, n, now)
                        for reason, n in self._rejects.take_delta().items()
                    ],
                )
        # Committed: now the devices may stop resending.
        for p in presses:
            ack = EventAck(id=p.event.id, status=AckStatus.OK)
            self._mqtt.publish_ack(p.device.type, p.device.id, encode(ack))
        for r in rejected:
            ack = EventAck(id=r.event_id, status=AckStatus.REJECTED, error=r.reason.value)
            self._mqtt.publish_ack(r.device.type, r.device.id, encode(ack))
        changed = {c.id: c for c in outcome.calls}
        changed.update({c.id: c for c in escalated})
        if changed:
            self._on_calls(list(changed.values()), [e for _, e in outcome.new_event_ids])

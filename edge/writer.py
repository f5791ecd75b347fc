"""The one thread that writes device input to SQLite.

It drains the ingest queue in batches: one transaction (one fsync) per batch instead of per
event, then acknowledges the batch's events to their devices and tells the boards. An event is
acknowledged only after its transaction has committed, so an ack means "stored".
"""

import logging
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from edge.calls import service as calls
from edge.calls.models import Call
from edge.calls.service import Press
from edge.commands import service as commands
from edge.commands.models import DeviceCommand
from edge.commands.service import ReplyReport
from edge.config import Settings
from edge.devices import service as devices
from edge.devices.models import Alarm, Device
from edge.devices.service import DeviceChanges, StateReport, TelemetryReport
from edge.ingest import RejectCounter, Rejected, Report
from edge.mqtt import HubMqtt
from edge.telemetry import points
from edge.telemetry.buffer import buffer_points
from smartstore.wire import EventAck, encode
from smartstore.wire.const import AckStatus

log = logging.getLogger(__name__)

MAX_BATCH = 1000
REPORT_CHUNK = 200
TICK_S = 0.5
INGEST_POINTS_EVERY_S = 10.0
# Routine telemetry (battery, rssi, last seen) reaches the boards at most this often;
# presence and alarm changes go at once.
DEVICE_FLUSH_S = 1.0


class Listener(Protocol):
    def calls_changed(self, calls: list[Call], event_ids: list[str]) -> None: ...

    def devices_changed(
        self, devices: list[tuple[Device, list[str]]], raised: list[Alarm], cleared: list[Alarm]
    ) -> None: ...

    def commands_changed(self, commands: list[DeviceCommand]) -> None: ...

    def devices_seen(self, devices: list[Device]) -> None: ...


@dataclass
class _Pending:
    """Device rows with routine changes (a heartbeat) since the last flush."""

    devices: dict[str, Device] = field(default_factory=dict)
    next_flush: float = 0.0


class StoreWriter:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        mqtt: HubMqtt,
        rejects: RejectCounter,
        listener: Listener,
    ) -> None:
        self._settings = settings
        self._store = settings.store_id
        self._sessions = sessions
        self._mqtt = mqtt
        self._rejects = rejects
        self._listener = listener
        self._queue: queue.SimpleQueue[Report | Rejected | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._next_tick = 0.0
        self._next_ingest_points = time.time() + INGEST_POINTS_EVERY_S
        self._routine = _Pending()
        self._heartbeats: deque[StateReport | TelemetryReport] = deque()

    def submit(self, item: Report | Rejected) -> None:
        self._queue.put(item)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def backlog(self) -> int:
        """Reports received and not yet written."""
        return self._queue.qsize() + len(self._heartbeats)

    def _run(self) -> None:
        # Presses (a diner waits) go first, in their own transaction; heartbeats (nobody
        # waits) follow in bounded chunks, so a burst of a thousand heartbeats never holds
        # a press back for more than one chunk.
        heartbeats = self._heartbeats
        stopping = False
        while not stopping or heartbeats:
            taken: list[Report | Rejected | None] = []
            try:
                if not heartbeats and not stopping:
                    taken.append(self._queue.get(timeout=TICK_S))
                while len(taken) < MAX_BATCH:
                    taken.append(self._queue.get_nowait())
            except queue.Empty:
                pass  # an empty round still runs the tick (escalation, silence, timeouts)
            stopping = stopping or None in taken
            urgent: list[Report | Rejected] = []
            chunk: list[Report | Rejected] = []
            for item in taken:
                if isinstance(item, StateReport | TelemetryReport):
                    heartbeats.append(item)
                elif item is not None:
                    urgent.append(item)
            chunk.extend(heartbeats.popleft() for _ in range(min(REPORT_CHUNK, len(heartbeats))))
            # An idle round still writes once: the tick (escalation, silence, timeouts).
            for batch in [b for b in (urgent, chunk) if b] or [[]]:
                self._safe_write(batch)

    def _safe_write(self, batch: list[Report | Rejected]) -> None:
        try:
            self._write(batch)
        except Exception:
            # The batch's events stay unacknowledged: their devices resend them.
            log.exception("writing a batch of %d reports failed", len(batch))
            time.sleep(0.5)

    def _write(self, batch: list[Report | Rejected]) -> None:
        s = self._settings
        now = time.time()
        presses = [r for r in batch if isinstance(r, Press)]
        reports = [r for r in batch if isinstance(r, StateReport | TelemetryReport)]
        replies = [r for r in batch if isinstance(r, ReplyReport)]
        rejected = [r for r in batch if isinstance(r, Rejected)]
        with self._sessions.begin() as session:
            outcome = calls.record_presses(session, self._store, presses)
            changes = devices.apply_reports(session, reports, s.battery_low_pct)
            buffer_points(
                session,
                [
                    points.device_telemetry(self._store, r.device, r.telemetry, r.received_at)
                    for r in reports
                    if isinstance(r, TelemetryReport)
                ],
            )
            answered = [c for r in replies if (c := commands.record_reply(session, r)) is not None]
            escalated: list[Call] = []
            if now >= self._next_tick:
                self._next_tick = now + TICK_S
                escalated = calls.escalate(session, now, s.call_urgent_after_s)
                silent = devices.mark_silent(
                    session,
                    now,
                    s.device_silent_after_s,
                    s.sleepy_silent_after_s,
                    s.battery_low_pct,
                )
                changes = _merge(changes, silent)
                answered += commands.expire(session, now, s.command_timeout_s)
            buffer_points(
                session,
                [points.device_alarm(self._store, a, True) for a in changes.raised]
                + [points.device_alarm(self._store, a, False) for a in changes.cleared],
            )
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
            self._listener.calls_changed(
                list(changed.values()), [e for _, e in outcome.new_event_ids]
            )
        self._tell_devices(changes, now)
        if answered:
            self._listener.commands_changed(answered)

    def _tell_devices(self, changes: DeviceChanges, now: float) -> None:
        routine = self._routine
        urgent = []
        for device_id, row in changes.devices.items():
            entry = (row, sorted(changes.alarms.get(device_id, ())))
            if device_id in changes.urgent:
                urgent.append(entry)
                routine.devices.pop(device_id, None)
            else:
                routine.devices[device_id] = row
        if urgent or changes.raised or changes.cleared:
            self._listener.devices_changed(urgent, changes.raised, changes.cleared)
        if routine.devices and now >= routine.next_flush:
            routine.next_flush = now + DEVICE_FLUSH_S
            self._listener.devices_seen(list(routine.devices.values()))
            routine.devices = {}


def _merge(a: DeviceChanges, b: DeviceChanges) -> DeviceChanges:
    a.devices.update(b.devices)
    a.urgent |= b.urgent
    a.raised += b.raised
    a.cleared += b.cleared
    a.alarms.update(b.alarms)
    return a

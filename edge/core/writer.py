"""The one thread that writes device input to SQLite.

It drains the ingest queue in batches: one transaction (one fsync) per batch instead of per
event, in which every domain stores its items and runs its timers; then, committed, each
domain acknowledges its devices and tells the boards. An event is acknowledged only after its
transaction has committed, so an ack means "stored". Which domain writes what is declared by
the domains (`Domain.writes`); this module knows none of them.
"""

import logging
import queue
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from contract import EventAck, encode
from contract.const import AckStatus
from edge.core.domain import AfterCommit, Domain
from edge.core.ingest import Rejected
from edge.core.worker import Worker
from edge.mqtt import HubMqtt

log = logging.getLogger(__name__)

MAX_BATCH = 1000
REPORT_CHUNK = 200
TICK_S = 0.5
# A round (even an idle one: the tick) ends at least every TICK_S plus one batch's write. A
# writer that has not finished one for this long is stuck (a lock never released, a disk that
# no longer answers): the watchdog stops vouching for the hub (edge/core/systemd.py).
STALLED_AFTER_S = 30.0


class StoreWriter(Worker):
    name = "store-writer"

    def __init__(
        self, sessions: sessionmaker[Session], mqtt: HubMqtt, domains: Sequence[Domain]
    ) -> None:
        super().__init__()
        self._sessions = sessions
        self._mqtt = mqtt
        self._domains = list(domains)
        self._owner: dict[type, Domain] = {}
        for domain in self._domains:
            for kind in domain.writes:
                if kind in self._owner:
                    raise ValueError(f"two domains write {kind.__name__}")
                self._owner[kind] = domain
        self._routine = tuple(k for d in self._domains for k in d.routine)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._next_tick = 0.0
        self._heartbeats: deque[Any] = deque()
        self._round_done = time.monotonic()

    def submit(self, item: object) -> None:
        if not isinstance(item, Rejected) and type(item) not in self._owner:
            raise TypeError(f"no domain writes {type(item).__name__}")
        self._queue.put(item)

    def on_stop(self) -> None:
        self._queue.put(None)

    def backlog(self) -> int:
        """Reports received and not yet written."""
        return self._queue.qsize() + len(self._heartbeats)

    def healthy(self) -> bool:
        """Running, and its last round ended recently: what it is given gets written."""
        return self.alive and time.monotonic() - self._round_done < STALLED_AFTER_S

    def run(self) -> None:
        # Presses (a diner waits) go first, in their own transaction; heartbeats (nobody
        # waits) follow in bounded chunks, so a burst of a thousand heartbeats never holds
        # a press back for more than one chunk.
        heartbeats = self._heartbeats
        stopping = False
        while not stopping or heartbeats:
            taken: list[Any] = []
            try:
                if not heartbeats and not stopping:
                    taken.append(self._queue.get(timeout=TICK_S))
                while len(taken) < MAX_BATCH:
                    taken.append(self._queue.get_nowait())
            except queue.Empty:
                pass  # an empty round still runs the tick (escalation, silence, timeouts)
            stopping = stopping or None in taken
            urgent: list[Any] = []
            chunk: list[Any] = []
            for item in taken:
                if isinstance(item, self._routine):
                    heartbeats.append(item)
                elif item is not None:
                    urgent.append(item)
            chunk.extend(heartbeats.popleft() for _ in range(min(REPORT_CHUNK, len(heartbeats))))
            # An idle round still writes once: the tick (escalation, silence, timeouts).
            for batch in [b for b in (urgent, chunk) if b] or [[]]:
                self._safe_write(batch)
            self._round_done = time.monotonic()

    def _safe_write(self, batch: list[Any]) -> None:
        try:
            self._write(batch)
        except Exception:
            # The batch's events stay unacknowledged: their devices resend them.
            log.exception("writing a batch of %d reports failed", len(batch))
            time.sleep(0.5)

    def _write(self, batch: list[Any]) -> None:
        now = time.time()
        rejected = [r for r in batch if isinstance(r, Rejected)]
        mine: dict[Domain, list[Any]] = {}
        for item in batch:
            if not isinstance(item, Rejected):
                mine.setdefault(self._owner[type(item)], []).append(item)
        after: list[AfterCommit] = []
        with self._sessions.begin() as session:
            for domain, items in mine.items():
                if (done := domain.write(session, items, now)) is not None:
                    after.append(done)
            if now >= self._next_tick:
                self._next_tick = now + TICK_S
                for domain in self._domains:
                    if (done := domain.tick(session, now)) is not None:
                        after.append(done)
        # Committed: now the devices may stop resending, and the boards may hear of it.
        for r in rejected:
            ack = EventAck(id=r.event_id, status=AckStatus.REJECTED, error=r.reason.value)
            self._mqtt.publish_ack(r.device.type, r.device.id, encode(ack))
        for done in after:
            try:
                done()
            except Exception:
                log.exception("after a committed batch")

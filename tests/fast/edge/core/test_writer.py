"""The store writer (edge/core/writer.py) with two made-up domains: items go to the domain
that writes them, in one transaction per batch; what a domain hands back runs only once the
batch committed; a batch that fails leaves nothing stored and nothing acknowledged."""

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.orm import Session

from contract import EventAck, RejectReason, encode
from contract.const import AckStatus, DeviceType
from contract.inventory import Inventory
from edge.core.domain import AfterCommit, Domain, HubContext
from edge.core.ingest import Rejected
from edge.core.writer import REPORT_CHUNK, StoreWriter
from edge.telemetry.buffer import buffer_points
from tests.fast.fakes import RecordingMqtt
from tests.fast.helpers import StoreDb, points

WAIT_S = 5.0


@dataclass(frozen=True)
class Note:
    """Urgent: someone waits for its ack."""

    id: str


@dataclass(frozen=True)
class Boom:
    """Makes the notes domain's write fail (a full disk, a bug)."""


@dataclass(frozen=True)
class Beat:
    """Routine: a heartbeat nobody waits for."""

    n: int


@dataclass(frozen=True)
class Flag:
    """Urgent, but the other domain's: written in the same transaction as the notes."""

    id: str


class NotesDomain(Domain):
    name = "notes"
    writes = (Note, Boom)

    def __init__(self, hub: HubContext, db: StoreDb) -> None:
        super().__init__(hub)
        self.db = db
        self.log: list[tuple[str, int]] = []  # shared with the beats domain: write order
        self.batches: list[list[Any]] = []
        # Notes another connection could read while writing, and once the batch committed.
        self.seen_in_write: list[int] = []
        self.seen_after_commit: list[int] = []
        self.acked = threading.Event()
        self.failed = threading.Event()
        self.ticks = 0

    def write(self, session: Session, items: list[Any], now: float) -> AfterCommit | None:
        self.batches.append(list(items))
        self.log.append((self.name, len(items)))
        if any(isinstance(i, Boom) for i in items):
            self.failed.set()
            raise RuntimeError("disk full")
        buffer_points(session, [f"note {i.id}" for i in items])
        self.seen_in_write.append(self._committed_notes())

        def committed() -> None:
            self.seen_after_commit.append(self._committed_notes())
            for item in items:
                ack = EventAck(id=item.id, status=AckStatus.OK)
                self.hub.mqtt.publish_ack(DeviceType.CALL_BUTTON, "btn-001", encode(ack))
            self.acked.set()
            if any(i.id == "raise-after" for i in items):
                raise RuntimeError("a board went away")

        return committed

    def tick(self, session: Session, now: float) -> AfterCommit | None:
        self.ticks += 1
        return None

    def _committed_notes(self) -> int:
        """Read on another connection: only what was committed."""
        with self.db.reads() as s:
            return sum(1 for p in points(s) if p.startswith("note "))


class BeatsDomain(Domain):
    name = "beats"
    writes = (Beat, Flag)
    routine = (Beat,)

    def __init__(self, hub: HubContext, log: list[tuple[str, int]]) -> None:
        super().__init__(hub)
        self.log = log
        self.written: list[int] = []
        self.flags_done: list[str] = []
        self.ticked_after_commit = threading.Event()

    def write(self, session: Session, items: list[Any], now: float) -> AfterCommit | None:
        self.log.append((self.name, len(items)))
        flags = [i.id for i in items if isinstance(i, Flag)]
        self.written.extend(i.n for i in items if isinstance(i, Beat))
        buffer_points(session, [f"flag {f}" for f in flags])
        return (lambda: self.flags_done.extend(flags)) if flags else None

    def tick(self, session: Session, now: float) -> AfterCommit | None:
        return self.ticked_after_commit.set


@dataclass
class Parts:
    writer: StoreWriter
    notes: NotesDomain
    beats: BeatsDomain
    mqtt: RecordingMqtt


@pytest.fixture
def parts(hub_ctx: HubContext, db: StoreDb, mqtt: RecordingMqtt) -> Iterator[Parts]:
    """A writer not started yet: what is submitted before start() is one first batch."""
    notes = NotesDomain(hub_ctx, db)
    beats = BeatsDomain(hub_ctx, notes.log)
    writer = StoreWriter(db.sessions, mqtt, [notes, beats])
    yield Parts(writer, notes, beats, mqtt)
    writer.stop()


def _acked_ids(mqtt: RecordingMqtt) -> list[str]:
    return [a["id"] for _, a in mqtt.acks()]


def test_items_go_to_the_domain_that_writes_them_and_acks_follow_the_commit(
    parts: Parts, db: StoreDb
) -> None:
    for item in (Note("btn-001-e1"), Beat(1), Flag("flag-1"), Note("btn-001-e2"), Beat(2)):
        parts.writer.submit(item)
    parts.writer.start()
    assert parts.notes.acked.wait(WAIT_S)
    assert parts.beats.ticked_after_commit.wait(WAIT_S)
    parts.writer.stop()
    assert parts.notes.batches == [[Note("btn-001-e1"), Note("btn-001-e2")]]
    assert parts.beats.written == [1, 2]
    assert parts.beats.flags_done == ["flag-1"]
    # Not visible to another connection while written; visible when the after-commit work ran.
    assert (parts.notes.seen_in_write, parts.notes.seen_after_commit) == ([0], [2])
    assert _acked_ids(parts.mqtt) == ["btn-001-e1", "btn-001-e2"]
    assert parts.notes.ticks >= 1
    with db.reads() as s:
        assert points(s) == ["note btn-001-e1", "note btn-001-e2", "flag flag-1"]


def test_urgent_items_are_written_before_routine_ones_in_bounded_chunks(parts: Parts) -> None:
    for n in range(450):
        parts.writer.submit(Beat(n))
    parts.writer.submit(Note("btn-001-e1"))  # last in, first written
    parts.writer.start()
    parts.writer.stop()  # what arrived is written before the thread ends
    assert REPORT_CHUNK == 200
    assert parts.notes.log == [("notes", 1), ("beats", 200), ("beats", 200), ("beats", 50)]
    assert parts.beats.written == list(range(450))
    assert parts.writer.backlog() == 0


def test_a_failed_batch_stores_nothing_and_acknowledges_nothing(
    parts: Parts, db: StoreDb, inventory: Inventory, caplog: pytest.LogCaptureFixture
) -> None:
    store = parts.writer
    store.submit(Flag("flag-1"))  # the beats domain writes it first, and fine
    store.submit(Note("btn-001-lost"))
    store.submit(Boom())
    store.submit(Rejected(inventory.by_id()["btn-002"], "btn-002-e1", RejectReason.BAD_JSON))
    with caplog.at_level(logging.ERROR, logger="edge.core.writer"):
        store.start()
        assert parts.notes.failed.wait(WAIT_S)
        # A marker after the failed batch: once it is acked, the failed batch is long done.
        store.submit(Note("btn-001-marker"))
        assert parts.notes.acked.wait(WAIT_S)
    # Not even the rejection is answered: the device resends, and the next try answers it.
    assert _acked_ids(parts.mqtt) == ["btn-001-marker"]
    # The beats domain wrote its flag fine, but the batch failed: its after-commit work never
    # ran, and its row went with the rest.
    assert parts.notes.log[:2] == [("beats", 1), ("notes", 2)]
    assert parts.beats.flags_done == []
    assert parts.notes.seen_after_commit == [1]
    with db.reads() as s:
        assert points(s) == ["note btn-001-marker"]
    assert "writing a batch of 4 reports failed" in caplog.text


def test_a_rejected_event_is_answered_after_the_batch_commits(
    parts: Parts, inventory: Inventory
) -> None:
    parts.writer.submit(
        Rejected(inventory.by_id()["btn-002"], "btn-002-e1", RejectReason.BAD_SCHEMA_VERSION)
    )
    parts.writer.submit(Note("btn-001-e1"))
    parts.writer.start()
    assert parts.notes.acked.wait(WAIT_S)
    parts.writer.stop()
    assert [(p.topic, p.json(), p.qos) for p in parts.mqtt.published] == [
        (
            "store/S001/call_button/btn-002/ack",
            {"v": 1, "id": "btn-002-e1", "status": "rejected", "error": "bad_schema_version"},
            1,
        ),
        ("store/S001/call_button/btn-001/ack", {"v": 1, "id": "btn-001-e1", "status": "ok"}, 1),
    ]


def test_a_failing_after_commit_step_does_not_stop_the_writer(
    parts: Parts, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="edge.core.writer"):
        parts.writer.submit(Note("raise-after"))
        parts.writer.start()
        assert parts.notes.acked.wait(WAIT_S)
        parts.notes.acked.clear()
        parts.writer.submit(Note("btn-001-next"))
        assert parts.notes.acked.wait(WAIT_S)
    assert _acked_ids(parts.mqtt) == ["raise-after", "btn-001-next"]
    assert "after a committed batch" in caplog.text


def test_what_no_domain_writes_is_refused_at_the_door(parts: Parts) -> None:
    with pytest.raises(TypeError, match="no domain writes str"):
        parts.writer.submit("a stray string")


def test_two_domains_cannot_write_the_same_item(
    hub_ctx: HubContext, db: StoreDb, mqtt: RecordingMqtt
) -> None:
    first = NotesDomain(hub_ctx, db)
    with pytest.raises(ValueError, match="two domains write Note"):
        StoreWriter(db.sessions, mqtt, [first, NotesDomain(hub_ctx, db)])

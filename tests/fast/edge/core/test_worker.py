"""The base of the hub's background threads (edge/core/worker.py)."""

import logging
import threading
import time
from collections.abc import Iterator

import pytest

from edge.core.worker import Worker

WAIT_S = 5.0
LONG_S = 30.0  # a wait the tests must never sit through


class Rounds(Worker):
    """Does a round of work each time it wakes: at its tick, when nudged, or when stopping."""

    name = "rounds"

    def __init__(self) -> None:
        super().__init__()
        self.rounds = 0
        self.round_done = threading.Event()
        self.finished = threading.Event()

    def run(self) -> None:
        while not self.wait(LONG_S):
            self.rounds += 1
            self.round_done.set()
        self.finished.set()


@pytest.fixture
def worker() -> Iterator[Rounds]:
    w = Rounds()
    yield w
    w.stop()


def _threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name]


def test_a_nudge_wakes_it_before_its_tick(worker: Rounds) -> None:
    worker.start()
    worker.nudge()
    assert worker.round_done.wait(WAIT_S)
    assert worker.rounds == 1


def test_stop_ends_the_thread_promptly(worker: Rounds) -> None:
    worker.start()
    started = time.monotonic()
    worker.stop()
    assert worker.finished.is_set()
    assert worker.stopping
    assert time.monotonic() - started < WAIT_S  # not the LONG_S tick
    assert _threads("rounds") == []


def test_it_starts_once_as_a_named_daemon(worker: Rounds) -> None:
    worker.start()
    worker.start()
    [thread] = _threads("rounds")
    assert thread.daemon


def test_a_disabled_worker_never_starts() -> None:
    class NoCloud(Rounds):
        name = "no-cloud"

        @property
        def enabled(self) -> bool:
            return False

    w = NoCloud()
    w.start()
    assert _threads("no-cloud") == []
    w.stop()  # stopping one that never ran is fine


def test_sleep_is_a_backoff_that_nudges_do_not_cut_short() -> None:
    class Backoff(Worker):
        name = "backoff"

        def __init__(self) -> None:
            super().__init__()
            self.asleep = threading.Event()
            self.woke: list[bool] = []

        def run(self) -> None:
            self.asleep.set()
            self.woke.append(self.sleep(LONG_S))

    w = Backoff()
    w.start()
    assert w.asleep.wait(WAIT_S)
    w.nudge()
    time.sleep(0.05)
    assert w.woke == []  # still backing off
    w.stop()
    assert w.woke == [True]  # stop ends the backoff, and says so


def test_on_stop_unblocks_what_run_waits_on() -> None:
    class Reader(Worker):
        name = "reader"

        def __init__(self) -> None:
            super().__init__()
            self.items: list[int | None] = []
            self._gate = threading.Semaphore(0)

        def run(self) -> None:
            self._gate.acquire()  # blocks on something else than wait()
            self.items.append(None)

        def on_stop(self) -> None:
            self._gate.release()

    w = Reader()
    w.start()
    w.stop()
    assert w.items == [None]
    assert _threads("reader") == []


def test_a_worker_that_dies_says_so(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(Worker):
        name = "printer-01"

        def run(self) -> None:
            raise OSError("no route to host")

    w = Broken()
    with caplog.at_level(logging.ERROR, logger="edge.core.worker"):
        w.start()
        w.stop()
    [record] = caplog.records
    assert record.getMessage() == "printer-01 stopped on an error"
    assert record.exc_info is not None and record.exc_info[0] is OSError

"""The watchdog feeder: pings while the writer is healthy, stops when it is not."""

import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.core.systemd import WatchdogFeeder, notify, watchdog_interval_s


@pytest.fixture
def listening(monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    with tempfile.TemporaryDirectory(prefix="sdn-") as d:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(Path(d) / "notify"))
        sock.settimeout(0.5)
        monkeypatch.setenv("NOTIFY_SOCKET", str(Path(d) / "notify"))
        monkeypatch.setenv("WATCHDOG_USEC", "100000")  # a ping every 50 ms
        try:
            yield sock
        finally:
            sock.close()


def drain(sock: socket.socket) -> list[bytes]:
    out = []
    sock.settimeout(0.3)
    while True:
        try:
            out.append(sock.recv(64))
        except TimeoutError:
            return out


def test_pings_stop_while_the_writer_is_stuck_and_resume_when_it_moves(
    listening: socket.socket,
) -> None:
    healthy = threading.Event()
    healthy.set()
    feeder = WatchdogFeeder(healthy.is_set)
    feeder.start()
    try:
        assert listening.recv(64) == b"WATCHDOG=1"
        healthy.clear()
        drain(listening)  # what was in flight when it got stuck
        assert drain(listening) == []
        healthy.set()
        assert listening.recv(64) == b"WATCHDOG=1"
    finally:
        feeder.stop()


def test_outside_systemd_nothing_is_sent_and_nothing_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert notify("READY=1") is False
    feeder = WatchdogFeeder(lambda: True)
    assert not feeder.enabled
    feeder.start()
    assert not feeder.alive


def test_a_watchdog_meant_for_another_process_is_not_ours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "2000000")
    monkeypatch.setenv("WATCHDOG_PID", "1")
    assert watchdog_interval_s() is None
    monkeypatch.delenv("WATCHDOG_PID")
    assert watchdog_interval_s() == 1.0

"""The hub under systemd (Type=notify, WatchdogSec=): started as `smartstore hub` with
$NOTIFY_SOCKET pointing at a datagram socket this test binds, as systemd would."""

import signal
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Broker, hub_settings, run_hub_process

WATCHDOG_USEC = 1_000_000  # WatchdogSec=1: a ping every half second


@pytest.fixture
def notify_socket() -> Iterator[socket.socket]:
    # A short path of its own: unix socket paths end at 108 bytes, pytest's tmp_path is long.
    with tempfile.TemporaryDirectory(prefix="sdn-") as d:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(Path(d) / "notify"))
        sock.settimeout(0.2)
        try:
            yield sock
        finally:
            sock.close()


def received(sock: socket.socket, seconds: float) -> list[str]:
    messages: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            messages.append(sock.recv(4096).decode())
        except TimeoutError:
            continue
    return messages


def test_the_hub_says_ready_once_serving_and_feeds_the_watchdog_until_it_stops(
    broker: Broker, tmp_path: Path, notify_socket: socket.socket
) -> None:
    settings = hub_settings(broker, tmp_path / "hub")
    env = {"NOTIFY_SOCKET": notify_socket.getsockname(), "WATCHDOG_USEC": str(WATCHDOG_USEC)}
    hub = run_hub_process(settings, tmp_path / "hub.log", env_extra=env)
    try:
        # run_hub_process returned once /api/health answered: READY=1 is already queued
        # (pings may precede it: the feeder starts with the domains, systemd takes them).
        messages = received(notify_socket, 3.0)
        assert messages.count("READY=1") == 1, messages
        after_ready = messages[messages.index("READY=1") :]
        # Every half WatchdogSec: about 6 in 3 s; 4 leaves room for a busy machine, and a hub
        # that pinged once (or only at start) fails.
        assert after_ready.count("WATCHDOG=1") >= 4, messages
        assert set(messages) == {"READY=1", "WATCHDOG=1"}

        hub.proc.send_signal(signal.SIGTERM)
        assert hub.proc.wait(15) == 0
        assert "STOPPING=1" in received(notify_socket, 0.5)
    finally:
        if hub.proc.poll() is None:
            hub.kill()


def test_without_a_watchdog_the_hub_sends_only_ready(
    broker: Broker, tmp_path: Path, notify_socket: socket.socket
) -> None:
    """Type=notify without WatchdogSec=: no pings (systemd would log each as unexpected)."""
    settings = hub_settings(broker, tmp_path / "hub")
    env = {"NOTIFY_SOCKET": notify_socket.getsockname()}
    hub = run_hub_process(settings, tmp_path / "hub.log", env_extra=env)
    try:
        assert received(notify_socket, 1.5) == ["READY=1"]
    finally:
        hub.kill()

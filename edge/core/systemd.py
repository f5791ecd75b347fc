"""systemd's service notifications (sd_notify(3)): READY=1 once the hub serves, WATCHDOG=1
while its writer lives, STOPPING=1 on the way out.

Written here rather than taken from a library: the protocol is one datagram of text to the
unix socket named by $NOTIFY_SOCKET, stable and documented since systemd 209. python-systemd
needs a C build against libsystemd (a compiler and headers on every Pi), and `sdnotify` on
PyPI is untyped, unreleased since 2017 and swallows every error. Outside systemd (no
$NOTIFY_SOCKET: a terminal, the demo, the tests) every call is a no-op.
"""

import logging
import os
import socket
from collections.abc import Callable

from edge.core.worker import Worker

log = logging.getLogger(__name__)

NOTIFY_SOCKET = "NOTIFY_SOCKET"
WATCHDOG_USEC = "WATCHDOG_USEC"
WATCHDOG_PID = "WATCHDOG_PID"

READY = "READY=1"
STOPPING = "STOPPING=1"
WATCHDOG = "WATCHDOG=1"


def notify(message: str) -> bool:
    """Send one notification; False when not run by systemd or the socket refused it (the
    hub goes on either way: a missed notification is systemd's to time out on, not a crash)."""
    address = os.environ.get(NOTIFY_SOCKET, "")
    if not address:
        return False
    if address.startswith("@"):  # Linux abstract namespace
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError as exc:
        log.warning("systemd notification %r not sent: %s", message, exc)
        return False
    return True


def watchdog_interval_s() -> float | None:
    """Half of WatchdogSec= (what sd_watchdog_enabled(3) advises), or None when systemd does
    not watch this process."""
    usec = os.environ.get(WATCHDOG_USEC, "")
    pid = os.environ.get(WATCHDOG_PID, "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 1e6 / 2


class WatchdogFeeder(Worker):
    """Sends WATCHDOG=1 every half watchdog period while `healthy()` says the hub can still
    store what devices send. When it stops saying so, the pings stop and systemd kills and
    restarts the hub (Restart=on-failure): a wedged writer is a store whose presses are never
    acknowledged, worse than a restart of a few seconds."""

    name = "systemd-watchdog"

    def __init__(self, healthy: Callable[[], bool]) -> None:
        super().__init__()
        self._healthy = healthy
        self._interval = watchdog_interval_s()

    @property
    def enabled(self) -> bool:
        return self._interval is not None

    def run(self) -> None:
        assert self._interval is not None
        said = False
        while True:
            if self._healthy():
                said = False
                notify(WATCHDOG)
            elif not said:
                said = True
                log.error("the store writer is stuck: no watchdog ping until it moves again")
            if self.sleep(self._interval):
                return

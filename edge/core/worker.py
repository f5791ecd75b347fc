"""One base for the hub's background threads: a named daemon thread, a stop flag, a wake-up,
and a bounded join. Subclasses write `run()` and loop on `self.wait(seconds)`."""

import logging
import threading

log = logging.getLogger(__name__)


class Worker:
    """A background thread with the same start/stop as every other one in the hub."""

    name = "worker"
    join_timeout_s = 10.0

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        raise NotImplementedError

    @property
    def enabled(self) -> bool:
        """False keeps the thread from starting (e.g. no cloud URL configured)."""
        return True

    @property
    def alive(self) -> bool:
        """Started and its thread still running."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def start(self) -> None:
        if not self.enabled or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self.on_stop()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=self.join_timeout_s)
            if self._thread.is_alive():
                log.warning("%s did not stop within %.0f s", self.name, self.join_timeout_s)

    def on_stop(self) -> None:
        """Unblock whatever run() waits on besides wait() (a queue, a socket)."""

    def nudge(self) -> None:
        """Work arrived: let run() go now rather than at its next tick."""
        self._wake.set()

    def wait(self, seconds: float) -> bool:
        """Sleep until nudged, stopped or `seconds` passed; True when stopping."""
        if self._wake.wait(seconds):
            self._wake.clear()
        return self._stop.is_set()

    def sleep(self, seconds: float) -> bool:
        """Sleep through nudges (a backoff), until stopped or `seconds` passed; True when
        stopping."""
        return self._stop.wait(seconds)

    def _main(self) -> None:
        try:
            self.run()
        except Exception:
            # A thread that dies silently is a store that stops printing: say so loudly.
            log.exception("%s stopped on an error", self.name)

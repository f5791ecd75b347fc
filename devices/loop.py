"""One thread drives many simulated devices' MQTT clients (paho's external-loop API).

A thread per client would mean a thousand threads for a big fleet; here one selector serves
them all, and every device action runs on this loop's thread, so devices need no locks.
"""

import contextlib
import heapq
import itertools
import logging
import queue
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

log = logging.getLogger(__name__)

MISC_EVERY_S = 1.0


class DeviceLoop:
    def __init__(self) -> None:
        self._sel = selectors.DefaultSelector()
        self._clients: list[mqtt.Client] = []
        self._timers: list[tuple[float, int, Callable[[], object]]] = []
        self._seq = itertools.count()
        self._calls: queue.SimpleQueue[Callable[[], object]] = queue.SimpleQueue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        # One unread wake byte is enough to wake the loop; with a full buffer (many calls
        # queued before the loop runs) a blocking send would hang the caller.
        self._wake_w.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- used from the loop thread -------------------------------------------------------
    def attach(self, client: mqtt.Client) -> None:
        client.on_socket_open = self._socket_open
        client.on_socket_close = self._socket_close
        self._clients.append(client)

    def detach(self, client: mqtt.Client) -> None:
        if client in self._clients:
            self._clients.remove(client)
        sock = client.socket()
        if sock is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._sel.unregister(sock)

    def call_later(self, delay: float, fn: Callable[[], object]) -> None:
        heapq.heappush(self._timers, (time.monotonic() + delay, next(self._seq), fn))

    # --- used from any thread ------------------------------------------------------------
    def call_soon_threadsafe(self, fn: Callable[[], object]) -> None:
        self._calls.put(fn)
        # BlockingIOError: a wake is already pending. OSError: the loop has stopped.
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="device-loop", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.call_soon_threadsafe(lambda: None)
        if self._thread is not None:
            self._thread.join(timeout=10)

    # --- the loop ------------------------------------------------------------------------
    def run(self) -> None:
        next_misc = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            timeout = min(next_misc - now, self._timers[0][0] - now if self._timers else 1.0)
            for key, _mask in self._sel.select(max(0.0, timeout)):
                client = key.data
                if client is None:
                    self._run_calls()
                else:
                    self._read(client)
            now = time.monotonic()
            while self._timers and self._timers[0][0] <= now:
                _, _, fn = heapq.heappop(self._timers)
                self._guard(fn)
            if now >= next_misc:
                next_misc = now + MISC_EVERY_S
                for client in list(self._clients):
                    client.loop_misc()
            self._flush()
        for client in list(self._clients):
            client.disconnect()
            self._flush()
        self._sel.close()
        self._wake_r.close()
        self._wake_w.close()

    @staticmethod
    def _read(client: mqtt.Client) -> None:
        client.loop_read(100)
        # Over TLS, one record can carry more packets than loop_read took: the rest waits
        # decrypted inside the SSL object, where select() cannot see it. Read it now.
        sock = client.socket()
        while isinstance(sock, ssl.SSLSocket) and sock.pending() > 0:
            if client.loop_read(100) != mqtt.MQTT_ERR_SUCCESS or client.socket() is not sock:
                return

    def _run_calls(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass
        while True:
            try:
                fn = self._calls.get_nowait()
            except queue.Empty:
                return
            self._guard(fn)

    def _flush(self) -> None:
        # Packets queued inside a callback are not written at once by paho; write them now.
        for client in self._clients:
            if client.want_write():
                client.loop_write()

    @staticmethod
    def _guard(fn: Callable[[], object]) -> None:
        try:
            fn()
        except Exception:
            log.exception("device loop task failed")

    def _socket_open(self, client: mqtt.Client, _ud: Any, sock: Any) -> None:
        self._sel.register(sock, selectors.EVENT_READ, client)

    def _socket_close(self, _client: mqtt.Client, _ud: Any, sock: Any) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._sel.unregister(sock)

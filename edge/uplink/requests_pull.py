"""Requests HQ passes down to this store (a booking HQ took for it): the hub keeps one long
poll open to HQ (hubs reach HQ, never the other way round), claims each request before acting
on it, lets the domain that handles its kind decide, and answers (contract/store_requests.py,
docs/waitlist.md).

Claim first, act second: HQ may have stopped waiting (its caller was told "nothing was
booked"), and then the claim is refused and the hub does nothing. A request claimed and not
answered (the hub restarted in between) comes back on the next poll; the handler's own
idempotency (HQ's request id as its key) makes it one booking.
"""

import contextlib
import logging
import random
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

import httpcore
import httpx

from contract.store_requests import POLL_WAIT_S, StoreAnswer, StoreRequest, StoreRequests
from edge.core.worker import Worker
from edge.uplink.sender import cloud_client

log = logging.getLogger(__name__)

POLL_PATH = "/api/v1/store-requests"
BACKOFF_MAX_S = 60.0
# The answer HQ relays when the hub failed on a request (its error code and bilingual message,
# as the hub's own API words a refusal).
STORE_FAILED = {
    "code": "store_failed",
    "message": "门店处理失败，未预订 / The store could not take this; nothing was booked",
}
# A handler: HQ's request id and its body -> the status and body the hub's own API would answer.
Handler = Callable[[str, dict[str, Any]], tuple[int, dict[str, Any]]]


class _Sockets(httpcore.SyncBackend):
    """Remembers the sockets it opened: stopping shuts them down, which wakes the thread
    blocked reading the long poll (closing a socket from another thread does not)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = super().connect_tcp(host, port, timeout, local_address, socket_options)
        with self._lock:
            self._open = [s for s in self._open if s.fileno() != -1]
            self._open.append(stream.get_extra_info("socket"))
        return stream

    def shutdown(self) -> None:
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):  # closed already
                    sock.shutdown(socket.SHUT_RDWR)


def _client(url: str, token: str, sockets: _Sockets) -> httpx.Client:
    client = cloud_client(url, token)
    # httpx offers no public hook for the network backend: its pool's, set before any use.
    pool = getattr(client._transport, "_pool", None)
    if pool is not None:
        pool._network_backend = sockets
    return client


class StoreRequestPuller(Worker):
    name = "store-requests"
    join_timeout_s = 5.0

    def __init__(self, url: str, token: str) -> None:
        super().__init__()
        self._url = url.rstrip("/")
        self._token = token
        self._handlers: dict[str, Handler] = {}
        self._sockets = _Sockets()
        self.last_error = ""

    def register(self, kind: str, handler: Handler) -> None:
        self._handlers[kind] = handler

    @property
    def enabled(self) -> bool:
        return bool(self._url) and bool(self._handlers)

    def on_stop(self) -> None:
        self._sockets.shutdown()  # ends the long poll the thread is blocked in

    def run(self) -> None:
        failures = 0
        with _client(self._url, self._token, self._sockets) as client:
            while not self.stopping:
                try:
                    self.poll_once(client)
                    failures, self.last_error = 0, ""
                except Exception as exc:  # HQ away, or a request the hub failed on: later
                    if self._stop.is_set():  # stop() shut the long poll's socket down
                        break
                    failures += 1
                    self.last_error = str(exc)[:200]
                    wait = min(2.0**failures, BACKOFF_MAX_S) * random.uniform(0.8, 1.2)
                    log.warning("HQ's requests: %s; again in %.0fs", exc, wait)
                    self.sleep(wait)

    def poll_once(self, client: httpx.Client) -> int:
        """One long poll and every request it brought; how many were answered."""
        r = client.get(
            POLL_PATH, params={"wait": POLL_WAIT_S}, timeout=httpx.Timeout(POLL_WAIT_S + 15)
        )
        r.raise_for_status()
        answered = 0
        for request in StoreRequests.model_validate(r.json()).requests:
            try:
                answered += self.handle(client, request)
            except httpx.HTTPError:
                raise  # HQ away mid-way: the rest come back on the next poll
            except Exception:
                # A request this hub fails on must not hold back the ones behind it (it would
                # come back first on every poll): HQ is told, so its caller hears "not booked".
                log.exception("HQ's request %s failed at this hub", request.id)
                self._failed(client, request.id)
        return answered

    def _failed(self, client: httpx.Client, request_id: str) -> None:
        answer = StoreAnswer(status=500, body={"detail": STORE_FAILED})
        client.post(
            f"{POLL_PATH}/{request_id}/answer", json=answer.model_dump(mode="json")
        ).raise_for_status()

    def handle(self, client: httpx.Client, request: StoreRequest) -> bool:
        handler = self._handlers.get(request.kind)
        if handler is None:
            log.warning("HQ sent a request of a kind this hub does not handle: %s", request.kind)
            return False
        claimed = client.post(f"{POLL_PATH}/{request.id}/claim")
        if claimed.status_code in (404, 410):  # HQ stopped waiting: it told its caller so
            log.info("HQ's request %s expired before this hub took it", request.id)
            return False
        claimed.raise_for_status()
        status, body = handler(request.id, request.body)
        answer = StoreAnswer(status=status, body=body)
        client.post(
            f"{POLL_PATH}/{request.id}/answer", json=answer.model_dump(mode="json")
        ).raise_for_status()
        return True

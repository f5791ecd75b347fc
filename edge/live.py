"""Fan-out of board updates to WebSocket clients.

Producers are threads (the store writer, HTTP handlers); consumers are asyncio tasks. A client
too slow to keep up is dropped rather than allowed to hold memory; its page reconnects and
gets a fresh snapshot.
"""

import asyncio
import contextlib
import json
import logging
from typing import Any

log = logging.getLogger(__name__)

CLIENT_QUEUE = 1000


class LiveHub:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        # Each client with the key it listens to (a diner's table); None: everything.
        self._clients: dict[asyncio.Queue[str | None], str | None] = {}

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def subscribe(self, key: str | None = None) -> "asyncio.Queue[str | None]":
        q: asyncio.Queue[str | None] = asyncio.Queue(CLIENT_QUEUE)
        self._clients[q] = key
        return q

    def unsubscribe(self, q: "asyncio.Queue[str | None]") -> None:
        self._clients.pop(q, None)

    def publish(self, message: dict[str, Any], key: str | None = None) -> None:
        """Thread-safe: send `message` to every client, or only to those listening to `key`."""
        if self._loop is None or not self._clients:
            return
        text = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
        # RuntimeError: the loop is closed because the hub is shutting down.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._fan_out, text, key)

    def _fan_out(self, text: str, key: str | None) -> None:
        for q, listens in list(self._clients.items()):
            if key is not None and listens not in (None, key):
                continue
            try:
                q.put_nowait(text)
            except asyncio.QueueFull:
                log.warning("a live client fell %d messages behind; dropping it", CLIENT_QUEUE)
                self._clients.pop(q, None)
                q.get_nowait()
                q.put_nowait(None)  # tells its sender task to close the socket

    @property
    def client_count(self) -> int:
        return len(self._clients)

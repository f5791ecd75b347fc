"""The live channel between an app's device (its MQTT thread) and its page (a WebSocket).

The device side calls `set()` or `send()` from any thread. `set(key, message)` keeps the
message as the latest of its kind: a page that (re)connects first gets every kept message, so
it never starts blank or stale. `send()` is for moments (reload the page) that mean nothing to a
page opened later. Messages are JSON objects with a "type".
"""

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect

Message = dict[str, Any]
QUEUE_MAX = 256  # a page this far behind is dropped; its browser reconnects and starts fresh


class Live:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[str, Message] = {}
        self._queues: set[asyncio.Queue[Message | None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def latest(self, key: str) -> Message | None:
        with self._lock:
            return self._latest.get(key)

    def set(self, key: str, message: Message) -> None:
        with self._lock:
            self._latest[key] = message
        self._broadcast(message)

    def send(self, message: Message) -> None:
        self._broadcast(message)

    def _broadcast(self, message: Message) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self._deliver, message)

    def _deliver(self, message: Message) -> None:
        for q in list(self._queues):
            if q.qsize() >= QUEUE_MAX:
                self._queues.discard(q)
                q.put_nowait(None)  # ends that page's connection
            else:
                q.put_nowait(message)

    async def serve(self, ws: WebSocket, on_message: Callable[[Message], None]) -> None:
        """One page: every kept message, then each new one; what the page sends goes to
        `on_message` (called on the event loop: hand work on to the device's thread)."""
        await ws.accept()
        q: asyncio.Queue[Message | None] = asyncio.Queue(maxsize=QUEUE_MAX + 1)
        with self._lock:
            snapshot = list(self._latest.values())
        self._queues.add(q)

        async def receive() -> None:
            while True:
                data = await ws.receive_json()
                if isinstance(data, dict) and isinstance(data.get("type"), str):
                    on_message(data)

        reader = asyncio.create_task(receive())
        try:
            for message in snapshot:
                await ws.send_json(message)
            while True:
                getter = asyncio.create_task(q.get())
                done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if reader in done:
                    getter.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await getter
                    return
                next_message = getter.result()
                if next_message is None:
                    return
                await ws.send_json(next_message)
        except (WebSocketDisconnect, RuntimeError):
            return
        finally:
            self._queues.discard(q)
            reader.cancel()
            # The reader ends with the page: a disconnect, or a frame that is not JSON.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader

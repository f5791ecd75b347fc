"""The draw process as the hub sees it: started, fed the rules, asked per spin, stopped.

Everything here runs on the hub's event loop except `stop` (the hub's shutdown thread). A
spin the process cannot answer (not started yet, still starting, gone, stuck) returns None
and the hub decides it itself, as it did before the process existed: a play id decided by
a process that died after its commit is found by the hub (the same result, never a second
draw), and a stuck process is killed before the hub decides in its place.
"""

import asyncio
import contextlib
import itertools
import logging
import pickle
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from contract.campaigns import CampaignsConfig
from edge.games import const
from edge.games import errors as game_errors
from edge.games.drawer import HEADER, frame
from edge.games.plays import Outcome, Spin
from edge.games.service import Rules
from edge.orders.errors import OrderError

log = logging.getLogger(__name__)

DRAWER = "edge.games.drawer"


class DrawProcess:
    def __init__(self, database: Path) -> None:
        self._database = database
        self._proc: subprocess.Popen[bytes] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_done = threading.Event()
        self._reading: asyncio.Task[None] | None = None
        self._ready = False
        self._spawned_at = float("-inf")
        self._stopping = False
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[tuple[Any, ...]]] = {}
        self._sent_rules: tuple[object, ...] = ()
        self.answered = 0  # spins the process decided (status, tests)

    @property
    def ready(self) -> bool:
        return self._ready

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def spawn(self) -> None:
        """Start the process unless it runs, or was started moments ago; connect on this
        event loop. Returns at once: the process says when it is ready."""
        if self._stopping or (self._proc is not None and self._proc.poll() is None):
            return
        if time.monotonic() - self._spawned_at < const.DRAW_PROCESS_RESPAWN_S:
            return
        loop = asyncio.get_running_loop()
        self._spawned_at = time.monotonic()
        ours, theirs = socket.socketpair()
        try:
            self._proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "edge.games.drawer",
                    str(theirs.fileno()),
                    str(self._database),
                ],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        except OSError:
            log.exception("the draw process did not start; the hub decides the spins")
            ours.close()
            return
        finally:
            theirs.close()
        self._reader_done.clear()
        self._reading = loop.create_task(self._read(ours))

    async def _read(self, sock: socket.socket) -> None:
        reader, writer = await asyncio.open_unix_connection(sock=sock)
        self._writer = writer
        self._sent_rules = ()
        try:
            while True:
                (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
                message = pickle.loads(await reader.readexactly(size))  # noqa: S301 - our child
                if message[0] == "ready":
                    self._ready = True
                elif (waiting := self._waiting.pop(message[1], None)) and not waiting.done():
                    waiting.set_result(message)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the process ended
        finally:
            self._gone()
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            self._reader_done.set()
        if not self._stopping:
            self.spawn()  # a new one for the next spins (not in a loop: RESPAWN_S)

    def _gone(self) -> None:
        if not self._stopping:
            log.warning("the draw process ended; the hub decides the spins until it is back")
        self._ready = False
        self._writer = None
        waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            if not future.done():
                future.set_result(("gone",))

    async def spin(
        self, asked: Spin, rules: Rules, campaigns: CampaignsConfig, version: tuple[object, ...]
    ) -> Outcome | None:
        """The process's decision; None: decide it here (the process is not there)."""
        if not self._ready or self._writer is None:
            return None
        if len(version) != len(self._sent_rules) or any(
            a is not b for a, b in zip(version, self._sent_rules, strict=True)
        ):
            # The same stream: the process has these rules before the spin that follows.
            self._writer.write(frame(("rules", rules, campaigns)))
            self._sent_rules = version
        rid = next(self._ids)
        future: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()
        self._waiting[rid] = future
        self._writer.write(frame(("spin", rid, asked)))
        try:
            answer = await asyncio.wait_for(future, const.DRAW_ANSWER_S)
        except TimeoutError:
            self._waiting.pop(rid, None)
            log.error("the draw process did not answer in %.0f s: stopped", const.DRAW_ANSWER_S)
            self._kill()
            return None
        kind = answer[0]
        if kind == "ok":
            self.answered += 1
            outcome: Outcome = answer[2]
            return outcome
        if kind == "refused":
            _, _, status, code, message, extra = answer
            raise OrderError(status, code, message, **extra)
        if kind == "played":
            raise game_errors.bill_played()
        if kind == "gone":
            return None
        raise RuntimeError(f"the draw process could not decide a spin: {answer[2]}")

    def _kill(self) -> None:
        """A stuck process: killed, so that it cannot commit what the hub decides instead."""
        self._ready = False
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=const.DRAW_PROCESS_STOP_S)

    def stop(self) -> None:
        """From the hub's shutdown (not the event loop): the process ends, its pipe closes."""
        self._stopping = True
        self._ready = False
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=const.DRAW_PROCESS_STOP_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        # The loop's reader sees the pipe close and closes its end.
        self._reader_done.wait(timeout=const.DRAW_PROCESS_STOP_S)

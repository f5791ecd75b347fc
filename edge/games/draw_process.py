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
from collections.abc import Callable
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


class _Link:
    """One started process and what the hub holds of it; a new one for each start."""

    def __init__(self, proc: subprocess.Popen[bytes], sock: socket.socket) -> None:
        self.proc = proc
        self.sock = sock  # the hub's end (the loop's transport owns it; stop shuts it down)
        self.writer: asyncio.StreamWriter | None = None
        self.ready = False
        self.waiting: dict[int, asyncio.Future[tuple[Any, ...]]] = {}
        self.sent_rules: tuple[object, ...] = ()
        self.read = threading.Event()  # its reader ended

    def kill(self) -> None:
        """Killed (if still there) and reaped: it cannot commit what the hub decides instead."""
        self.ready = False
        if self.proc.poll() is None:
            self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=const.DRAW_PROCESS_STOP_S)


RulesNow = Callable[[], tuple[Rules, CampaignsConfig, tuple[object, ...]]]


class DrawProcess:
    def __init__(self, database: Path, rules_now: RulesNow) -> None:
        self._database = database
        self._rules_now = rules_now  # sent as the process is ready: it warms up with them
        self._link: _Link | None = None
        self._readers: set[asyncio.Task[None]] = set()
        self._spawned_at = float("-inf")
        self._stopping = False
        self._ids = itertools.count(1)
        self.answered = 0  # spins the process decided (status, tests)

    @property
    def ready(self) -> bool:
        return self._link is not None and self._link.ready

    def spawn(self) -> None:
        """Start the process unless it runs, or was started moments ago; connect on this
        event loop. Returns at once: the process says when it is ready."""
        if self._stopping or (self._link is not None and self._link.proc.poll() is None):
            return
        if time.monotonic() - self._spawned_at < const.DRAW_PROCESS_RESPAWN_S:
            return
        loop = asyncio.get_running_loop()
        self._spawned_at = time.monotonic()
        ours, theirs = socket.socketpair()
        try:
            # Our interpreter and our module: an installed hub runs it from its virtualenv.
            proc = subprocess.Popen(
                [sys.executable, "-m", DRAWER, str(theirs.fileno()), str(self._database)],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        except OSError:
            log.exception("the draw process did not start; the hub decides the spins")
            ours.close()
            return
        finally:
            theirs.close()
        self._link = link = _Link(proc, ours)
        task = loop.create_task(self._read(link, ours))
        self._readers.add(task)
        task.add_done_callback(self._readers.discard)

    async def _read(self, link: _Link, sock: socket.socket) -> None:
        reader, writer = await asyncio.open_unix_connection(sock=sock)
        link.writer = writer
        try:
            while True:
                (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
                message = pickle.loads(await reader.readexactly(size))  # noqa: S301 - our child
                if message[0] == "ready":
                    try:
                        self._send_rules(link, *self._rules_now())
                    except Exception:  # sent with the first spin instead
                        log.exception("the draw process was not sent the rules as it started")
                    link.ready = True
                elif (waiting := link.waiting.pop(message[1], None)) and not waiting.done():
                    waiting.set_result(message)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the process ended
        finally:
            link.ready, link.writer = False, None
            for future in link.waiting.values():
                if not future.done():
                    future.set_result(("gone",))  # the hub decides them
            link.waiting.clear()
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            link.read.set()
        if not self._stopping and self._link is link:
            log.warning("the draw process ended; the hub decides the spins until it is back")
            # Its end of the pair closed: it exited, or is exiting (the socket closes before
            # the process is gone), or is no use without it. Made sure of, then replaced.
            link.kill()
            self.spawn()  # a new one for the next spins (not in a loop: RESPAWN_S)

    async def spin(
        self, asked: Spin, rules: Rules, campaigns: CampaignsConfig, version: tuple[object, ...]
    ) -> Outcome | None:
        """The process's decision; None: decide it here (the process is not there)."""
        link = self._link
        if link is None or not link.ready or link.writer is None:
            return None
        self._send_rules(link, rules, campaigns, version)
        rid = next(self._ids)
        future: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()
        link.waiting[rid] = future
        link.writer.write(frame(("spin", rid, asked)))
        try:
            answer = await asyncio.wait_for(future, const.DRAW_ANSWER_S)
        except TimeoutError:
            link.waiting.pop(rid, None)
            log.error("the draw process did not answer in %.0f s: stopped", const.DRAW_ANSWER_S)
            link.kill()
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

    @staticmethod
    def _send_rules(
        link: _Link, rules: Rules, campaigns: CampaignsConfig, version: tuple[object, ...]
    ) -> None:
        """Unless the process has these: on the same stream, so it has them before the spin
        that follows."""
        if link.writer is None:
            return
        if len(version) != len(link.sent_rules) or any(
            a is not b for a, b in zip(version, link.sent_rules, strict=True)
        ):
            link.writer.write(frame(("rules", rules, campaigns)))
            link.sent_rules = version

    def stop(self) -> None:
        """From the hub's shutdown (not the event loop): the process ends, its pipe closes."""
        self._stopping = True
        link = self._link
        if link is None:
            return
        link.ready = False
        # Its end of the pair reads end-of-file: it ends (it ignores SIGTERM, which systemd
        # sends the whole unit). A shutdown, not a close: the loop's transport owns the
        # socket, and sees the end too.
        with contextlib.suppress(OSError):
            link.sock.shutdown(socket.SHUT_RDWR)
        if link.proc.poll() is None:
            try:
                link.proc.wait(timeout=const.DRAW_PROCESS_STOP_S)
            except subprocess.TimeoutExpired:
                link.proc.kill()
                link.proc.wait()
        link.read.wait(timeout=const.DRAW_PROCESS_STOP_S)

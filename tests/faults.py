"""Faults for crash tests, each with a way to show the crash landed where it was aimed:

- `IngestGate`, an HTTP proxy in front of the real cloud that holds one ingest batch (after or
  before the cloud stored it) and never answers it, so a hub can be killed with a batch in flight;
- `HungPrinter`, a printer on the network that takes no connection (its one-slot accept queue is
  full), so a hub's connect() to it hangs in SYN retries: the spooler's window between committing
  a job as `sending` and its first byte;
- `connecting_to`, whether a process has a TCP connect to a port still in SYN-SENT (the kernel's
  word, from /proc), and readers of the hub's SQLite file after a SIGKILL.
"""

import contextlib
import json
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from edge.uplink.sender import INGEST_PATH

# Not passed on: the gate's own connection and framing (httpx has decoded the body already).
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
    "host",
    "date",
    "server",
}


@dataclass
class Exchange:
    """One ingest batch with events that went through the gate."""

    event_ids: list[str]
    held: bool
    answer: dict[str, Any] | None = None  # the cloud's answer, if the batch reached it
    held_at: float = 0.0  # time.monotonic() when the gate began to hold it
    open: bool = False  # held: the hub's request is open, waiting for an answer
    answered: bool = False  # the hub was given the answer


@dataclass
class _Hold:
    reach_cloud: bool
    taken: bool = False


class IngestGate:
    """The cloud's address as the hub sees it. Everything is forwarded to `upstream` and
    answered, except the first ingest batch with events after `hold_next()`: that one is
    forwarded first (`reach_cloud`: the cloud stores it) or not at all, and never answered,
    as if the link died with the batch in flight. `release()` ends the hold (the held
    request's connection is closed, unanswered) and lets everything through."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.exchanges: list[Exchange] = []  # every ingest batch with events, in order
        self._hold: _Hold | None = None
        self._released = threading.Event()
        self._changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._client: httpx.Client | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Self:
        self._client = httpx.Client(base_url=self.upstream, timeout=30)
        gate = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                gate._handle(self)

            def do_POST(self) -> None:
                gate._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="ingest-gate", daemon=True
        )
        self._thread.start()
        return self

    def hold_next(self, reach_cloud: bool) -> None:
        with self._changed:
            self._hold = _Hold(reach_cloud)
            self._released.clear()

    def wait_held(self, timeout: float = 10.0) -> Exchange:
        """The held exchange, once its request is in the gate (and, if it reaches the cloud,
        once the cloud has answered it)."""
        with self._changed:
            if not self._changed.wait_for(self._held_now, timeout):
                raise AssertionError(f"no ingest batch was held within {timeout} s")
            return next(x for x in self.exchanges if x.held)

    def release(self) -> None:
        with self._changed:
            self._hold = None
        self._released.set()

    def stop(self) -> None:
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)
        if self._client is not None:
            self._client.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _held_now(self) -> bool:
        return any(x.held and x.held_at for x in self.exchanges)

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        events: list[str] = []
        if request.command == "POST" and request.path == INGEST_PATH:
            with contextlib.suppress(ValueError, AttributeError, TypeError):
                events = [str(e["id"]) for e in json.loads(body)["events"]]
        with self._changed:
            hold = self._hold if events and self._hold and not self._hold.taken else None
            if hold is not None:
                hold.taken = True
            exchange = Exchange(events, held=hold is not None) if events else None
            if exchange is not None:
                self.exchanges.append(exchange)
        if hold is not None and not hold.reach_cloud:
            self._hold_unanswered(request, exchange)
            return
        response = self._forward(request, body)
        if exchange is not None and response.status_code == 200:
            exchange.answer = response.json()
        if hold is not None:
            self._hold_unanswered(request, exchange)
            return
        request.send_response(response.status_code)
        for name, value in response.headers.items():
            if name.lower() not in _HOP_BY_HOP:
                request.send_header(name, value)
        request.send_header("Content-Length", str(len(response.content)))
        request.end_headers()
        request.wfile.write(response.content)
        if exchange is not None:
            exchange.answered = True

    def _hold_unanswered(self, request: BaseHTTPRequestHandler, exchange: Exchange | None) -> None:
        assert exchange is not None
        with self._changed:
            exchange.held_at = time.monotonic()
            exchange.open = True
            self._changed.notify_all()
        self._released.wait()
        exchange.open = False
        request.close_connection = True  # the answer is lost: the connection just ends

    def _forward(self, request: BaseHTTPRequestHandler, body: bytes) -> httpx.Response:
        assert self._client is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        return self._client.request(request.command, request.path, content=body, headers=headers)


class HungPrinter:
    """A printer's address where a connect() hangs: a listener that never accepts, its accept
    queue (one slot with backlog 0) taken by a connection of its own. Linux drops the SYNs that
    come next, so the client's connect waits until its own timeout. Nothing can reach it: no
    connection, not a byte. Bind a VirtualPrinter to the same port after stop()."""

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(0)
        self.port: int = self._listener.getsockname()[1]
        self._filler = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        try:  # it is hung: a second connection must neither get through nor be refused
            probe = socket.create_connection(("127.0.0.1", self.port), timeout=0.3)
        except TimeoutError:
            return
        except OSError as exc:  # e.g. net.ipv4.tcp_abort_on_overflow = 1
            self.stop()
            raise RuntimeError(f"a connection past a full accept queue failed fast: {exc}") from exc
        probe.close()
        self.stop()
        raise RuntimeError("this kernel accepted a connection past a full accept queue")

    def stop(self) -> None:
        self._filler.close()
        self._listener.close()


# /proc/net/tcp's state codes (include/net/tcp_states.h).
TCP_ESTABLISHED = "01"
TCP_SYN_SENT = "02"


def tcp_states_to(pid: int, port: int) -> list[str]:
    """The states of process `pid`'s IPv4 TCP sockets whose remote port is `port`."""
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir():
        with contextlib.suppress(OSError):  # an fd closed meanwhile
            target = fd.readlink().name
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    states = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        cols = line.split()
        remote_port = int(cols[2].rsplit(":", 1)[1], 16)
        if remote_port == port and cols[9] in inodes:
            states.append(cols[3])
    return states


def connecting_to(pid: int, port: int) -> bool:
    """Whether process `pid` is inside a connect() to `port` that no one has answered yet."""
    return TCP_SYN_SENT in tcp_states_to(pid, port)


def query(db_path: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Rows from the hub's SQLite file: what was committed, also after a SIGKILL. Read-only, so
    that closing it never checkpoints the WAL a killed hub left for its restart to find."""
    with contextlib.closing(sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True)) as db:
        return db.execute(sql, params).fetchall()


def outbox_events(db_path: Path) -> dict[str, dict[str, Any]]:
    """The hub's outbox: event id -> {"type", "data"}, events the cloud has not confirmed."""
    rows = query(db_path, "SELECT event_id, type, data FROM outbox ORDER BY pk")
    return {e: {"type": t, "data": json.loads(d)} for e, t, d in rows}

"""A network ESC/POS printer in software (raw TCP, as on port 9100) that answers status
requests (DLE EOT) as a real one does, and a decoder of the bytes back to text: the demo's
kitchen printers, and the tests' printers."""

import contextlib
import socket
import threading
from collections import deque
from collections.abc import Callable

from contract.const import CoverState, PaperLevel
from contract.printer_status import PrinterStatus, RealtimeScanner, StatusRequest

WIRE_KEPT = 10_000

# Two-byte commands the renderer emits itself or through python-escpos's set() and cut(),
# with the count of argument bytes that follow.
_COMMANDS = {
    b"\x1b@": 0,  # ESC @  initialize
    b"\x1ba": 1,  # ESC a  justification
    b"\x1bE": 1,  # ESC E  emphasized
    b"\x1b!": 1,  # ESC !  print mode
    b"\x1bd": 1,  # ESC d  print and feed n lines
    b"\x1bM": 1,  # ESC M  font
    b"\x1bt": 1,  # ESC t  code table
    b"\x1b-": 1,  # ESC -  underline
    b"\x1b{": 1,  # ESC {  upside-down
    b"\x1d!": 1,  # GS !   character size
    b"\x1dB": 1,  # GS B   reverse (white on black)
    b"\x1db": 1,  # GS b   smoothing
    b"\x1d|": 1,  # GS |   density
    b"\x1c&": 0,  # FS &   enter double-byte (Chinese) mode
    b"\x1c.": 0,  # FS .   leave double-byte mode
}
_GS_CUT = b"\x1dV"  # GS V m, and GS V m n for the cut modes that also feed
# GS ( k pL pH cn fn ...: the printer's own QR code (python-escpos's qr(native=True)), with
# pL + 256 * pH bytes after pH. "Store the data" is cn fn m = 1 P 0, then the code's text.
_GS_2D = b"\x1d(k"
_QR_STORE = b"1P0"
_CUT_MODES_WITH_FEED = {b"A", b"B", b"a", b"b", b"g", b"h"}


def decode_text(data: bytes) -> str:
    """The text lines `data` would print, joined by "\\n"; commands and feeds are dropped.

    Raises ValueError on an unknown or truncated command, on a control byte that is not a command,
    and on non-ASCII text outside double-byte mode (the printer would print it as garbage).
    """
    lines: list[str] = []
    text = bytearray()
    chinese = False

    def flush() -> None:
        lines.append(text.decode("gb18030"))
        text.clear()

    i = 0
    while i < len(data):
        byte = data[i]
        if byte == 0x0A:
            flush()
            i += 1
        elif 0x20 <= byte < 0x7F or (byte >= 0x80 and chinese):
            text.append(byte)
            i += 1
        elif byte >= 0x80:
            raise ValueError(f"non-ASCII byte {byte:#04x} at {i} outside double-byte mode")
        elif data[i : i + 3] == _GS_2D:
            if i + 5 > len(data):
                raise ValueError(f"truncated command {data[i:]!r} at {i}")
            size = data[i + 3] + 256 * data[i + 4]
            body = data[i + 5 : i + 5 + size]
            if len(body) < size:
                raise ValueError(f"truncated command {data[i:]!r} at {i}")
            if body.startswith(_QR_STORE):  # printed as a code: shown as a line "[QR text]"
                if text:
                    flush()
                text.extend(b"[QR " + body[len(_QR_STORE) :] + b"]")
                flush()
            i += 5 + size
        else:
            cmd = data[i : i + 2]
            if cmd == _GS_CUT:
                nargs = 2 if data[i + 2 : i + 3] in _CUT_MODES_WITH_FEED else 1
            elif cmd in _COMMANDS:
                nargs = _COMMANDS[cmd]
            else:
                raise ValueError(f"unknown command {data[i : i + 3]!r} at {i}")
            if i + 2 + nargs > len(data):
                raise ValueError(f"truncated command {data[i:]!r} at {i}")
            if cmd in (b"\x1b@", b"\x1c."):
                chinese = False
            elif cmd == b"\x1c&":
                chinese = True
            elif cmd == b"\x1bd" and text:
                flush()  # the printer prints what it holds before feeding
            i += 2 + nargs
    if text:
        flush()
    return "\n".join(lines)


class VirtualPrinter:
    """A network printer: each connection is one job, its print data kept (and handed to
    `on_job`) when the peer closes. It answers ESC/POS status requests (DLE EOT 1-4) the
    moment they arrive, as the Epson reference says for its state (contract/printer_status.py):
    paper ok, near end (LOW) or out, cover open or closed; `power_off()` stops it listening
    (connections are refused) until `power_on()`. `answer_status=False`: a printer that
    ignores status requests.

    What came over the wire is kept: `requests` (every DLE EOT, in order), `wire` (each
    connection's bytes, requests included); a connection that carried only requests is no job.
    """

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        on_job: Callable[[bytes], None] | None = None,
        answer_status: bool = True,
    ) -> None:
        self.port = port
        self.host = host
        self._on_job = on_job
        self.answer_status = answer_status
        self.paper = PaperLevel.OK
        self.cover = CoverState.CLOSED
        self.drawer_pin3_high = False
        # Called with each piece of print data as it arrives (before any later request is
        # answered): a test can let the paper run low mid-job.
        self.on_data: Callable[[bytes], None] | None = None
        self.jobs: list[bytes] = []
        # Bounded: a demo printer is asked every few seconds for days.
        self.requests: deque[StatusRequest] = deque(maxlen=WIRE_KEPT)
        self.wire: deque[bytes] = deque(maxlen=WIRE_KEPT)
        self.most_connections = 0  # most connections open at once
        self._changed = threading.Condition()
        self._down = False  # stopped or powered off: connections being cut are no jobs
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []

    @property
    def status(self) -> PrinterStatus:
        return PrinterStatus.of(self.paper, self.cover)

    def set_state(self, paper: PaperLevel | None = None, cover: CoverState | None = None) -> None:
        """Any thread: the paper roll and the cover, as a person in the kitchen changes them."""
        with self._changed:
            self.paper = paper or self.paper
            self.cover = cover or self.cover

    def start(self) -> "VirtualPrinter":
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # A test may bring a printer "back" on the address of a stopped one.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen()
        self.port = listener.getsockname()[1]
        with self._changed:
            self._down = False
            self._listener = listener
        self._spawn(self._accept_loop, listener)
        return self

    def power_on(self) -> "VirtualPrinter":
        """Back on the same port, with the jobs and requests it had."""
        return self.start()

    def power_off(self) -> None:
        """Stop listening (a connect is refused) and cut open connections."""
        with self._changed:
            self._down = True
            sockets = [*self._connections]
            listener, self._listener = self._listener, None
            if listener is not None:
                sockets.append(listener)
        for sock in sockets:
            # On Linux, shutdown() is what wakes a thread blocked in accept() or recv().
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=5)
        if listener is not None:
            listener.close()

    def stop(self) -> None:
        self.power_off()

    def wait_jobs(self, n: int, timeout: float = 10.0) -> list[bytes]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.jobs) >= n, timeout):
                raise AssertionError(
                    f"virtual printer on port {self.port}: {len(self.jobs)} job(s) after "
                    f"{timeout} s, expected {n}"
                )
            return list(self.jobs)

    def _spawn(self, target: Callable[[socket.socket], None], sock: socket.socket) -> None:
        thread = threading.Thread(target=target, args=(sock,), daemon=True)
        # Finished connections' threads go: a demo printer runs for days.
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with self._changed:
                if self._down:
                    conn.close()
                    return
                self._connections.add(conn)
                self.most_connections = max(self.most_connections, len(self._connections))
            self._spawn(self._receive, conn)

    def _receive(self, conn: socket.socket) -> None:
        wire = bytearray()
        data = bytearray()
        scanner = RealtimeScanner()
        with conn:
            try:
                while chunk := conn.recv(65536):
                    wire += chunk
                    for part in scanner.feed(chunk):
                        if isinstance(part, StatusRequest):
                            self._answer(conn, part)
                        else:
                            data += part
                            if self.on_data is not None:
                                self.on_data(part)
            except OSError:
                return
            finally:
                with self._changed:
                    self._connections.discard(conn)
            data += scanner.flush()
            with self._changed:
                # EOF caused by stop() or power_off() is a cut-off job, not one the peer
                # finished.
                if self._down:
                    return
                self.wire.append(bytes(wire))
                if not data:
                    return
                job = bytes(data)
                self.jobs.append(job)
                self._changed.notify_all()
            if self._on_job is not None:
                self._on_job(job)

    def _answer(self, conn: socket.socket, request: StatusRequest) -> None:
        with self._changed:
            self.requests.append(request)
            answer = self.status.answer(request, self.drawer_pin3_high)
            self._changed.notify_all()
            if not self.answer_status:
                return
        conn.sendall(bytes([answer]))

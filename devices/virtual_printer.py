"""A network ESC/POS printer in software (raw TCP, as on port 9100), and a decoder of the bytes
back to text: the demo's kitchen printers, and the tests' printers."""

import contextlib
import socket
import threading
from collections.abc import Callable

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
    """Each connection is one job; its bytes are kept (and handed to `on_job`) when the peer
    closes."""

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        on_job: Callable[[bytes], None] | None = None,
    ) -> None:
        self.port = port
        self.host = host
        self._on_job = on_job
        self.jobs: list[bytes] = []
        self._changed = threading.Condition()
        self._stopping = False
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []

    def start(self) -> "VirtualPrinter":
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # A test may bring a printer "back" on the address of a stopped one.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen()
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._spawn(self._accept_loop, listener)
        return self

    def stop(self) -> None:
        with self._changed:
            self._stopping = True
            sockets = [*self._connections]
            if self._listener is not None:
                sockets.append(self._listener)
        for sock in sockets:
            # On Linux, shutdown() is what wakes a thread blocked in accept() or recv().
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
            self._listener = None

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
                if self._stopping:
                    conn.close()
                    return
                self._connections.add(conn)
            self._spawn(self._receive, conn)

    def _receive(self, conn: socket.socket) -> None:
        chunks: list[bytes] = []
        with conn:
            try:
                while chunk := conn.recv(65536):
                    chunks.append(chunk)
            except OSError:
                return
            finally:
                with self._changed:
                    self._connections.discard(conn)
            with self._changed:
                # EOF caused by stop() is a cut-off job, not one the peer finished.
                if self._stopping:
                    return
                job = b"".join(chunks)
                self.jobs.append(job)
                self._changed.notify_all()
            if self._on_job is not None:
                self._on_job(job)

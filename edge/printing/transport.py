"""Talking to a network printer (raw TCP, usually port 9100): its status (ESC/POS DLE EOT,
contract/printer_status.py) and its tickets, on one connection per job."""

import socket
from types import TracebackType

from escpos.printer import Network

from contract.printer_status import (
    PRINTER_OFFLINE,
    REQUEST_OFFLINE_CAUSE,
    REQUEST_PRINTER,
    REQUEST_ROLL_PAPER,
    PrinterStatus,
    is_answer,
)


class PrinterUnreachable(OSError):
    """Could not connect: nothing was sent, safe to retry."""


class PrintInterrupted(OSError):
    """Connected, then failed while sending: the printer may have printed some or all."""


class PrinterHungUp(OSError):
    """The printer closed the connection (or broke it) instead of answering a status request."""


class PrinterLink:
    """One connection to a printer: status questions before and after a ticket, or alone.
    Closing it is what tells the printer the job ended.

    A question not answered within its timeout makes the printer "silent" on this link: it is
    not asked again here (a late answer would be read as the next one's).
    """

    def __init__(self, host: str, port: int, timeout: float = 5.0) -> None:
        # Network.open() leaks its socket when the connect fails (a ResourceWarning, and an
        # open file until garbage collection), and is IPv4 only: connect here, hand it over.
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise PrinterUnreachable(f"printer {host}:{port} unreachable: {exc}") from exc
        # The status question right after a ticket is a few bytes behind unacknowledged ones:
        # with Nagle on, the kernel holds it until the printer ACKs the ticket, and the
        # printer delays that ACK (~40 ms on Linux). Every job paid it, and a busy station's
        # printer queued behind it (docs/benchmarks.md, "Orders with members").
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.where = f"{host}:{port}"
        self.silent = False
        self._timeout = timeout
        self._sock = sock
        self._printer = Network(host, port, timeout=timeout)
        self._printer.device = sock

    def __enter__(self) -> "PrinterLink":
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _v: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()

    def status(self, timeout: float) -> PrinterStatus | None:
        """Ask DLE EOT 1, then 2 when it says it is offline, then 4 (python-escpos's
        `query_status`, which `is_online()` and `paper_status()` use too: those two read no
        answer as "offline" and "paper adequate", where the hub must know it does not know).

        None: no answer within `timeout` (each), or not a status byte. Raises PrinterHungUp.
        """
        printer = self._ask(REQUEST_PRINTER, timeout)
        if printer is None:
            return None
        cause = None
        if printer & PRINTER_OFFLINE:
            cause = self._ask(REQUEST_OFFLINE_CAUSE, timeout)
            if cause is None:
                return None
        paper = self._ask(REQUEST_ROLL_PAPER, timeout)
        if paper is None:
            return None
        return PrinterStatus.from_answers(printer, cause, paper)

    def send(self, data: bytes) -> None:
        """Returning means the bytes were handed to the kernel, not that they were printed."""
        try:
            self._printer._raw(data)
        except OSError as exc:
            raise PrintInterrupted(f"printer {self.where}: sending failed: {exc}") from exc

    def close(self) -> None:
        self._printer.close()  # shutdown(SHUT_RDWR) then close: the printer sees EOF

    def _ask(self, request: bytes, timeout: float) -> int | None:
        if self.silent:
            return None
        self._sock.settimeout(timeout)
        try:
            answer = self._printer.query_status(request)
        except TimeoutError:
            self.silent = True
            return None
        except OSError as exc:
            raise PrinterHungUp(f"printer {self.where}: {exc}") from exc
        finally:
            self._sock.settimeout(self._timeout)
        if not answer:
            raise PrinterHungUp(f"printer {self.where} closed the connection")
        byte = int(answer[-1])
        if not is_answer(byte):
            self.silent = True
            return None
        return byte


def send(host: str, port: int, data: bytes, timeout: float = 5.0) -> None:
    """Send one job on its own connection, without asking anything."""
    with PrinterLink(host, port, timeout) as link:
        link.send(data)

"""Sending a rendered ticket to a network printer (raw TCP, usually port 9100)."""

import socket

from escpos.printer import Network


class PrinterUnreachable(OSError):
    """Could not connect: nothing was sent, safe to retry."""


class PrintInterrupted(OSError):
    """Connected, then failed while sending: the printer may have printed some or all."""


def send(host: str, port: int, data: bytes, timeout: float = 5.0) -> None:
    """Send one job on its own connection; closing it is what tells the printer the job ended.

    Returning means the bytes were handed to the kernel, not that the printer printed them.
    """
    # Network.open() leaks its socket when the connect fails (a ResourceWarning, and an open file
    # until garbage collection), and is IPv4 only: connect here and hand Network the socket.
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise PrinterUnreachable(f"printer {host}:{port} unreachable: {exc}") from exc
    printer = Network(host, port, timeout=timeout)
    printer.device = sock
    try:
        printer._raw(data)
    except OSError as exc:
        raise PrintInterrupted(f"printer {host}:{port}: sending failed: {exc}") from exc
    finally:
        printer.close()  # shutdown(SHUT_RDWR) then close: the printer sees EOF

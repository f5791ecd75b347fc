"""A printer's real-time status on its raw TCP port (9100): ESC/POS `DLE EOT n`.

The hub asks its printers on the connection it prints on (edge/printing); a network printer
answers itself, a printer bridge (devices/print_bridge.py) answers for the USB printer behind
it; the software printer (devices/virtual_printer.py) answers as the reference says. This is
not MQTT: it is the other wire the hub speaks, written down once for all three.

`DLE EOT n` (0x10 0x04 n) is a real-time command: the printer answers one byte as soon as the
command arrives, even while offline or with data waiting, so it may come between jobs or
right after one. The answer's bits (Epson ESC/POS reference, "DLE EOT"; bit 0 is 0x01):

- n=1, printer status: bit 2 drawer kick-out connector pin 3 high; bit 3 **offline**; bit 5
  waiting for online recovery; bit 6 paper being fed by the feed button.
- n=2, offline cause: bit 2 **cover open**; bit 3 paper being fed by the feed button; bit 5
  **printing stopped by paper end**; bit 6 **error**.
- n=3, error cause: bit 3 autocutter error; bit 5 unrecoverable; bit 6 auto-recoverable.
- n=4, roll paper sensor: bits 2 and 3 **paper near end**; bits 5 and 6 **paper end**.

In every answer bits 1 and 4 are fixed on and bits 0 and 7 fixed off (`FIXED_MASK`,
`FIXED_BITS`): a byte without them is not an answer. So a printer online with the drawer pin
low answers n=1 with 0x12; paper adequate is 0x12 for n=4, near end 0x1E, paper end 0x72
(0x7E if the near-end sensor sees it too). python-escpos's `RT_STATUS_ONLINE`,
`RT_STATUS_PAPER` and `RT_MASK_*` are the same numbers.
"""

from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from contract.const import CoverState, PaperLevel

DLE: Final = 0x10
EOT: Final = 0x04
DLE_EOT: Final = bytes([DLE, EOT])


class StatusRequest(IntEnum):
    """The `n` of `DLE EOT n`."""

    PRINTER = 1
    OFFLINE_CAUSE = 2
    ERROR_CAUSE = 3
    ROLL_PAPER = 4

    @property
    def command(self) -> bytes:
        return DLE_EOT + bytes([self.value])


REQUEST_PRINTER: Final = StatusRequest.PRINTER.command  # 10 04 01
REQUEST_OFFLINE_CAUSE: Final = StatusRequest.OFFLINE_CAUSE.command  # 10 04 02
REQUEST_ERROR_CAUSE: Final = StatusRequest.ERROR_CAUSE.command  # 10 04 03
REQUEST_ROLL_PAPER: Final = StatusRequest.ROLL_PAPER.command  # 10 04 04
_REQUESTS: Final = frozenset(int(r) for r in StatusRequest)

# Every answer: bits 1 and 4 on, bits 0 and 7 off.
FIXED_MASK: Final = 0b1001_0011
FIXED_BITS: Final = 0b0001_0010

# n = 1, printer status
PRINTER_DRAWER_PIN3_HIGH: Final = 0x04
PRINTER_OFFLINE: Final = 0x08
PRINTER_WAITING_RECOVERY: Final = 0x20
PRINTER_FEED_BUTTON: Final = 0x40
# n = 2, offline cause
OFFLINE_COVER_OPEN: Final = 0x04
OFFLINE_FEEDING: Final = 0x08
OFFLINE_PAPER_END_STOP: Final = 0x20
OFFLINE_ERROR: Final = 0x40
# n = 3, error cause
ERROR_AUTOCUTTER: Final = 0x08
ERROR_UNRECOVERABLE: Final = 0x20
ERROR_AUTO_RECOVERABLE: Final = 0x40
# n = 4, roll paper sensor: both bits of a pair are set together
PAPER_NEAR_END: Final = 0x0C
PAPER_END: Final = 0x60


def is_answer(byte: int) -> bool:
    """Whether `byte` can be an answer to DLE EOT 1-4 (its fixed bits are right)."""
    return byte & FIXED_MASK == FIXED_BITS


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    """What a printer's answers say, in the contract's words (PaperLevel, CoverState)."""

    online: bool = True
    paper: PaperLevel = PaperLevel.OK
    cover: CoverState = CoverState.CLOSED
    error: bool = False  # offline for another cause than the cover or the paper

    @classmethod
    def of(
        cls,
        paper: PaperLevel = PaperLevel.OK,
        cover: CoverState = CoverState.CLOSED,
        error: bool = False,
    ) -> "PrinterStatus":
        """A printer in this state: offline while its cover is open, its paper out or an
        error stands, as ESC/POS printers are."""
        online = not (paper is PaperLevel.OUT or cover is CoverState.OPEN or error)
        return cls(online, paper, cover, error)

    @property
    def fault(self) -> bool:
        """Offline, and not because of its paper or cover (an error, a cutter jam): what the
        hub and a bridge call "printer offline" (`printer_online` false)."""
        return (
            not self.online
            and self.paper is not PaperLevel.OUT
            and self.cover is not CoverState.OPEN
        )

    @property
    def blocked(self) -> str | None:
        """Why a ticket must wait for this printer; None when it can print."""
        if self.paper is PaperLevel.OUT:
            return "paper out"
        if self.cover is CoverState.OPEN:
            return "cover open"
        if not self.online:
            return "printer offline"
        return None

    def answer(self, request: int, drawer_pin3_high: bool = False) -> int:
        """The byte a printer in this state answers to DLE EOT `request`."""
        bits = FIXED_BITS
        if request == StatusRequest.PRINTER:
            if drawer_pin3_high:
                bits |= PRINTER_DRAWER_PIN3_HIGH
            if not self.online:
                bits |= PRINTER_OFFLINE
        elif request == StatusRequest.OFFLINE_CAUSE:
            if self.cover is CoverState.OPEN:
                bits |= OFFLINE_COVER_OPEN
            if self.paper is PaperLevel.OUT:
                bits |= OFFLINE_PAPER_END_STOP
            if self.error:
                bits |= OFFLINE_ERROR
        elif request == StatusRequest.ROLL_PAPER:
            if self.paper is PaperLevel.LOW:
                bits |= PAPER_NEAR_END
            elif self.paper is PaperLevel.OUT:
                bits |= PAPER_END
        elif request != StatusRequest.ERROR_CAUSE:
            raise ValueError(f"DLE EOT {request} is not a status request")
        return bits

    @classmethod
    def from_answers(
        cls, printer: int, offline_cause: int | None = None, paper: int | None = None
    ) -> "PrinterStatus":
        """From the answers to DLE EOT 1 and, when asked, DLE EOT 2 and 4 (None: not asked;
        an online printer has no offline cause to ask about)."""
        online = not printer & PRINTER_OFFLINE
        cause = offline_cause if offline_cause is not None and not online else FIXED_BITS
        roll = paper if paper is not None else FIXED_BITS
        if roll & PAPER_END or cause & OFFLINE_PAPER_END_STOP:
            level = PaperLevel.OUT
        elif roll & PAPER_NEAR_END:
            level = PaperLevel.LOW
        else:
            level = PaperLevel.OK
        cover = CoverState.OPEN if cause & OFFLINE_COVER_OPEN else CoverState.CLOSED
        return cls(online, level, cover, bool(cause & OFFLINE_ERROR))


class RealtimeScanner:
    """Splits what arrives on a printer's port into print data and DLE EOT requests, in the
    order they came, as a printer's receive buffer does. A request split across two reads is
    held until its last byte arrives.

    Like a printer, it cannot tell a `DLE EOT n` inside a command's binary argument (a raster
    image) from a request: the hub sends text tickets, which never hold byte 0x10.
    """

    def __init__(self) -> None:
        self._held = b""

    def feed(self, chunk: bytes) -> list[bytes | StatusRequest]:
        data = self._held + chunk
        self._held = b""
        out: list[bytes | StatusRequest] = []
        start = i = 0
        while True:
            i = data.find(DLE, i)
            if i < 0:
                break
            if i + 3 > len(data) and DLE_EOT.startswith(data[i : i + 2]):
                self._held = data[i:]  # maybe the start of a request: wait for the rest
                data = data[:i]
                break
            if data[i + 1] == EOT and data[i + 2] in _REQUESTS:
                if i > start:
                    out.append(data[start:i])
                out.append(StatusRequest(data[i + 2]))
                i = start = i + 3
            else:
                i += 1
        if len(data) > start:
            out.append(data[start:])
        return out

    def flush(self) -> bytes:
        """What is held at the end of the stream (an incomplete request) is data."""
        held, self._held = self._held, b""
        return held

"""The diner's slips a kiosk prints: the order's (the number to listen for, what was ordered,
the total) and the waitlist's (the number, the wait, a QR code to follow it on a phone).

ESC/POS through python-escpos (its Dummy printer collects the bytes), GB18030 for Chinese, sent
over raw TCP (port 9100) on a connection of its own. The hub's ticket renderer
(edge/printing/tickets.py) is not used: devices may not import the hub, and a kitchen ticket is
another document (stations, notes for the cook, REPRINT marks). This one is a receipt-sized note
for the diner and needs none of that.
"""

import socket
import time
import unicodedata
from dataclasses import dataclass

from escpos.printer import Dummy

ESC_INIT = b"\x1b\x40"  # ESC @: reset modes a previous job left
FS_CHINESE_ON = b"\x1c\x26"  # FS &: double-byte (GB) mode, or Chinese prints as garbage
LF = b"\n"
COLUMNS = 48  # 80 mm paper, font A
ENCODING = "gb18030"


@dataclass(frozen=True, slots=True)
class SlipLine:
    qty: int
    name_zh: str
    name_en: str
    options: tuple[str, ...] = ()  # bilingual labels, e.g. "微辣 Mild"


@dataclass(frozen=True, slots=True)
class Slip:
    order_no: int
    total_fen: int
    lines: tuple[SlipLine, ...]
    created_at: float  # epoch seconds, printed in local time
    kiosk: str
    store_name: str = ""
    member: bool = False


def clean(text: str) -> str:
    """What the printer can print: no control characters (they could be printer commands),
    characters outside GBK (the printer's font) as "?"."""
    out = []
    for ch in text:
        if unicodedata.category(ch) == "Cc":
            out.append(" " if ch in "\t\n\r" else "")
            continue
        try:
            ch.encode("gbk")
        except UnicodeEncodeError:
            ch = "?"
        out.append(ch)
    return "".join(out)


def width(text: str) -> int:
    return sum(1 if ch.isascii() else 2 for ch in text)


def wrap(text: str, columns: int) -> list[str]:
    """Lines of at most `columns` printed columns (a Chinese character takes two)."""
    lines, line = [], ""
    for ch in clean(text):
        if width(line + ch) > columns:
            lines.append(line.rstrip())
            line = ch.lstrip()
        else:
            line += ch
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return lines


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


class _Page:
    def __init__(self) -> None:
        self.printer = Dummy()
        self.printer._raw(ESC_INIT + FS_CHINESE_ON)

    def block(self, text: str, size: int = 1, bold: bool = False, align: str = "left") -> None:
        # GS ! (custom_size) enlarges Chinese too; ESC ! would enlarge only ASCII.
        self.printer.set(
            custom_size=True, width=size, height=size, bold=bold, align=align, font="a"
        )
        for line in wrap(text, COLUMNS // size):
            self.printer._raw(line.encode(ENCODING) + LF)

    def finish(self) -> bytes:
        self.printer.set(custom_size=True, width=1, height=1, bold=False, align="left", font="a")
        self.printer.cut(mode="PART")
        data: bytes = self.printer.output
        return data


def render_slip(slip: Slip) -> bytes:
    page = _Page()
    if slip.store_name:
        page.block(slip.store_name, 2, bold=True, align="center")
    page.block("取餐号 Your number", bold=True, align="center")
    page.block(str(slip.order_no), 4, bold=True, align="center")
    page.block("-" * COLUMNS)
    for line in slip.lines:
        page.block(f"{line.qty} x {line.name_zh} {line.name_en}", bold=True)
        for option in line.options:
            page.block(f"  + {option}")
    page.block("-" * COLUMNS)
    page.block(f"合计 Total: {yuan(slip.total_fen)} 元", 2, bold=True, align="right")
    if slip.member:
        page.block("会员码已使用 Member code applied")
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(slip.created_at))
    page.block(f"{stamp}  {slip.kiosk}")
    page.block("请留意叫号屏 Watch the screen for your number", align="center")
    return page.finish()


@dataclass(frozen=True, slots=True)
class QueueSlip:
    """A waitlist number: the number to listen for, the party, the wait, the QR code of the
    number's phone page (docs/waitlist.md)."""

    number: str  # A012
    size: int
    ahead: int | None
    est: tuple[int, int] | None  # minutes
    url: str | None  # the phone page; None: no hub address configured, no QR code
    created_at: float
    kiosk: str
    store_name: str = ""


QR_MODULE_DOTS = 6  # 0.75 mm modules at 203 dpi: a phone reads it from a hand's length


def render_queue_slip(slip: QueueSlip) -> bytes:
    page = _Page()
    if slip.store_name:
        page.block(slip.store_name, 2, bold=True, align="center")
    page.block("排队号 Your number", bold=True, align="center")
    page.block(slip.number, 4, bold=True, align="center")
    page.block(f"{slip.size} 位 people", 2, align="center")
    if slip.ahead is not None:
        page.block(f"前面 {slip.ahead} 桌 · {slip.ahead} ahead of you", align="center")
    if slip.est is not None:
        low, high = slip.est
        page.block(f"预计等待 About {low}-{high} 分钟 min", align="center")
    if slip.url:
        # The printer draws the code itself (GS ( k, "native"): sharp at any resolution, and
        # the URL travels as text, which a test can read back from the bytes.
        page.printer.set(align="center")
        page.printer.qr(slip.url, size=QR_MODULE_DOTS, native=True)
        page.block("扫码查看排队进度 Scan to follow your number", align="center")
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(slip.created_at))
    page.block(f"{stamp}  {slip.kiosk}")
    page.block("过号请到前台 Missed it? Ask at the counter", align="center")
    return page.finish()


def send_slip(host: str, port: int, data: bytes, timeout: float = 5.0) -> None:
    """One job on its own connection; closing it tells the printer the job ended. Raises
    OSError when the printer cannot be reached or the send breaks off."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)

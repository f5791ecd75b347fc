"""Tickets for Chinese ESC/POS printers: data model and rendering to printer bytes."""

import re
import time
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from escpos.printer import Dummy

ESC_INIT = b"\x1b\x40"  # ESC @: reset modes left over from a previous job
FS_CHINESE_ON = b"\x1c\x26"  # FS &: double-byte (GB) mode, without it CJK bytes print as garbage
LF = b"\n"

# Size multipliers for GS ! (python-escpos custom_size). Its double_width/double_height use ESC !,
# which only enlarges single-byte characters: Chinese text would stay small.
_NORMAL = (1, 1)
_TALL = (1, 2)
_BIG = (2, 2)


class TicketKind(StrEnum):
    KITCHEN = "kitchen"
    VOID = "void"
    RECEIPT = "receipt"
    PRIZE = "prize"  # a game's free dish, made at its station (edge/games)


@dataclass(frozen=True, slots=True)
class TicketLine:
    name_zh: str
    name_en: str
    qty: int
    options: tuple[str, ...] = ()  # already bilingual, e.g. "微辣 Mild"
    note: str = ""
    line_total_fen: int = 0  # used on receipts (1 yuan = 100 fen)


@dataclass(frozen=True, slots=True)
class Ticket:
    kind: TicketKind
    job_id: str  # printed small at the bottom, so staff can match a paper ticket to the board
    station: str  # bilingual label, e.g. "热菜 Hot kitchen"
    table: str  # e.g. "A3" or "自助点餐机 Kiosk kiosk-01"
    order_no: int  # the number called on queue screens
    created_at: float  # epoch seconds, printed in local time as YYYY-MM-DD HH:MM:SS
    lines: tuple[TicketLine, ...]
    note: str = ""  # order note
    reprint: bool = False
    kiosk: bool = False  # `table` names the kiosk the order came from
    total_fen: int = 0  # receipts
    store_name: str = ""
    # A paid receipt's lines under the total: (bilingual label, value), e.g. the coupon, the
    # points used and earned, what was paid and the member's new balance.
    summary: tuple[tuple[str, str], ...] = ()


_HEADERS = {
    TicketKind.KITCHEN: "厨房单 KITCHEN",
    TicketKind.VOID: "作废 VOID",
    TicketKind.RECEIPT: "结账单 RECEIPT",
    TicketKind.PRIZE: "奖品 PRIZE",
}


def _printable_char(ch: str) -> str:
    if unicodedata.category(ch) == "Cc":
        # Control characters are how a diner's note could inject printer commands; line breaks
        # and tabs become a space so the words of a multi-line note stay apart.
        return " " if ch in "\t\n\r\v\f" else ""
    try:
        # Common printers only carry the GBK part of GB18030 in their font.
        ch.encode("gbk")
    except UnicodeEncodeError:
        return "?"
    return ch


def _clean(text: str) -> str:
    """What the printer can print of `text`: no control characters, non-GBK characters as "?"."""
    return "".join(_printable_char(ch) for ch in text)


def _width(ch: str) -> int:
    # Beyond East Asian wide characters, every character the printer gets as two GBK bytes
    # ("·", "×", "°") prints full width in double-byte mode.
    if unicodedata.east_asian_width(ch) in ("W", "F") or not ch.isascii():
        return 2
    return 1


def display_width(text: str) -> int:
    """Columns `text` takes on paper at normal size (after cleaning)."""
    return sum(_width(ch) for ch in text)


# Printable ASCII words, runs of spaces, or one other (CJK) character: after _clean() that is all.
_TOKEN = re.compile(r"[!-~]+| +|.", re.DOTALL)


def _wrap(text: str, width: int) -> list[str]:
    """Break `text` into lines of at most `width` display columns.

    Latin words stay whole where they fit; CJK text may break between any two characters.
    """
    lines: list[str] = []
    line = ""
    for token in _TOKEN.findall(text):
        if display_width(line + token) <= width:
            line += token
            continue
        if line.strip():
            lines.append(line.rstrip())
        line = "" if token.isspace() else token
        while display_width(line) > width:  # a word longer than a whole line
            cut = 1
            while display_width(line[: cut + 1]) <= width:
                cut += 1
            lines.append(line[:cut])
            line = line[cut:]
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return lines


def yuan(fen: int) -> str:
    return _yuan(fen)


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


class _Page:
    """Text blocks on a Dummy printer; every block states its whole style so none leaks on."""

    def __init__(self, columns: int) -> None:
        self.columns = columns
        self.printer = Dummy()
        self.printer._raw(ESC_INIT + FS_CHINESE_ON)

    def style(
        self,
        size: tuple[int, int] = _NORMAL,
        bold: bool = False,
        align: str = "left",
        invert: bool = False,
        small: bool = False,
    ) -> None:
        width, height = size
        self.printer.set(
            custom_size=True,
            width=width,
            height=height,
            bold=bold,
            align=align,
            invert=invert,
            font="b" if small else "a",
        )

    def raw_line(self, text: str) -> None:
        """`text` must already be clean and fit the line."""
        self.printer._raw(text.encode("gb18030") + LF)

    def block(
        self,
        text: str,
        size: tuple[int, int] = _NORMAL,
        bold: bool = False,
        align: str = "left",
        invert: bool = False,
        small: bool = False,
        indent: str = "",
    ) -> None:
        self.style(size, bold, align, invert, small)
        for line in _wrap(_clean(text), self.columns // size[0] - len(indent)):
            self.raw_line(indent + line)

    def amount_block(self, text: str, amount: str, size: tuple[int, int], bold: bool) -> None:
        """`text` on the left and `amount` right-aligned on its first line."""
        self.style(size, bold)
        columns = self.columns // size[0]
        lines = _wrap(_clean(text), columns - len(amount) - 1)
        gap = columns - display_width(lines[0]) - len(amount)
        self.raw_line(lines[0] + " " * gap + amount)
        for line in lines[1:]:
            self.raw_line(line)

    def finish(self) -> bytes:
        self.style()
        self.printer.cut(mode="PART")
        data: bytes = self.printer.output
        return data


def render(ticket: Ticket, columns: int = 48) -> bytes:
    page = _Page(columns)
    void = ticket.kind is TicketKind.VOID
    receipt = ticket.kind is TicketKind.RECEIPT
    prize = ticket.kind is TicketKind.PRIZE

    if ticket.reprint:
        page.block("补打 REPRINT", _BIG, bold=True, align="center", invert=True)
    if receipt and ticket.store_name:
        page.block(ticket.store_name, _BIG, bold=True, align="center")
    # A void and a prize stand out (white on black): the cook must not make it as a sale.
    page.block(_HEADERS[ticket.kind], _BIG, bold=True, align="center", invert=void or prize)
    if not receipt:
        page.block(ticket.station, bold=True)
    # A kiosk order has no table: its "where" (the kiosk) stands in the table's place.
    where = ticket.table if ticket.kiosk else f"桌 Table {ticket.table}"
    page.block(where, _BIG, bold=True)
    page.block(f"单号 No. {ticket.order_no}", _BIG, bold=True)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ticket.created_at))
    page.block(f"时间 Time: {stamp}")
    page.block("-" * columns)

    for line in ticket.lines:
        # A cook reads the dish lines, not the header: each one of a void ticket must say so.
        marker = "作废 VOID " if void else "奖品 PRIZE " if prize else ""
        dish = f"{marker}{line.qty} x {line.name_zh}"
        if receipt:
            page.amount_block(dish, _yuan(line.line_total_fen), _TALL, bold=True)
        else:
            page.block(dish, _TALL, bold=True, invert=void)
        if line.name_en:
            page.block(line.name_en)
        for option in line.options:
            page.block(option, indent="  + ")
        if line.note:
            page.block(f"备注 Note: {line.note}", bold=True, indent="  ")

    page.block("-" * columns)
    if receipt:
        page.block(f"合计 Total: {_yuan(ticket.total_fen)} 元", _TALL, bold=True, align="right")
        for label, value in ticket.summary:
            page.amount_block(label, value, (1, 1), bold=False)
    if ticket.note:
        page.block(f"整单备注 Order note: {ticket.note}", bold=True)
    page.block(ticket.job_id, small=True, align="center")
    return page.finish()

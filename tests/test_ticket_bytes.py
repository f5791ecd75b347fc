"""What a cook sees on paper: rendered tickets decoded back to text, and delivery over TCP."""

import socket
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from devices.virtual_printer import VirtualPrinter, decode_text
from edge.printing.tickets import (
    Ticket,
    TicketKind,
    TicketLine,
    display_width,
    render,
)
from edge.printing.transport import PrinterUnreachable, PrintInterrupted, send

# ESC/POS commands, from the command reference (not from the code under test).
ESC, GS, FS = b"\x1b", b"\x1d", b"\x1c"
INIT = ESC + b"@"  # ESC @: initialise the printer
CHINESE_ON = FS + b"&"  # FS &: double-byte (GB) characters
LEFT, CENTER = 0, 1


def style(
    width: int = 1, height: int = 1, bold: bool = False, align: int = LEFT, font_b: bool = False
) -> bytes:
    """GS ! n (size: width-1 in the high nibble, height-1 in the low), ESC E n (bold),
    ESC M n (font A/B), ESC a n (0 left, 1 center, 2 right), GS B n (white on black: off)."""
    size = (width - 1) << 4 | (height - 1)
    return (
        GS + b"!" + bytes([size])
        + ESC + b"E" + bytes([bold])
        + ESC + b"M" + bytes([font_b])
        + ESC + b"a" + bytes([align])
        + GS + b"B" + b"\x00"
    )  # fmt: skip


KUNG_PAO = TicketLine(
    name_zh="宫保鸡丁",
    name_en="Kung Pao Chicken",
    qty=2,
    options=("微辣 Mild", "不要葱 No scallion"),
    note="花生过敏 peanut allergy",
    line_total_fen=7600,
)


KITCHEN = Ticket(
    kind=TicketKind.KITCHEN,
    job_id="job-0042",
    station="热菜 Hot kitchen",
    table="A3",
    order_no=12,
    created_at=1_714_540_000.0,
    lines=(KUNG_PAO,),
)


@pytest.fixture
def printer() -> Iterator[VirtualPrinter]:
    stub = VirtualPrinter().start()
    yield stub
    stub.stop()


def test_kitchen_ticket_prints_chinese_dish_options_and_table() -> None:
    text = decode_text(render(replace(KITCHEN, note="打包 To go")))
    lines = text.split("\n")
    assert "厨房单 KITCHEN" in lines
    assert "热菜 Hot kitchen" in lines
    assert "桌 Table A3" in lines
    assert "单号 No. 12" in lines
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(1_714_540_000.0))
    assert f"时间 Time: {stamp}" in lines
    assert "2 x 宫保鸡丁" in lines
    assert "Kung Pao Chicken" in lines
    assert "  + 微辣 Mild" in lines
    assert "  + 不要葱 No scallion" in lines
    assert "  备注 Note: 花生过敏 peanut allergy" in lines
    assert "整单备注 Order note: 打包 To go" in lines
    assert lines[-1] == "job-0042"
    assert "REPRINT" not in text


def test_bytes_start_with_init_enter_chinese_mode_first_and_end_with_partial_cut() -> None:
    data = render(KITCHEN)
    assert data.startswith(INIT)
    first_double_byte = next(i for i, byte in enumerate(data) if byte >= 0x80)
    assert data.index(CHINESE_ON) < first_double_byte
    assert data.endswith(b"\x1bd\x06\x1dV\x01")  # feed past the cutter, then partial cut


def test_a_kitchen_ticket_is_exactly_these_bytes() -> None:
    ticket = replace(KITCHEN, lines=(TicketLine(name_zh="米饭", name_en="Rice", qty=1),))
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(1_714_540_000.0))
    rule = b"-" * 48 + b"\n"
    expected = (
        INIT
        + CHINESE_ON
        + style(2, 2, bold=True, align=CENTER) + "厨房单 KITCHEN\n".encode("gb18030")
        + style(bold=True) + "热菜 Hot kitchen\n".encode("gb18030")
        + style(2, 2, bold=True) + "桌 Table A3\n".encode("gb18030")
        + style(2, 2, bold=True) + "单号 No. 12\n".encode("gb18030")
        + style() + f"时间 Time: {stamp}\n".encode("gb18030")
        + style() + rule
        + style(1, 2, bold=True) + "1 x 米饭\n".encode("gb18030")
        + style() + b"Rice\n"
        + style() + rule
        + style(align=CENTER, font_b=True) + b"job-0042\n"
        + style()
        + ESC + b"d\x06"  # feed 6 lines: past the cutter
        + GS + b"V\x01"  # partial cut
    )  # fmt: skip
    assert render(ticket) == expected


def test_reprint_banner_only_on_reprints() -> None:
    assert decode_text(render(replace(KITCHEN, reprint=True))).split("\n")[0] == "补打 REPRINT"
    assert "补打" not in decode_text(render(replace(KITCHEN, reprint=False)))


def test_void_ticket_says_void_on_the_header_and_every_dish() -> None:
    second = TicketLine(name_zh="米饭", name_en="Rice", qty=1)
    lines = decode_text(
        render(replace(KITCHEN, kind=TicketKind.VOID, lines=(KUNG_PAO, second)))
    ).split("\n")
    assert "作废 VOID" in lines
    assert "作废 VOID 2 x 宫保鸡丁" in lines
    assert "作废 VOID 1 x 米饭" in lines
    assert "厨房单 KITCHEN" not in lines


def test_receipt_shows_store_line_totals_and_total() -> None:
    data = render(replace(KITCHEN, kind=TicketKind.RECEIPT, total_fen=7600, store_name="老王川菜"))
    lines = decode_text(data).split("\n")
    assert lines[:2] == ["老王川菜", "结账单 RECEIPT"]
    dish = next(line for line in lines if line.startswith("2 x 宫保鸡丁"))
    assert dish.endswith(" 76.00")
    assert display_width(dish) == 48  # right-aligned to the edge of the paper
    assert "合计 Total: 76.00 元" in lines


def test_note_cannot_inject_printer_commands_and_markup_prints_literally() -> None:
    data = render(replace(KITCHEN, note="\x1b@\x1dV\x00<b>x</b>\x9b\x7f"))
    assert "整单备注 Order note: @V<b>x</b>" in decode_text(data).split("\n")
    note_line = data[data.index("整单备注".encode("gb18030")) :].split(b"\n")[0]
    assert note_line == "整单备注 Order note: @V<b>x</b>".encode("gb18030")
    assert data.count(INIT) == 1


def test_line_breaks_in_a_note_keep_the_words_apart() -> None:
    dish = TicketLine(name_zh="米饭", name_en="Rice", qty=1, note="少饭\nless rice\tplease")
    assert "  备注 Note: 少饭 less rice please" in decode_text(
        render(replace(KITCHEN, lines=(dish,)))
    )


def test_characters_outside_gbk_become_question_marks() -> None:
    dish = TicketLine(name_zh="辣子鸡🌶", name_en="Chili chicken", qty=1)
    assert "1 x 辣子鸡?" in decode_text(render(replace(KITCHEN, lines=(dish,)))).split("\n")


def test_long_dish_name_wraps_within_the_paper_width() -> None:
    name = "秘制" + "特别好吃的" * 6 + "红烧肉"
    dish = TicketLine(name_zh=name, name_en="Braised pork " * 5, qty=1)
    lines = decode_text(render(replace(KITCHEN, lines=(dish,)), columns=32)).split("\n")
    assert all(display_width(line) <= 32 for line in lines)
    start = lines.index(next(line for line in lines if line.startswith("1 x ")))
    wrapped = lines[start : start + 3]
    assert "".join(wrapped) == f"1 x {name}"
    # English breaks between words.
    assert lines[start + 3 : start + 6] == [
        "Braised pork Braised pork",
        "Braised pork Braised pork",
        "Braised pork",
    ]


def test_double_width_lines_wrap_at_half_the_columns() -> None:
    lines = decode_text(render(replace(KITCHEN, table="自助点餐机 Kiosk kiosk-01"))).split("\n")
    # 34 columns would fit 48, but twice as wide they get 24.
    at = lines.index("桌 Table 自助点餐机")
    assert lines[at + 1] == "Kiosk kiosk-01"


def test_send_delivers_exactly_the_rendered_bytes(printer: VirtualPrinter) -> None:
    data = render(KITCHEN)
    send("127.0.0.1", printer.port, data)
    assert printer.wait_jobs(1) == [data]


def test_each_send_is_one_job(printer: VirtualPrinter) -> None:
    send("127.0.0.1", printer.port, b"one")
    send("127.0.0.1", printer.port, b"two")
    assert sorted(printer.wait_jobs(2)) == [b"one", b"two"]


def test_printer_off_is_unreachable_and_back_on_the_same_port_prints() -> None:
    stub = VirtualPrinter().start()
    port = stub.port
    stub.stop()
    with pytest.raises(PrinterUnreachable, match=f"printer 127.0.0.1:{port} unreachable"):
        send("127.0.0.1", port, b"lost", timeout=2.0)

    back = VirtualPrinter(port).start()
    try:
        data = render(KITCHEN)
        send("127.0.0.1", port, data)
        assert back.wait_jobs(1) == [data]  # only the job sent once it was back
    finally:
        back.stop()


def test_printer_that_stops_reading_mid_job_is_an_interrupted_print() -> None:
    # The kernel completes the connection, but nobody reads: 64 MiB outgrows the socket buffers
    # (Linux allows at most 32 MiB receive + 4 MiB send by default), so sendall() times out.
    with socket.create_server(("127.0.0.1", 0)) as stalled:
        port = stalled.getsockname()[1]
        # Connected, so not "unreachable": the printer may have printed part of it.
        with pytest.raises(PrintInterrupted, match=f"printer 127.0.0.1:{port}: sending failed"):
            send("127.0.0.1", port, bytes(64 << 20), timeout=0.2)


@pytest.mark.parametrize(
    "data",
    [b"\x1b@\x1bz\x00", b"\x1b@\x1d!", b"\x1b@\x07", "宫".encode("gb18030")],
    ids=["unknown", "truncated", "bell", "chinese-without-FS&"],
)
def test_decode_rejects_bytes_it_does_not_understand(data: bytes) -> None:
    with pytest.raises(ValueError):
        decode_text(data)

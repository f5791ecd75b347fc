"""Printers tell the hub how they are, on the port it prints on (ESC/POS DLE EOT): the software
printer answers as the Epson reference says, and the real hub raises and clears the printer's
alarms from the answers, holds tickets while the printer cannot print, asks before and after
each ticket on the ticket's own connection, and never in the middle of one."""

import secrets
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from escpos.constants import (
    RT_MASK_LOWPAPER,
    RT_MASK_NOPAPER,
    RT_MASK_ONLINE,
    RT_MASK_PAPER,
    RT_STATUS_ONLINE,
    RT_STATUS_PAPER,
)
from escpos.printer import Network

from contract.const import CoverState, PaperLevel
from contract.printer_status import (
    REQUEST_OFFLINE_CAUSE,
    REQUEST_PRINTER,
    REQUEST_ROLL_PAPER,
    PrinterStatus,
    RealtimeScanner,
    StatusRequest,
)
from devices.virtual_printer import VirtualPrinter, decode_text
from tests.ordering import TEA, Kitchen, kitchen
from tests.support import until_marker, wait_until

BAR = "printer-03"  # the bar's printer in tests.ordering's kitchen
RICE = {"dish": "rice", "qty": 1}
PLUM = {"dish": "plum", "qty": 1}
# Its idle printers asked every 0.2 s: a change shows within a second.
FAST_POLL = {"printer_status_every_s": 0.2}


def key() -> str:
    return "k-" + secrets.token_hex(10)


def ask(port: int, *requests: int) -> bytes:
    """Send DLE EOT n for each n on one connection to 127.0.0.1:`port`; the bytes answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"".join(bytes([0x10, 0x04, n]) for n in requests))
        answer = b""
        while len(answer) < len(requests):
            chunk = sock.recv(16)
            assert chunk, f"closed after {answer!r}"
            answer += chunk
        return answer


def alarms(k: Kitchen, device: str = BAR) -> list[str]:
    return sorted(a["kind"] for a in k.staff.get("/api/alarms").json() if a["device"] == device)


def device(k: Kitchen, device_id: str = BAR) -> dict[str, object]:
    found: dict[str, object] = next(
        d for d in k.staff.get("/api/devices").json() if d["id"] == device_id
    )
    return found


def bar_job(k: Kitchen, order_id: str) -> dict[str, object]:
    order = next(o for o in k.staff.get("/api/orders").json()["orders"] if o["id"] == order_id)
    job: dict[str, object] = next(j for j in order["print"] if j["station"] == "bar")
    return job


def strip_requests(wire: bytes) -> tuple[list[int], bytes, list[int]]:
    """A connection's bytes as (requests before the data, the data, requests after it)."""
    parts = RealtimeScanner().feed(wire)
    data = [p for p in parts if isinstance(p, bytes)]
    assert len(data) <= 1, f"status requests in the middle of a ticket: {parts!r}"
    if not data:
        return [int(p) for p in parts if isinstance(p, StatusRequest)], b"", []
    at = parts.index(data[0])
    before = [int(p) for p in parts[:at] if isinstance(p, StatusRequest)]
    after = [int(p) for p in parts[at + 1 :] if isinstance(p, StatusRequest)]
    return before, data[0], after


def test_the_software_printer_answers_dle_eot_as_the_epson_reference_says() -> None:
    printer = VirtualPrinter().start()
    try:
        # n = 1 printer, 2 offline cause, 3 error cause, 4 roll paper sensor. Bits 1 and 4 are
        # fixed on, 0 and 7 off: 0x12 is "nothing to report".
        assert ask(printer.port, 1, 2, 3, 4) == bytes([0x12, 0x12, 0x12, 0x12])
        printer.set_state(paper=PaperLevel.LOW)  # near-end sensor: bits 2 and 3
        assert ask(printer.port, 1, 2, 3, 4) == bytes([0x12, 0x12, 0x12, 0x1E])
        # Paper end: offline (n=1 bit 3), stopped by paper end (n=2 bit 5), end sensor
        # (n=4 bits 5 and 6).
        printer.set_state(paper=PaperLevel.OUT)
        assert ask(printer.port, 1, 2, 3, 4) == bytes([0x1A, 0x32, 0x12, 0x72])
        printer.set_state(paper=PaperLevel.OK, cover=CoverState.OPEN)  # offline, n=2 bit 2
        assert ask(printer.port, 1, 2, 3, 4) == bytes([0x1A, 0x16, 0x12, 0x12])
        printer.set_state(cover=CoverState.CLOSED)
        printer.drawer_pin3_high = True  # n=1 bit 2
        assert ask(printer.port, 1) == bytes([0x16])
        printer.drawer_pin3_high = False
        # A request split over two sends is one request; DLE EOT 5 is no request (data).
        with socket.create_connection(("127.0.0.1", printer.port), timeout=5) as sock:
            sock.sendall(b"\x10")
            time.sleep(0.1)
            sock.sendall(b"\x04\x04")
            assert sock.recv(16) == b"\x12"
        assert list(printer.requests)[-1] == StatusRequest.ROLL_PAPER
        # Connections that only asked are no jobs.
        assert printer.jobs == []

        # python-escpos, which the hub uses to ask, reads the answers the same way.
        assert (REQUEST_PRINTER, REQUEST_ROLL_PAPER) == (RT_STATUS_ONLINE, RT_STATUS_PAPER)
        assert (RT_MASK_ONLINE, RT_MASK_PAPER, RT_MASK_LOWPAPER, RT_MASK_NOPAPER) == (
            0x08,
            0x12,
            0x1E,
            0x72,
        )
        seen = []
        for paper, cover in [
            (PaperLevel.OK, CoverState.CLOSED),
            (PaperLevel.LOW, CoverState.CLOSED),
            (PaperLevel.OUT, CoverState.CLOSED),
            (PaperLevel.OK, CoverState.OPEN),
        ]:
            printer.set_state(paper=paper, cover=cover)
            escpos = Network("127.0.0.1", printer.port, timeout=5)
            escpos.open()
            try:
                seen.append((escpos.is_online(), escpos.paper_status()))
            finally:
                escpos.close()
        assert seen == [(True, 2), (True, 1), (False, 0), (False, 2)]
    finally:
        printer.stop()


def test_answers_read_back_to_the_state_that_gave_them() -> None:
    for paper in PaperLevel:
        for cover in CoverState:
            status = PrinterStatus.of(paper, cover)
            answers = [status.answer(n) for n in (1, 2, 4)]
            assert PrinterStatus.from_answers(*answers) == status
    # A printer whose near-end sensor also sees the end (0x7E) is out of paper; an online
    # printer's offline cause is not asked (None).
    assert PrinterStatus.from_answers(0x1A, 0x32, 0x7E).paper is PaperLevel.OUT
    assert PrinterStatus.from_answers(0x12, None, 0x1E) == PrinterStatus.of(PaperLevel.LOW)
    # Offline with an error and neither paper nor cover to blame: a fault.
    assert PrinterStatus.from_answers(0x1A, 0x52, 0x12).fault


@pytest.mark.parametrize(
    ("name", "break_it", "fix_it", "alarm", "asked"),
    [
        (
            "paper near end",
            lambda p: p.set_state(paper=PaperLevel.LOW),
            lambda p: p.set_state(paper=PaperLevel.OK),
            "paper_low",
            REQUEST_PRINTER + REQUEST_ROLL_PAPER,
        ),
        (
            "paper out",
            lambda p: p.set_state(paper=PaperLevel.OUT),
            lambda p: p.set_state(paper=PaperLevel.OK),
            "paper_out",
            REQUEST_PRINTER + REQUEST_OFFLINE_CAUSE + REQUEST_ROLL_PAPER,
        ),
        (
            "cover open",
            lambda p: p.set_state(cover=CoverState.OPEN),
            lambda p: p.set_state(cover=CoverState.CLOSED),
            "cover_open",
            REQUEST_PRINTER + REQUEST_OFFLINE_CAUSE + REQUEST_ROLL_PAPER,
        ),
        ("power off", lambda p: p.power_off(), lambda p: p.power_on(), "printer_offline", b""),
    ],
    ids=["paper_near_end", "paper_out", "cover_open", "power_off"],
)
def test_the_printers_answer_raises_the_alarm_and_clears_it_when_fixed(
    tmp_path: Path,
    store: str,
    name: str,
    break_it: Callable[[VirtualPrinter], object],
    fix_it: Callable[[VirtualPrinter], object],
    alarm: str,
    asked: bytes,
) -> None:
    with kitchen(tmp_path, store, **FAST_POLL) as k:
        bar = k.printers["bar"]
        # Asked right at start, and all is well: no alarm, the board knows its paper.
        wait_until(lambda: device(k)["paper"] == "ok", what="the hub to ask the printer")
        assert (alarms(k), device(k)["state"]) == ([], "unknown")  # no bridge on MQTT
        assert bar.jobs == []

        break_it(bar)
        wait_until(lambda: alarms(k) == [alarm], what=f"{name}: only the {alarm} alarm")
        if asked:
            # The idle poll's own connection: exactly these questions, nothing printed.
            wait_until(lambda: list(bar.wire)[-1] == asked, what=f"{asked!r} on the wire")
        fix_it(bar)
        wait_until(lambda: alarms(k) == [], what=f"{name} fixed: the alarm to clear")
        fine = REQUEST_PRINTER + REQUEST_ROLL_PAPER
        wait_until(lambda: list(bar.wire)[-1] == fine, what=f"{fine!r} on the wire")
        assert bar.jobs == []
        for station in ("hot", "cold"):
            assert k.printers[station].jobs == []
        assert device(k)["paper"] == "ok" and device(k)["printer_online"] is True


def test_a_ticket_held_while_paper_is_out_prints_once_after_refill(
    tmp_path: Path, store: str
) -> None:
    with kitchen(tmp_path, store, **FAST_POLL) as k:
        bar = k.printers["bar"]
        bar.set_state(paper=PaperLevel.OUT)
        wait_until(lambda: alarms(k) == ["paper_out"], what="a paper-out alarm")
        # Tea for the bar, rice for the hot kitchen: once the rice is printed, the tea was due.
        order = k.order(k.token(), [TEA, RICE], key()).json()
        k.tickets("hot", 1)
        asked = len(bar.requests)
        wait_until(lambda: len(bar.requests) > asked + 3, what="the hub to keep asking")
        job = bar_job(k, order["id"])
        assert (job["status"], job["attempts"], job["error"]) == ("pending", 0, None)
        assert bar.jobs == []
        # Everything the bar's printer got was questions.
        assert all(strip_requests(w)[1] == b"" for w in bar.wire)

        bar.set_state(paper=PaperLevel.OK)
        [ticket] = k.tickets("bar", 1)
        assert "菊花茶" in ticket and "REPRINT" not in ticket
        wait_until(lambda: alarms(k) == [], what="the alarm to clear")
        # Printed once: the next order is the bar's second ticket.
        k.order(k.token(), [PLUM], key())
        printed = until_marker(bar.jobs, lambda job: "酸梅汤" in decode_text(job), "the next")
        assert [f"No. {order['no']}" in decode_text(job) for job in printed] == [True, False]
        assert bar_job(k, order["id"])["attempts"] == 1


def test_asked_before_each_ticket_and_after_it_on_the_tickets_connection(
    tmp_path: Path, store: str
) -> None:
    """No idle polling: what the hub learns, it learns around the tickets themselves."""
    with kitchen(tmp_path, store, printer_status_every_s=0) as k:
        bar = k.printers["bar"]
        # The roll runs low while the first ticket prints: the question after it says so.
        bar.on_data = lambda _data: bar.set_state(paper=PaperLevel.LOW)
        first = k.order(k.token(), [TEA], key()).json()
        [ticket] = k.tickets("bar", 1)
        wait_until(lambda: alarms(k) == ["paper_low"], what="the answer after the ticket")
        [wire] = [w for w in bar.wire if strip_requests(w)[1]]
        assert strip_requests(wire) == ([1, 4], bar.jobs[0], [1, 4])
        assert wire == REQUEST_PRINTER + REQUEST_ROLL_PAPER + bar.jobs[0] + wire[-6:]
        assert "菊花茶" in ticket

        # Out before the next ticket: the question before it, on its connection, holds it.
        bar.on_data = None
        bar.set_state(paper=PaperLevel.OUT)
        second = k.order(k.token(), [PLUM], key()).json()
        wait_until(lambda: alarms(k) == ["paper_out"], what="the answer before the ticket")
        job = bar_job(k, second["id"])
        assert (job["status"], job["attempts"]) == ("pending", 0)
        out = REQUEST_PRINTER + REQUEST_OFFLINE_CAUSE + REQUEST_ROLL_PAPER
        wait_until(lambda: list(bar.wire)[-1] == out, what="asked, and sent nothing")
        assert len(bar.jobs) == 1
        bar.set_state(paper=PaperLevel.OK)
        tickets = k.tickets("bar", 2)
        assert f"No. {second['no']}" in tickets[1] and f"No. {first['no']}" in tickets[0]
        wait_until(lambda: alarms(k) == [], what="the alarm to clear")


def test_a_printer_that_does_not_answer_is_unknown_and_still_prints(
    tmp_path: Path, store: str
) -> None:
    with kitchen(tmp_path, store, printer_status_every_s=0.2, printer_status_timeout_s=0.2) as k:
        old = k.printers["bar"]
        old.stop()
        mute = k.printers["bar"] = VirtualPrinter(old.port, answer_status=False).start()
        wait_until(lambda: len(mute.requests) >= 3, what="the hub to ask, in vain")
        order = k.order(k.token(), [TEA], key()).json()
        [ticket] = k.tickets("bar", 1)
        assert "菊花茶" in ticket
        # Asked once before the ticket, not again after it (it would not answer either).
        [wire] = [w for w in mute.wire if strip_requests(w)[1]]
        assert strip_requests(wire) == ([1], mute.jobs[0], [])
        wait_until(lambda: bar_job(k, order["id"])["status"] == "sent", what="sent")
        # Unknown: no alarm, and what it said before it went mute still stands.
        assert alarms(k) == []
        assert (device(k)["paper"], device(k)["printer_online"]) == ("ok", True)


def test_status_questions_never_come_in_the_middle_of_a_ticket(tmp_path: Path, store: str) -> None:
    with kitchen(tmp_path, store, printer_status_every_s=0.02) as k:
        orders = [k.order(k.token(), [TEA, RICE], key()).json() for _ in range(6)]
        bar, hot = k.printers["bar"], k.printers["hot"]
        bar.wait_jobs(6)
        hot.wait_jobs(6)
        for printer in (bar, hot):
            assert printer.most_connections == 1  # one connection at a time
            jobs = [strip_requests(w) for w in printer.wire if strip_requests(w)[1]]
            assert [data for _, data, _ in jobs] == printer.jobs  # whole, in order
            assert all((before, after) == ([1, 4], [1, 4]) for before, _, after in jobs)
        assert len(orders) == 6


def test_a_printer_switched_off_with_tickets_waiting_has_one_alarm(
    tmp_path: Path, store: str
) -> None:
    with kitchen(tmp_path, store, **FAST_POLL) as k:
        bar = k.printers["bar"]
        bar.power_off()
        wait_until(lambda: alarms(k) == ["printer_offline"], what="printer offline")
        # A ticket for it: now "unreachable, tickets waiting" says it all, in its place.
        order = k.order(k.token(), [TEA], key()).json()
        wait_until(lambda: alarms(k) == ["print_failed"], what="print_failed instead")
        job = bar_job(k, order["id"])
        assert job["status"] == "pending" and int(str(job["attempts"])) >= 1
        bar.power_on()
        [ticket] = k.tickets("bar", 1, timeout=20)
        assert "菊花茶" in ticket and "REPRINT" not in ticket
        wait_until(lambda: alarms(k) == [], what="both gone")

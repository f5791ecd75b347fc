"""Kiosks order over MQTT (request/reply by id); the hub survives SIGKILL between accepting an
order and sending its ticket, and between marking it `sending` and its first byte."""

import json
import secrets
import time
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from contract import Channel
from contract.const import PaperLevel
from contract.menu import load_menu
from devices.virtual_printer import VirtualPrinter, decode_text
from edge.config import Settings
from edge.db import make_engine
from edge.printing.models import PENDING, SENDING, SENT, PrintJob
from edge.printing.spooler import build_ticket
from edge.printing.tickets import Ticket, render
from smartstore.samples import SAMPLE_MENU
from tests.faults import HungPrinter, connecting_to, query
from tests.ordering import KUNGPAO, kitchen
from tests.support import (
    PIN,
    STAFF,
    Broker,
    HubProcess,
    hub_settings,
    make_inventory,
    run_hub_process,
    start_broker,
    until_marker,
    wait_until,
)


def _acks(lines: list[str], event_id: str) -> list[dict[str, object]]:
    return [a for line in lines if (a := json.loads(line))["id"] == event_id]


def test_a_kiosk_orders_over_mqtt_and_a_resend_is_the_same_order(
    tmp_path: Path, store: str
) -> None:
    with kitchen(tmp_path, store) as k:
        event = f"kiosk-01-{secrets.token_hex(4)}-1"
        order = {
            "v": 1,
            "id": event,
            "type": "order",
            "lines": [
                {"dish": "mapo", "qty": 1, "options": {"spice": "medium"}},
                {"dish": "plum", "qty": 2, "price_fen": 1},
            ],
        }
        topic = f"store/{store}/kiosk/kiosk-01/event"
        with k.broker.sub("kiosk-01", f"store/{store}/kiosk/kiosk-01/ack") as acks:
            k.broker.pub("kiosk-01", topic, json.dumps(order))
            wait_until(lambda: _acks(acks, event), what="the kiosk's ack")
            k.broker.pub("kiosk-01", topic, json.dumps(order))  # no ack seen yet: resend
            wait_until(lambda: len(_acks(acks, event)) == 2, what="the resend's ack")
            first, second = _acks(acks, event)
            assert first["status"] == "ok" and first == second
            data = first["data"]
            assert isinstance(data, dict) and data["total_fen"] == 2600 + 2 * 1000

            bad = {
                **order,
                "id": f"kiosk-01-{secrets.token_hex(4)}-2",
                "lines": [{"dish": "x", "qty": 1}],
            }
            k.broker.pub("kiosk-01", topic, json.dumps(bad))
            wait_until(lambda: _acks(acks, str(bad["id"])), what="the refusal")
            [refused] = _acks(acks, str(bad["id"]))
            assert refused["status"] == "rejected" and refused["error"] == "unknown_dish"

            # A member code that names no one (made up, or a screenshot from yesterday): the
            # diner reads why, and nothing is placed.
            forged = {
                **order,
                "id": f"kiosk-01-{secrets.token_hex(4)}-3",
                "member": "SSM1:MABCDEFGH23456789:1:AAAAAAAAAAAAAAAA",
            }
            k.broker.pub("kiosk-01", topic, json.dumps(forged))
            wait_until(lambda: _acks(acks, str(forged["id"])), what="the refusal")
            [refused] = _acks(acks, str(forged["id"]))
            assert refused["status"] == "rejected"
            assert refused["error"] == "unknown_member_code"
            assert isinstance(refused["data"], dict)
            assert "会员码无效" in str(refused["data"]["message"])
        [hot] = k.tickets("hot", 1)
        assert "麻婆豆腐" in hot and "Kiosk" in hot
        [bar] = k.tickets("bar", 1)
        assert "酸梅汤" in bar
        time.sleep(0.5)
        assert len(k.printers["hot"].jobs) == 1
        staff_view = k.staff.get("/api/orders").json()["orders"]
        assert [o["source"] for o in staff_view] == ["kiosk"]


def _order_kung_pao(hub: HubProcess) -> None:
    with httpx.Client(base_url=hub.base_url, timeout=10) as c:
        c.post("/api/login", json={"name": STAFF, "pin": PIN}).raise_for_status()
        path = next(t["qr_path"] for t in c.get("/api/tables").json()["tables"])
        r = c.post(
            f"/api/diner/{path.rsplit('/', 1)[1]}/orders",
            json={"key": "k-" + secrets.token_hex(10), "lines": [KUNGPAO]},
        )
        assert r.status_code == 201, r.text  # committed, with its print job


def _printed_once(hub: HubProcess, printer: VirtualPrinter, uid: str) -> list[bytes]:
    """What `printer` printed up to a marker: job `uid`'s ticket, then a later order's. The
    spooler sends a printer's jobs in order, so a second copy of `uid` would be before it."""
    printer.wait_jobs(1, timeout=15)
    _order_kung_pao(hub)
    upto = until_marker(
        printer.jobs, lambda b: not decode_text(b).endswith(uid), "the next order's ticket"
    )
    return upto[:-1]


def _print_jobs(settings: Settings) -> list[tuple[str, str, int, int]]:
    """(uid, status, reprint, attempts) of every print job, from the hub's SQLite file."""
    return [
        (str(uid), str(status), int(reprint), int(attempts))
        for uid, status, reprint, attempts in query(
            settings.db_path, "SELECT uid, status, reprint, attempts FROM print_jobs ORDER BY id"
        )
    ]


def _expected_ticket(settings: Settings, uid: str) -> Ticket:
    """The ticket the hub's database says job `uid` prints, rendered as the spooler does."""
    engine = make_engine(settings.db_path)
    try:
        with Session(engine) as session:
            job = session.scalar(select(PrintJob).where(PrintJob.uid == uid))
            assert job is not None
            return build_ticket(session, load_menu(SAMPLE_MENU), job, settings.store_name)
    finally:
        engine.dispose()


def _report_paper(broker: Broker, settings: Settings, level: PaperLevel) -> None:
    """printer-01's bridge reports its paper (QoS 0: again until the hub has it)."""
    topic = broker.topic("printer-01", Channel.TELEMETRY)
    payload = json.dumps({"v": 1, "paper": level.value})

    def known() -> bool:
        sql = "SELECT paper FROM devices WHERE id = 'printer-01'"
        if query(settings.db_path, sql) == [(level.value,)]:
            return True
        broker.pub("printer-01", topic, payload, qos=0)
        time.sleep(0.2)
        return False

    wait_until(known, what=f"the hub to know printer-01's paper is {level.value}")


def test_hub_killed_with_a_ticket_accepted_but_not_sent_prints_it_once(
    tmp_path: Path, store: str
) -> None:
    """Killed while the job waits (its printer reports paper out): the hub knows nothing was
    sent, so after the restart the ticket prints once, not marked REPRINT."""
    with ExitStack() as cleanup:
        hot = VirtualPrinter().start()
        cleanup.callback(hot.stop)
        broker = start_broker(
            tmp_path / "mqtt", make_inventory(store, printer_ports={"hot": hot.port})
        )
        cleanup.callback(broker.stop)
        settings = hub_settings(broker, tmp_path / "hub")
        hub = run_hub_process(settings, tmp_path / "hub.log")
        cleanup.callback(lambda: hub.kill())  # whichever hub runs by then

        _report_paper(broker, settings, PaperLevel.OUT)
        _order_kung_pao(hub)
        time.sleep(1.5)  # the spooler's idle tick, then another look: still held
        hub.kill()
        # The window: committed and waiting, never claimed; the printer got nothing.
        [(uid, status, reprint, attempts)] = _print_jobs(settings)
        assert (status, reprint, attempts) == (PENDING, 0, 0)
        assert hot.jobs == []

        hub = run_hub_process(settings, tmp_path / "hub2.log")
        _report_paper(broker, settings, PaperLevel.OK)
        [data] = _printed_once(hub, hot, uid)
        assert _print_jobs(settings)[0] == (uid, SENT, 0, 1)
        expected = _expected_ticket(settings, uid)
    assert not expected.reprint and data == render(expected)
    text = decode_text(data)
    assert "宫保鸡丁" in text and "REPRINT" not in text and text.endswith(uid)


def test_hub_killed_between_committing_sending_and_the_first_byte_reprints_once(
    tmp_path: Path, store: str
) -> None:
    """The spooler commits the job as `sending`, then connects. Its printer takes no connection
    (the hub's connect() hangs in SYN retries) and the hub is SIGKILLed there: the job is
    committed `sending`, not a byte was sent. After the restart the hub cannot know whether the
    ticket printed, so it prints it once more, marked 补打 REPRINT (docs/hub.md)."""
    with ExitStack() as cleanup:
        hung = HungPrinter()
        cleanup.callback(hung.stop)
        port = hung.port
        broker = start_broker(tmp_path / "mqtt", make_inventory(store, printer_ports={"hot": port}))
        cleanup.callback(broker.stop)
        # No idle status polls: the connect() caught below must be the job's own.
        settings = hub_settings(broker, tmp_path / "hub", printer_status_every_s=0)
        hub = run_hub_process(settings, tmp_path / "hub.log")
        cleanup.callback(lambda: hub.kill())  # whichever hub runs by then

        _order_kung_pao(hub)
        wait_until(
            lambda: connecting_to(hub.proc.pid, port),
            timeout=5,
            what="the hub's spooler to be inside connect() to the hung printer",
        )
        hub.kill()
        # The window: the job was committed as `sending` on its first attempt, and the hub died
        # with its connection to the printer not made yet (SYN-SENT above): nothing reached it.
        [(uid, status, reprint, attempts)] = _print_jobs(settings)
        assert (status, reprint, attempts) == (SENDING, 0, 1)

        hung.stop()
        back = VirtualPrinter(port).start()
        cleanup.callback(back.stop)
        hub = run_hub_process(settings, tmp_path / "hub2.log")
        [data] = _printed_once(hub, back, uid)
        assert _print_jobs(settings)[0] == (uid, SENT, 1, 2)
        expected = _expected_ticket(settings, uid)
    assert expected.reprint and data == render(expected)
    text = decode_text(data)
    assert "宫保鸡丁" in text and text.endswith(uid)
    # The one difference from the ticket the cook may already have: the REPRINT banner.
    plain = decode_text(render(replace(expected, reprint=False))).split("\n")
    assert [line for line in text.split("\n") if line != "补打 REPRINT"] == plain
    assert "补打 REPRINT".encode("gb18030") in data

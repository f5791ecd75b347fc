"""Kiosks order over MQTT (request/reply by id); the hub survives SIGKILL between accepting an
order and sending its ticket."""

import json
import secrets
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from devices.virtual_printer import VirtualPrinter, decode_text
from edge.printing.models import SENDING
from tests.ordering import KUNGPAO, kitchen
from tests.support import (
    PIN,
    STAFF,
    hub_settings,
    make_inventory,
    run_hub_process,
    start_broker,
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
            "member": "M:13800138000:ab12cd34",
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
        [hot] = k.tickets("hot", 1)
        assert "麻婆豆腐" in hot and "Kiosk" in hot
        [bar] = k.tickets("bar", 1)
        assert "酸梅汤" in bar
        time.sleep(0.5)
        assert len(k.printers["hot"].jobs) == 1
        staff_view = k.staff.get("/api/orders").json()["orders"]
        assert [o["source"] for o in staff_view] == ["kiosk"]


@pytest.mark.parametrize("mid_send", [False, True], ids=["accepted", "on-the-wire"])
def test_hub_killed_before_the_ticket_went_prints_it_once_after_restart(
    tmp_path: Path, store: str, mid_send: bool
) -> None:
    hot = VirtualPrinter().start()
    port = hot.port
    hot.stop()  # the printer is off: the order is accepted, its ticket cannot go yet
    inventory = make_inventory(store, printer_ports={"hot": port})
    broker = start_broker(tmp_path / "mqtt", inventory)
    settings = hub_settings(broker, tmp_path / "hub")
    hub = run_hub_process(settings, tmp_path / "hub.log")
    try:
        with httpx.Client(base_url=hub.base_url, timeout=10) as c:
            c.post("/api/login", json={"name": STAFF, "pin": PIN})
            path = next(t["qr_path"] for t in c.get("/api/tables").json()["tables"])
            r = c.post(
                f"/api/diner/{path.rsplit('/', 1)[1]}/orders",
                json={"key": "k-" + secrets.token_hex(10), "lines": [KUNGPAO]},
            )
            assert r.status_code == 201
        hub.kill()  # SIGKILL: accepted, never sent
        if mid_send:
            # As if the bytes were on the wire when the hub died (the job is committed as
            # `sending` before the first byte): whether it printed nobody knows, so it goes
            # again, marked REPRINT.
            db = sqlite3.connect(settings.db_path)
            db.execute("UPDATE print_jobs SET status = ?", (SENDING,))
            db.commit()
            db.close()
        back = VirtualPrinter(port).start()
        hub = run_hub_process(settings, tmp_path / "hub2.log")
        [ticket] = [decode_text(b) for b in back.wait_jobs(1, timeout=15)]
        assert "宫保鸡丁" in ticket
        assert ("补打 REPRINT" in ticket) is mid_send
        time.sleep(1.5)
        assert len(back.jobs) == 1
        back.stop()
    finally:
        hub.kill()
        broker.stop()

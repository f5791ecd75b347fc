"""Printers that fail: jobs wait, the board raises an alarm, nothing is lost or doubled."""

import json
import secrets
import time
from pathlib import Path

from devices.virtual_printer import VirtualPrinter
from tests.ordering import KUNGPAO, TEA, kitchen
from tests.support import wait_until


def key() -> str:
    return "k-" + secrets.token_hex(10)


def _alarms(k_staff: object, kind: str) -> list[dict[str, object]]:
    alarms = k_staff.get("/api/alarms").json()  # type: ignore[attr-defined]
    return [a for a in alarms if a["kind"] == kind]


def test_unreachable_printer_raises_an_alarm_and_prints_once_when_back(
    tmp_path: Path, store: str
) -> None:
    with kitchen(tmp_path, store) as k:
        hot = k.printers["hot"]
        port = hot.port
        hot.stop()
        order = k.order(k.token(), [KUNGPAO], key()).json()
        wait_until(lambda: _alarms(k.staff, "print_failed"), what="an alarm for the printer")
        waiting = k.staff.get("/api/orders").json()["orders"][0]["print"][0]
        assert waiting["status"] == "pending" and waiting["attempts"] >= 1 and waiting["error"]
        assert not k.diner.get(f"/api/diner/{k.token()}/orders").json()["orders"][0]["printed"]

        back = VirtualPrinter(port).start()
        k.printers["hot"] = back
        [ticket] = k.tickets("hot", 1, timeout=20)
        assert "宫保鸡丁" in ticket and "REPRINT" not in ticket
        wait_until(lambda: not _alarms(k.staff, "print_failed"), what="the alarm to clear")
        time.sleep(1.0)
        assert len(back.jobs) == 1
        assert k.staff.get("/api/orders").json()["orders"][0]["id"] == order["id"]


def test_paper_out_holds_tickets_until_refilled(tmp_path: Path, store: str) -> None:
    with kitchen(tmp_path, store) as k:
        topic = f"store/{store}/printer/printer-03/telemetry"  # the bar's printer bridge
        k.broker.pub("printer-03", topic, json.dumps({"v": 1, "paper": "out"}), qos=0)
        wait_until(lambda: _alarms(k.staff, "paper_out"), what="a paper-out alarm")
        k.order(k.token(), [TEA], key())
        time.sleep(2.0)
        assert k.printers["bar"].jobs == []
        k.broker.pub("printer-03", topic, json.dumps({"v": 1, "paper": "ok"}), qos=0)
        [ticket] = k.tickets("bar", 1)
        assert "菊花茶" in ticket

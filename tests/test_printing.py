"""Printers that fail: jobs wait, the board raises an alarm, nothing is lost or doubled."""

import json
import secrets
from pathlib import Path

from devices.virtual_printer import VirtualPrinter, decode_text
from tests.ordering import KUNGPAO, TEA, kitchen
from tests.support import until_marker, wait_until


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
        # Printed once: the next order's ticket is the very next thing the printer gets.
        marker = k.order(k.token(), [{"dish": "rice", "qty": 1}], key()).json()
        printed = until_marker(back.jobs, lambda job: "米饭" in decode_text(job), "the next ticket")
        assert ["宫保鸡丁" in decode_text(job) for job in printed] == [True, False]
        assert [o["id"] for o in k.staff.get("/api/orders").json()["orders"]] == [
            order["id"],
            marker["id"],
        ]


def test_paper_out_holds_tickets_until_refilled(tmp_path: Path, store: str) -> None:
    with kitchen(tmp_path, store) as k:
        topic = f"store/{store}/printer/printer-03/telemetry"  # the bar's printer bridge
        k.broker.pub("printer-03", topic, json.dumps({"v": 1, "paper": "out"}), qos=0)
        wait_until(lambda: _alarms(k.staff, "paper_out"), what="a paper-out alarm")
        # Tea for the bar, whose printer is out of paper, and rice for the hot kitchen's: the
        # spooler takes both at once, so once the rice is printed the tea was due as well.
        order = k.order(k.token(), [TEA, {"dish": "rice", "qty": 1}], key()).json()
        k.tickets("hot", 1)
        jobs = k.staff.get("/api/orders").json()["orders"][0]["print"]
        bar = next(j for j in jobs if j["station"] == "bar")
        assert (bar["status"], bar["attempts"], bar["error"]) == ("pending", 0, None)  # not tried
        assert k.printers["bar"].jobs == []
        k.broker.pub("printer-03", topic, json.dumps({"v": 1, "paper": "ok"}), qos=0)
        [ticket] = k.tickets("bar", 1)
        assert "菊花茶" in ticket
        # Printed once, when the paper came back: the next order is the bar's second ticket.
        k.order(k.token(), [{"dish": "plum", "qty": 1}], key())
        printed = until_marker(
            k.printers["bar"].jobs, lambda job: "酸梅汤" in decode_text(job), "the next ticket"
        )
        assert [f"No. {order['no']}" in decode_text(job) for job in printed] == [True, False]


def test_receipts_on_a_kitchen_printer_never_hold_up_a_kitchen_ticket(
    tmp_path: Path, store: str
) -> None:
    """This store has no cashier printer: receipts print on the hot kitchen's. Two bills asked
    for while its paper was out, then an order for the hot kitchen: when the paper is back the
    cook's ticket comes out first, the receipts after it."""
    with kitchen(tmp_path, store) as k:
        hot = k.printers["hot"]
        for table in ("A2", "B1"):
            assert k.order(k.token(table), [KUNGPAO], key()).status_code == 201
        k.tickets("hot", 2)
        topic = f"store/{store}/printer/printer-01/telemetry"  # the hot kitchen's bridge
        k.broker.pub("printer-01", topic, json.dumps({"v": 1, "paper": "out"}), qos=0)
        wait_until(lambda: _alarms(k.staff, "paper_out"), what="a paper-out alarm")
        for table in ("A2", "B1"):
            r = k.diner.post(f"/api/diner/{k.token(table)}/call", json={"reason": "bill"})
            assert r.status_code == 200 and r.json()["receipt"] is True
        order = k.order(k.token("A1"), [{"dish": "rice", "qty": 1}], key()).json()
        assert len(hot.jobs) == 2  # all three wait for the paper
        k.broker.pub("printer-01", topic, json.dumps({"v": 1, "paper": "ok"}), qos=0)
        printed = k.tickets("hot", 5)[2:]
        assert f"No. {order['no']}" in printed[0] and "米饭" in printed[0]
        assert "RECEIPT" not in printed[0]
        assert ["结账单 RECEIPT" in t for t in printed[1:]] == [True, True]
        assert ["A2" in printed[1], "B1" in printed[2]] == [True, True]  # in their own order

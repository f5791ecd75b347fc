"""The printer bridge (devices/print_bridge.py): a USB printer made a network printer for the
real hub. Tickets go hub -> bridge (TCP) -> printer byte for byte, status requests are answered
(from what the bridge knows for a device file; relayed to a printer that can answer), and the
bridge is a printer device on MQTT started from the config `provision` renders."""

import contextlib
import json
import os
import secrets
import select
import signal
import subprocess
import sys
import threading
import tty
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select as sql_select
from sqlalchemy.orm import Session

from contract import Channel
from contract.const import PaperLevel
from contract.menu import load_menu
from contract.net import free_port
from contract.printer_status import StatusRequest
from devices.print_bridge import (
    PrintBridge,
    PrintBridgeConfig,
    lp_port_status,
    parse_bridge_config,
    status_from_lp,
)
from devices.virtual_printer import VirtualPrinter, decode_text
from edge.db import make_engine
from edge.printing.models import PrintJob
from edge.printing.spooler import build_ticket
from edge.printing.tickets import render
from provisioning.firmware import render_device_config
from smartstore.samples import SAMPLE_MENU
from tests.ordering import KUNGPAO, TEA
from tests.support import (
    Broker,
    Hub,
    hub_settings,
    make_inventory,
    run_hub_thread,
    start_broker,
    until_marker,
    wait_until,
)
from tests.test_printer_status import ask, strip_requests

BRIDGED = "printer-01"  # the hot kitchen's printer, behind the bridge
RICE = {"dish": "rice", "qty": 1}


def key() -> str:
    return "k-" + secrets.token_hex(10)


class PtyPrinter:
    """A USB printer's device file, as a pty: the bridge writes to the slave side (raw mode, so
    bytes pass unchanged) and what it wrote is read here from the master side."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self.output = bytearray()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    self.output += os.read(self.master, 65536)
                except OSError:
                    return

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        os.close(self.slave)
        os.close(self.master)


@dataclass
class BridgedStore:
    broker: Broker
    hub: Hub
    bridge: PrintBridge
    bar: VirtualPrinter  # a network printer straight on the LAN, for comparison
    staff: httpx.Client
    diner: httpx.Client

    def order(self, lines: list[dict[str, Any]]) -> dict[str, Any]:
        tables = self.staff.get("/api/tables").json()["tables"]
        token = next(t["qr_path"] for t in tables if t["id"] == "A1").rsplit("/", 1)[1]
        r = self.diner.post(f"/api/diner/{token}/orders", json={"key": key(), "lines": lines})
        assert r.status_code == 201, r.text
        order: dict[str, Any] = r.json()
        return order

    def job(self, order_id: str, station: str) -> dict[str, Any]:
        orders = self.staff.get("/api/orders").json()["orders"]
        order = next(o for o in orders if o["id"] == order_id)
        job: dict[str, Any] = next(j for j in order["print"] if j["station"] == station)
        return job

    def rendered(self, job_uid: str) -> bytes:
        """The bytes the hub's renderer makes for job `job_uid`, from the hub's database."""
        engine = make_engine(self.hub.settings.db_path)
        try:
            with Session(engine) as session:
                job = session.scalar(sql_select(PrintJob).where(PrintJob.uid == job_uid))
                assert job is not None
                return render(
                    build_ticket(session, load_menu(SAMPLE_MENU), job, self.hub.settings.store_name)
                )
        finally:
            engine.dispose()

    def alarms(self) -> list[str]:
        found = self.staff.get("/api/alarms").json()
        return sorted(a["kind"] for a in found if a["device"] == BRIDGED)

    def device(self) -> dict[str, Any]:
        found: dict[str, Any] = next(
            d for d in self.staff.get("/api/devices").json() if d["id"] == BRIDGED
        )
        return found


def bridge_config(broker: Broker, **installed: Any) -> PrintBridgeConfig:
    """printer-01's config exactly as `provision --configs-dir` renders it, plus what an
    installer puts in its local file."""
    spec = broker.inventory.by_id()[BRIDGED]
    text = render_device_config(
        broker.store, spec, broker.accounts[BRIDGED], "127.0.0.1", broker.port
    )
    return parse_bridge_config({**json.loads(text), **installed})


@contextmanager
def bridged_store(tmp_path: Path, store: str, **printer: Any) -> Iterator[BridgedStore]:
    bar, cold = VirtualPrinter().start(), VirtualPrinter().start()
    ports = {"hot": 9100, "cold": cold.port, "bar": bar.port}  # hot: the bridge's, below
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(bar.stop)
        cleanup.callback(cold.stop)
        broker = start_broker(tmp_path / "mqtt", make_inventory(store, printer_ports=ports))
        cleanup.callback(broker.stop)
        config = bridge_config(
            broker, listen_host="127.0.0.1", listen_port=0, status_interval_s=0.2, **printer
        )
        bridge = PrintBridge(config).start()
        cleanup.callback(bridge.stop)
        # The inventory the hub reads has the bridge's address (its port known once it listens).
        ports["hot"] = bridge.server.listen_port
        inventory = make_inventory(store, printer_ports=ports)
        hub = run_hub_thread(
            hub_settings(broker, tmp_path / "hub", inventory, printer_status_every_s=0.2)
        )
        cleanup.callback(hub.stop)
        yield BridgedStore(broker, hub, bridge, bar, hub.client(), hub.client(login=False))


def test_a_usb_printer_behind_the_bridge_prints_what_a_network_printer_gets(
    tmp_path: Path, store: str
) -> None:
    """File on the printer's device path (here a pty behind a symlink, as /dev/usb/lp0 is a
    device node that goes when the printer is unplugged and comes back when plugged in)."""
    first = PtyPrinter()
    lp0 = tmp_path / "lp0"
    lp0.symlink_to(first.path)
    second: PtyPrinter | None = None
    try:
        with bridged_store(tmp_path, store, usb_device=str(lp0)) as s:
            # On MQTT with its own account; the printer's link read from the device file.
            wait_until(
                lambda: (
                    (s.device()["state"], s.device()["fw"], s.device()["printer_online"])
                    == ("online", "bridge-1.0.0", True)
                ),
                what="the bridge online on MQTT, its printer reachable",
            )
            assert s.alarms() == []
            # A File cannot answer: the bridge answers what it knows (online, nothing else
            # seen: paper adequate, cover closed). Nothing of that reaches the printer.
            assert ask_bridge(s, 1, 2, 3, 4) == bytes([0x12, 0x12, 0x12, 0x12])

            order = s.order([KUNGPAO, TEA])
            hot, bar = s.job(order["id"], "hot"), s.job(order["id"], "bar")
            expected = s.rendered(hot["id"])
            wait_until(lambda: len(first.output) >= len(expected), what="the ticket at the USB")
            assert bytes(first.output) == expected  # byte for byte, no status request in it
            # What a network printer straight on the LAN got for its ticket: the same renderer's
            # bytes, with the hub's questions around them, which the bridge answered itself.
            [direct] = s.bar.wait_jobs(1)
            assert direct == s.rendered(bar["id"])
            assert "宫保鸡丁" in decode_text(bytes(first.output))
            wait_until(lambda: s.job(order["id"], "hot")["status"] == "sent", what="sent")

            # Unplugged: the device file is gone. The bridge answers "offline, error"; the hub
            # raises the printer's alarm and holds its tickets.
            lp0.unlink()
            wait_until(lambda: s.alarms() == ["printer_offline"], what="printer offline")
            assert ask_bridge(s, 1, 2, 4) == bytes([0x1A, 0x52, 0x12])
            held = s.order([RICE])
            job = s.job(held["id"], "hot")
            assert (job["status"], job["attempts"]) == ("pending", 0)

            # Plugged in again (a new device at the same path): the held ticket prints once.
            second = PtyPrinter()
            lp0.symlink_to(second.path)
            wait_until(lambda: s.alarms() == [], what="the alarm to clear")
            expected = s.rendered(s.job(held["id"], "hot")["id"])
            wait_until(lambda: len(second.output) >= len(expected), what="the held ticket")
            assert bytes(second.output) == expected
            assert bytes(first.output) == s.rendered(hot["id"])  # nothing more on the old one
    finally:
        first.close()
        if second is not None:
            second.close()


def ask_bridge(s: BridgedStore, *requests: int) -> bytes:
    return ask(s.bridge.server.listen_port, *requests)


def test_the_bridge_relays_status_to_a_printer_that_answers(tmp_path: Path, store: str) -> None:
    behind = VirtualPrinter().start()
    try:
        with (
            bridged_store(tmp_path, store, printer_host="127.0.0.1", printer_port=behind.port) as s,
            s.broker.sub("hub", s.broker.topic(BRIDGED, Channel.TELEMETRY)) as telemetry,
        ):
            wait_until(lambda: s.device()["state"] == "online", what="the bridge on MQTT")
            behind.set_state(paper=PaperLevel.OUT)
            wait_until(lambda: s.alarms() == ["paper_out"], what="paper out, relayed")
            # The printer itself was asked (by the bridge, for the hub and for its telemetry).
            assert StatusRequest.ROLL_PAPER in behind.requests
            assert ask_bridge(s, 1, 2, 4) == bytes([0x1A, 0x32, 0x72])
            # The bridge said so on MQTT too, from the printer's answers.
            wait_until(
                lambda: any(json.loads(t).get("paper") == "out" for t in telemetry),
                what="the bridge's telemetry",
            )
            order = s.order([KUNGPAO])
            asked = len(behind.requests)
            wait_until(lambda: len(behind.requests) > asked + 6, what="the hub to keep asking")
            assert (s.job(order["id"], "hot")["status"], behind.jobs) == ("pending", [])

            behind.set_state(paper=PaperLevel.OK)
            ticket = behind.wait_jobs(1)[0]
            assert ticket == s.rendered(s.job(order["id"], "hot")["id"])
            # The hub's questions went through to the printer in place: before and after.
            [wire] = [w for w in behind.wire if strip_requests(w)[1]]
            assert strip_requests(wire) == ([1, 4], ticket, [1, 4])
            wait_until(lambda: s.alarms() == [], what="the alarm to clear")
            wait_until(
                lambda: json.loads(telemetry[-1]).get("paper") == "ok", what="paper ok on MQTT"
            )
            # Printed once.
            s.order([RICE])
            printed = until_marker(
                behind.jobs, lambda job: "米饭" in decode_text(job), "the next ticket"
            )
            assert [f"No. {order['no']}" in decode_text(job) for job in printed] == [True, False]
    finally:
        behind.stop()


def test_the_bridge_runs_from_its_provisioned_config(tmp_path: Path, store: str) -> None:
    listen_port = free_port()
    inventory = make_inventory(store, printer_ports={"hot": listen_port})
    broker = start_broker(tmp_path / "mqtt", inventory)
    hub = run_hub_thread(hub_settings(broker, tmp_path / "hub", printer_status_every_s=0.2))
    config = tmp_path / "printer-01.json"
    spec = inventory.by_id()[BRIDGED]
    config.write_text(
        render_device_config(store, spec, broker.accounts[BRIDGED], "127.0.0.1", broker.port)
    )
    proc: subprocess.Popen[bytes] | None = None
    try:
        # As rendered, no printer is set: the bridge refuses to start, and says what to set.
        refused = subprocess.run(
            [sys.executable, "-m", "devices.print_bridge", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert refused.returncode == 2 and "usb_device" in refused.stderr

        output = tmp_path / "usb-lp0"  # where the device would be: the bridge makes none
        output.touch()
        local = tmp_path / "printer-01.local.json"
        local.write_text(
            json.dumps(
                {"usb_device": str(output), "listen_host": "127.0.0.1", "listen_port": listen_port}
            )
        )
        argv = ["print-bridge", "--config", str(config), "--local", str(local)]
        with (tmp_path / "bridge.log").open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "smartstore.cli", *argv], stdout=log, stderr=log
            )
        staff = hub.client()

        def bridge() -> dict[str, Any]:
            found: dict[str, Any] = next(
                d for d in staff.get("/api/devices").json() if d["id"] == BRIDGED
            )
            return found

        wait_until(lambda: bridge()["state"] == "online", timeout=20, what="the bridge online")
        assert bridge()["fw"] == "bridge-1.0.0"
        r = staff.post(f"/api/devices/{BRIDGED}/commands", json={"name": "locate"})
        assert r.status_code == 202, r.text
        command = r.json()["id"]

        def status() -> str:
            rows = staff.get(f"/api/devices/{BRIDGED}/commands").json()
            return str(next(c["status"] for c in rows if c["id"] == command))

        wait_until(lambda: status() == "ok", what="the bridge to answer locate")

        tables = staff.get("/api/tables").json()["tables"]
        token = next(t["qr_path"] for t in tables if t["id"] == "A1").rsplit("/", 1)[1]
        diner = hub.client(login=False)
        r = diner.post(f"/api/diner/{token}/orders", json={"key": key(), "lines": [KUNGPAO]})
        assert r.status_code == 201, r.text
        wait_until(
            lambda: output.exists() and "宫保鸡丁" in decode_text(output.read_bytes()),
            what="the ticket in the printer's device file",
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        wait_until(
            lambda: (bridge()["state"], bridge()["state_reason"]) == ("offline", "goodbye"),
            what="a clean goodbye",
        )
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(10)
        hub.stop()
        broker.stop()


def test_what_usblp_says_and_what_a_plain_file_cannot(tmp_path: Path) -> None:
    # <linux/lp.h>: 0x20 paper out, 0x10 selected (online), 0x08 no error.
    assert status_from_lp(0x18).blocked is None
    assert status_from_lp(0x38).blocked == "paper out"
    assert status_from_lp(0x08).blocked == "printer offline"  # not selected
    assert status_from_lp(0x10).fault  # an error
    plain = tmp_path / "plain"
    with plain.open("wb") as f:
        assert lp_port_status(f.fileno()) is None

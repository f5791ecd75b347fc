"""Shared set-up for ordering tests: a store whose stations print to TCP stand-in printers."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from devices.virtual_printer import VirtualPrinter, decode_text
from tests.support import Broker, Hub, hub_settings, make_inventory, run_hub_thread, start_broker

STATIONS = ("hot", "cold", "bar")


@dataclass
class Kitchen:
    broker: Broker
    hub: Hub
    printers: dict[str, VirtualPrinter]  # station -> its printer
    staff: httpx.Client
    diner: httpx.Client

    def table_path(self, table: str = "A1") -> str:
        tables = self.staff.get("/api/tables").json()["tables"]
        path: str = next(t["qr_path"] for t in tables if t["id"] == table)
        return path

    def token(self, table: str = "A1") -> str:
        return self.table_path(table).rsplit("/", 1)[1]

    def order(
        self, token: str, lines: list[dict[str, Any]], key: str, **extra: Any
    ) -> httpx.Response:
        return self.diner.post(
            f"/api/diner/{token}/orders", json={"key": key, "lines": lines, **extra}
        )

    def tickets(self, station: str, n: int, timeout: float = 10.0) -> list[str]:
        return [decode_text(b) for b in self.printers[station].wait_jobs(n, timeout)]


@contextmanager
def kitchen(tmp_path: Path, store: str, **hub_kw: Any) -> Iterator[Kitchen]:
    printers = {s: VirtualPrinter().start() for s in STATIONS}
    inventory = make_inventory(store, printer_ports={s: p.port for s, p in printers.items()})
    broker = start_broker(tmp_path / "mqtt", inventory)
    hub = run_hub_thread(hub_settings(broker, tmp_path / "hub", **hub_kw))
    try:
        yield Kitchen(broker, hub, printers, hub.client(), hub.client(login=False))
    finally:
        hub.stop()
        broker.stop()
        for p in printers.values():
            p.stop()


KUNGPAO = {"dish": "kungpao", "qty": 2, "options": {"spice": "mild"}, "note": "不要花生 no peanuts"}
TEA = {"dish": "tea", "qty": 1, "options": {"temp": "iced"}}

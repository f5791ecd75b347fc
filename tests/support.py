"""Shared helpers: a real mosquitto per test, the hub in a thread or a process, real clients."""

import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn

from contract import Channel, DeviceType, device_topic
from contract.inventory import DeviceSpec, Inventory, save_inventory
from contract.net import free_port
from devices.fleet import Fleet
from edge.app import server_config
from edge.config import Settings
from provisioning.broker import BrokerFiles, start_mosquitto
from provisioning.provision import HUB_ACCOUNT, ensure_secrets, write_broker_auth
from smartstore.samples import SAMPLE_MENU
from smartstore.settings_env import as_environment

STAFF = "alice"
PIN = "482913"
SECRET = "s" * 40
MEMBER_KEY = "m" * 40  # the chain's member key (the cloud harness uses the same)


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(0.05)


_T = TypeVar("_T")


def until_marker(
    received: Sequence[_T], is_marker: Callable[[_T], bool], what: str, timeout: float = 10.0
) -> list[_T]:
    """What a listener got up to and including the marker, once the marker is in.

    "Nothing (more) came" is proven with a marker, never with a fixed sleep: send, after what
    must not arrive, something the listener is sure to get by the same path (MQTT keeps one
    publisher's order to each subscriber; a printer prints its jobs in order). Once the marker
    is in, the listener was alive and anything sent before the marker would be in too.
    """

    def upto() -> list[_T] | None:
        items = list(received)
        for n, item in enumerate(items):
            if is_marker(item):
                return items[: n + 1]
        return None

    found: list[_T] = wait_until(upto, timeout, what)
    return found


def press_of_size(size: int, event_id: str = "btn-001-a1-1") -> bytes:
    """A valid press payload of exactly `size` bytes, padded with a field the contract ignores."""
    head = b'{"v":1,"id":"' + event_id.encode() + b'","pad":"'
    raw = head + b"x" * (size - len(head) - 2) + b'"}'
    assert len(raw) == size, f"a press cannot be as small as {size} bytes"
    return raw


def make_inventory(
    store: str, buttons: int = 4, printer_ports: dict[str, int] | None = None
) -> Inventory:
    """A small store. printer_ports: station -> port of a VirtualPrinter on this machine."""
    devices = [
        DeviceSpec(id=f"btn-{n:03d}", type=DeviceType.CALL_BUTTON, zone="A", table=f"A{n}")
        for n in range(1, buttons + 1)
    ]
    devices += [
        DeviceSpec(id="table-001", type=DeviceType.SMART_TABLE, zone="B", table="B1"),
        DeviceSpec(id="kiosk-01", type=DeviceType.KIOSK, zone="entrance"),
        DeviceSpec(id="screen-01", type=DeviceType.QUEUE_SCREEN, zone="waiting"),
    ]
    if printer_ports is None:
        devices.append(
            DeviceSpec(id="printer-01", type=DeviceType.PRINTER, zone="kitchen", station="hot")
        )
    else:
        devices += [
            DeviceSpec(
                id=f"printer-{n:02d}",
                type=DeviceType.PRINTER,
                zone="kitchen",
                station=station,
                address=f"127.0.0.1:{port}",
            )
            for n, (station, port) in enumerate(printer_ports.items(), start=1)
        ]
    return Inventory(store=store, devices=devices)


@contextmanager
def running_fleet(broker: "Broker", telemetry_every_s: float = 30.0) -> Iterator[Fleet]:
    """Simulated devices for the whole inventory, connected before the block runs."""
    fleet = Fleet(
        broker.inventory,
        broker.accounts,
        "127.0.0.1",
        broker.port,
        telemetry_every_s=telemetry_every_s,
    )
    fleet.start()
    try:
        fleet.wait_connected()
        yield fleet
    finally:
        fleet.stop()


def on_loop(fleet: Fleet, fn: Callable[[], object]) -> None:
    """Run `fn` on the fleet's device loop (where device methods must run) and wait for it."""
    done = threading.Event()

    def call() -> None:
        try:
            fn()
        finally:
            done.set()

    fleet.loop.call_soon_threadsafe(call)
    assert done.wait(10), "the device loop did not run the call"


@dataclass
class Broker:
    port: int
    store: str
    inventory: Inventory
    accounts: dict[str, str]
    files: BrokerFiles
    proc: subprocess.Popen[bytes]

    def topic(self, device: str, channel: Channel = Channel.EVENT) -> str:
        spec = self.inventory.by_id()[device]
        return device_topic(self.store, spec.type, device, channel)

    def pub(
        self,
        user: str,
        topic: str,
        payload: str | bytes,
        qos: int = 1,
        retain: bool = False,
    ) -> None:
        """Publish with mosquitto_pub: a client nobody here wrote."""
        cmd = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port), "-q", str(qos)]
        cmd += ["-u", user, "-P", self.accounts[user], "-t", topic, "-s"]
        if retain:
            cmd.append("-r")
        data = payload.encode() if isinstance(payload, str) else payload
        subprocess.run(cmd, input=data, check=True, timeout=10, capture_output=True)

    @contextmanager
    def sub(self, user: str, topic: str) -> Iterator[list[str]]:
        """Collect what mosquitto_sub receives on `topic` while the block runs."""
        cmd = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.port), "-q", "1"]
        cmd += ["-u", user, "-P", self.accounts[user], "-t", topic]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        lines: list[str] = []
        reader = threading.Thread(
            target=lambda: lines.extend(iter(proc.stdout.readline, "")),  # type: ignore[union-attr]
            daemon=True,
        )
        reader.start()
        time.sleep(0.3)  # let the subscription reach the broker before the block publishes
        try:
            yield lines
        finally:
            proc.terminate()
            proc.wait(5)
            reader.join(5)
            if proc.stdout is not None:
                proc.stdout.close()

    def press(self, device: str, event_id: str | None = None, **extra: Any) -> str:
        event_id = event_id or f"{device}-{secrets.token_hex(4)}"
        payload = {"v": 1, "id": event_id, "type": "press", **extra}
        self.pub(device, self.topic(device), json.dumps(payload))
        return event_id

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def start_broker(directory: Path, inventory: Inventory) -> Broker:
    accounts = ensure_secrets(inventory, directory / "secrets.json")
    files = BrokerFiles(directory / "broker")
    write_broker_auth(inventory, accounts, files.passwd, files.acl)
    port = free_port()
    proc = start_mosquitto(files, port)
    return Broker(port, inventory.store, inventory, accounts, files, proc)


def hub_settings(
    broker: Broker, data_dir: Path, inventory: Inventory | None = None, **kw: Any
) -> Settings:
    inventory_path = data_dir / "inventory.yaml"
    save_inventory(inventory or broker.inventory, inventory_path)
    values: dict[str, Any] = {
        "store_id": broker.store,
        "data_dir": data_dir,
        "inventory_path": inventory_path,
        "http_host": "127.0.0.1",
        "http_port": free_port(),
        "mqtt_port": broker.port,
        "mqtt_password": broker.accounts[HUB_ACCOUNT],
        "staff": {STAFF: PIN, "bob": "739120"},
        "secret_key": SECRET,
        "member_key": MEMBER_KEY,
        "managers": [STAFF],  # alice manages; bob is a waiter
        "menu_path": SAMPLE_MENU,
    }
    values.update(kw)
    return Settings(**values)


@dataclass
class Hub:
    settings: Settings
    base_url: str
    _stop: Callable[[], None] = field(repr=False)
    _clients: list[httpx.Client] = field(default_factory=list, repr=False)

    def client(self, login: bool = True, staff: str = STAFF, pin: str = PIN) -> httpx.Client:
        c = httpx.Client(base_url=self.base_url, timeout=10)
        self._clients.append(c)
        if login:
            r = c.post("/api/login", json={"name": staff, "pin": pin})
            assert r.status_code == 200, r.text
        return c

    def stop(self) -> None:
        for c in self._clients:
            c.close()
        self._stop()


def _wait_healthy(base_url: str, timeout: float = 20.0) -> None:
    def ok() -> bool:
        try:
            r = httpx.get(f"{base_url}/api/health", timeout=1)
            return r.status_code == 200 and bool(r.json()["broker_connected"])
        except httpx.HTTPError:
            return False

    wait_until(ok, timeout, "the hub to be up and connected to the broker")


def run_hub_thread(settings: Settings) -> Hub:
    server = uvicorn.Server(server_config(settings))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{settings.http_port}"
    _wait_healthy(base_url)

    def stop() -> None:
        server.should_exit = True
        thread.join(15)

    return Hub(settings, base_url, stop)


@dataclass
class HubProcess:
    settings: Settings
    proc: subprocess.Popen[bytes]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.http_port}"

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


def clock_off_by(offset: str) -> dict[str, str]:
    """Environment for a process whose wall clock is `offset` ("+2h", "-90m") off: libfaketime,
    as Debian's faketime package installs it (scripts/setup.sh)."""
    libs = sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))
    if not libs:
        raise RuntimeError("libfaketime is missing: apt-get install faketime")
    # Monotonic time stays real: only the wall clock of a Pi without a real-time clock is wrong.
    return {"LD_PRELOAD": str(libs[0]), "FAKETIME": offset, "FAKETIME_DONT_FAKE_MONOTONIC": "1"}


def run_hub_process(
    settings: Settings, log: Path, env_extra: dict[str, str] | None = None
) -> HubProcess:
    """The hub as its own process, started the way an operator starts it: `smartstore hub`."""
    env = {**os.environ, **as_environment(settings), **(env_extra or {})}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "smartstore.cli", "hub"], env=env, stdout=out, stderr=out
        )
    hub = HubProcess(settings, proc)
    try:
        _wait_healthy(hub.base_url)
    except AssertionError:
        hub.kill()
        raise AssertionError(log.read_text(errors="replace")[-3000:]) from None
    return hub

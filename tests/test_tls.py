"""Secrets on the wire: the store CA `smartstore provision --tls` makes, the broker's TLS
listener (with the plain one off) on the real mosquitto, devices and the hub over TLS, and the
hub's pages over HTTPS, each verified against the store CA and nothing else."""

import grp
import json
import socket
import ssl
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
import uvicorn
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from contract.const import CallReason
from contract.inventory import Inventory, save_inventory
from contract.mqtt import tls_context
from contract.net import free_port
from devices.apps import build_app, load_app_config
from devices.call_button import CallButton
from devices.fleet import Fleet
from edge.app import server_config
from edge.config import Settings
from provisioning.broker import BrokerFiles, Plain, TlsListener, start_mosquitto
from provisioning.tls import StoreTls, certificate_names
from smartstore.install import Layout
from tests.support import (
    PIN,
    STAFF,
    Broker,
    Hub,
    hub_settings,
    make_inventory,
    on_loop,
    wait_until,
)
from tests.test_firmware import _AnyTagLoader, _esphome
from tests.test_install import STORE as INSTALL_STORE
from tests.test_install import make_release, tree

SMARTSTORE = [sys.executable, "-m", "smartstore.cli"]


def provision(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SMARTSTORE, "provision", *args], capture_output=True, text=True, timeout=60
    )


@dataclass
class TlsBroker:
    broker: Broker  # its port is the TLS listener's
    tls: StoreTls
    plain_port: int  # where a plain listener would be; nothing listens there

    @property
    def ca_pem(self) -> str:
        return self.tls.ca_pem()

    @property
    def tls_port(self) -> int:
        return self.broker.port


def _provision_tls(base: Path, inventory: Inventory) -> tuple[StoreTls, dict[str, str]]:
    inventory_file = base / "inventory.yaml"
    save_inventory(inventory, inventory_file)
    r = provision(
        "--inventory",
        str(inventory_file),
        "--broker-dir",
        str(base / "broker"),
        "--secrets-file",
        str(base / "secrets.json"),
        "--tls",
        "--broker-host",
        "localhost",
    )
    assert r.returncode == 0, r.stderr
    return StoreTls(base / "broker" / "tls"), json.loads((base / "secrets.json").read_text())


@pytest.fixture
def tls_broker(tmp_path: Path, store: str) -> Iterator[TlsBroker]:
    """mosquitto with only its TLS listener, from what `provision --tls` made."""
    inventory = make_inventory(store)
    tls, accounts = _provision_tls(tmp_path, inventory)
    files = BrokerFiles(tmp_path / "broker")
    tls_port, plain_port = free_port(), free_port()
    listener = TlsListener(tls_port, tls.broker)
    proc = start_mosquitto(files, plain_port, "127.0.0.1", listener, Plain.OFF)
    yield TlsBroker(Broker(tls_port, store, inventory, accounts, files, proc), tls, plain_port)
    proc.terminate()
    proc.wait(10)


def _https_client(hub: Hub, ca: Path) -> httpx.Client:
    return httpx.Client(
        base_url=f"https://localhost:{hub.settings.http_port}",
        verify=tls_context(ca.read_text()),
        timeout=10,
    )


def _run_https_hub(settings: Settings, ca: Path) -> Hub:
    server = uvicorn.Server(server_config(settings))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    hub = Hub(settings, f"https://localhost:{settings.http_port}", lambda: None)

    def healthy() -> bool:
        try:
            with _https_client(hub, ca) as client:
                return bool(client.get("/api/health").json()["broker_connected"])
        except httpx.HTTPError:
            return False

    wait_until(healthy, 20, "the hub up over HTTPS and on its broker over TLS")

    def stop() -> None:
        server.should_exit = True
        thread.join(15)

    hub._stop = stop
    return hub


@pytest.fixture
def tls_hub(tls_broker: TlsBroker, tmp_path: Path) -> Iterator[Hub]:
    """The hub on the broker's TLS port (the plain one is off), its pages over HTTPS."""
    settings = hub_settings(
        tls_broker.broker,
        tmp_path / "hub",
        mqtt_host="localhost",
        mqtt_ca_file=tls_broker.tls.ca_cert,
        https_cert_file=tls_broker.tls.web.cert,
        https_key_file=tls_broker.tls.web.key,
    )
    hub = _run_https_hub(settings, tls_broker.tls.ca_cert)
    yield hub
    hub.stop()


@contextmanager
def _staff(hub: Hub, ca: Path) -> Iterator[httpx.Client]:
    with _https_client(hub, ca) as client:
        r = client.post("/api/login", json={"name": STAFF, "pin": PIN})
        assert r.status_code == 200, r.text
        # The session cookie is for HTTPS only: a browser never sends it over plain HTTP.
        assert "secure" in r.headers["set-cookie"].lower().split("; ")
        yield client


def _online(staff: httpx.Client) -> set[str]:
    return {d["id"] for d in staff.get("/api/devices").json() if d["state"] == "online"}


def _connect(port: int, user: str, password: str, context: ssl.SSLContext | None) -> str:
    """One paho client's attempt: "connected", or what stopped it."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"probe-{time.monotonic_ns()}")
    client.username_pw_set(user, password)
    if context is not None:
        client.tls_set_context(context)
    try:
        client.connect("localhost", port, keepalive=10)
    except ssl.SSLCertVerificationError as exc:
        return f"certificate refused: {exc.verify_message}"
    except (ssl.SSLError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"
    connacks: list[str] = []
    client.on_connect = lambda _c, _u, _f, rc, _p: connacks.append(str(rc))
    deadline = time.monotonic() + 5
    while not connacks and time.monotonic() < deadline:
        if client.loop(0.1) != mqtt.MQTT_ERR_SUCCESS:
            break
    client.disconnect()
    return "connected" if connacks == ["Success"] else f"no CONNACK ({connacks})"


# paho-mqtt 2.2 does not close the socket of a handshake that failed (Client._create_socket);
# CPython closes it as soon as the exception is gone, with a ResourceWarning. Nothing leaks.
PAHO_FAILED_HANDSHAKE = pytest.mark.filterwarnings(
    "ignore::pytest.PytestUnraisableExceptionWarning", "ignore::ResourceWarning"
)


# --- the store CA ---------------------------------------------------------------------------


def test_provision_tls_makes_the_store_ca_and_keeps_it(tmp_path: Path) -> None:
    inventory = make_inventory("S1")
    tls, _ = _provision_tls(tmp_path, inventory)
    for key in (tls.ca_key, tls.broker.key, tls.web.key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    for cert in (tls.ca_cert, tls.broker.cert, tls.web.cert):
        assert stat.S_IMODE(cert.stat().st_mode) == 0o644, cert
    assert set(certificate_names(tls.broker.cert)) == {"localhost", "127.0.0.1"}
    before = {p: p.read_bytes() for p in tls.directory.iterdir()}

    # Again: nothing new (devices already trust this CA, the broker runs on its certificate).
    tls_again, _ = _provision_tls(tmp_path, inventory)
    assert {p: p.read_bytes() for p in tls_again.directory.iterdir()} == before

    # A host name devices will use now: new server certificates, the same CA.
    args = [
        "--inventory",
        str(tmp_path / "inventory.yaml"),
        "--broker-dir",
        str(tmp_path / "broker"),
    ]
    args += ["--secrets-file", str(tmp_path / "secrets.json"), "--tls"]
    r = provision(*args, "--broker-host", "hub.local", "--tls-name", "192.168.1.10")
    assert r.returncode == 0, r.stderr
    assert tls.ca_cert.read_bytes() == before[tls.ca_cert]
    assert tls.ca_key.read_bytes() == before[tls.ca_key]
    assert tls.broker.cert.read_bytes() != before[tls.broker.cert]
    assert set(certificate_names(tls.broker.cert)) >= {"hub.local", "192.168.1.10", "localhost"}
    _verify(tls.ca_cert, tls.broker.cert)
    # A name asked for later is added; the earlier ones stay (devices may be set up for them).
    r = provision(*args, "--broker-host", "hub2.local")
    assert r.returncode == 0, r.stderr
    assert set(certificate_names(tls.broker.cert)) >= {"hub.local", "192.168.1.10", "hub2.local"}

    # Renewing the certificate is asked for by name; the CA stays.
    renewed = tls.broker.cert.read_bytes()
    r = provision(
        *args, "--broker-host", "hub.local", "--tls-name", "192.168.1.10", "--renew-tls-cert"
    )
    assert r.returncode == 0, r.stderr
    assert tls.broker.cert.read_bytes() != renewed
    assert tls.ca_cert.read_bytes() == before[tls.ca_cert]
    _verify(tls.ca_cert, tls.broker.cert)

    # A server key lost (a half-restored backup): made again, signed by the same CA.
    tls.web.key.unlink()
    r = provision(*args, "--broker-host", "hub.local")
    assert r.returncode == 0, r.stderr
    assert tls.web.key.exists() and tls.ca_cert.read_bytes() == before[tls.ca_cert]
    _verify(tls.ca_cert, tls.web.cert)

    # The CA's key lost: refused, not silently replaced by a CA no device trusts.
    tls.ca_key.unlink()
    r = provision(*args, "--broker-host", "hub.local")
    assert r.returncode == 2
    assert "--renew-store-ca" in r.stderr
    assert not tls.ca_key.exists() and tls.ca_cert.read_bytes() == before[tls.ca_cert]
    r = provision(*args, "--broker-host", "hub.local", "--renew-store-ca")
    assert r.returncode == 0, r.stderr
    assert tls.ca_cert.read_bytes() != before[tls.ca_cert]
    _verify(tls.ca_cert, tls.broker.cert)


def test_provision_refuses_a_name_that_is_no_host(tmp_path: Path) -> None:
    save_inventory(make_inventory("S1"), tmp_path / "inventory.yaml")
    r = provision(
        "--inventory",
        str(tmp_path / "inventory.yaml"),
        "--broker-dir",
        str(tmp_path / "broker"),
        "--secrets-file",
        str(tmp_path / "secrets.json"),
        "--tls",
        "--tls-name",
        "hub/../x",
    )
    assert r.returncode == 2
    assert "not a host name or an IP address" in r.stderr
    assert not (tmp_path / "broker" / "tls" / "ca.crt").exists()


def _verify(ca: Path, cert: Path) -> None:
    r = subprocess.run(["openssl", "verify", "-CAfile", str(ca), str(cert)], capture_output=True)
    assert r.returncode == 0, r.stderr


# --- the broker over TLS --------------------------------------------------------------------


def test_a_press_over_tls_reaches_the_hub_and_is_acknowledged(
    tls_broker: TlsBroker, tls_hub: Hub
) -> None:
    acks: list[str] = []
    fleet = Fleet(
        tls_broker.broker.inventory,
        tls_broker.broker.accounts,
        "localhost",
        tls_broker.tls_port,
        ca_pem=tls_broker.ca_pem,
        on_ack=lambda _d, ack, _lat: acks.append(ack.id),
    )
    fleet.start()
    try:
        fleet.wait_connected()
        button = fleet.devices["btn-001"]
        assert isinstance(button, CallButton)
        sent: list[str] = []
        on_loop(fleet, lambda: sent.append(button.press(CallReason.BILL)))
        wait_until(lambda: sent[0] in acks, what="the hub's ack over TLS")
        with _staff(tls_hub, tls_broker.tls.ca_cert) as staff:
            calls = wait_until(lambda: staff.get("/api/calls").json(), what="the call")
            assert [(c["table"], c["reason"]) for c in calls] == [("A1", "bill")]
            # Every device of the store came online over TLS: the board shows them.
            wait_until(lambda: _online(staff) >= set(fleet.devices), what="all devices online")
    finally:
        fleet.stop()


@PAHO_FAILED_HANDSHAKE
def test_a_client_without_the_store_ca_is_refused(tls_broker: TlsBroker) -> None:
    user, password = "btn-001", tls_broker.broker.accounts["btn-001"]
    # The system's CAs (a public CA would have to have signed the broker's certificate).
    system = ssl.create_default_context()
    assert _connect(tls_broker.tls_port, user, password, system).startswith("certificate refused")
    # Another store's CA (made the same way): its certificates are no proof for this broker.
    other = tls_broker.tls.directory.parent.parent / "other"
    other_tls, _ = _provision_tls(other, make_inventory("S9"))
    wrong = tls_context(other_tls.ca_pem())
    assert _connect(tls_broker.tls_port, user, password, wrong).startswith("certificate refused")
    # The store CA: in, with the device's own password.
    right = tls_context(tls_broker.ca_pem)
    assert _connect(tls_broker.tls_port, user, password, right) == "connected"


@PAHO_FAILED_HANDSHAKE
def test_a_device_with_the_wrong_ca_never_comes_online(
    tls_broker: TlsBroker, tmp_path: Path
) -> None:
    other_tls, _ = _provision_tls(tmp_path / "other", make_inventory("S9"))
    b = tls_broker.broker
    fleet = Fleet(
        Inventory(store=b.store, devices=b.inventory.devices[:1]),
        b.accounts,
        "localhost",
        tls_broker.tls_port,
        ca_pem=other_tls.ca_pem(),
    )
    fleet.start()
    try:
        with pytest.raises(TimeoutError):
            fleet.wait_connected(timeout=3)
    finally:
        fleet.stop()


def test_the_plain_listener_off_leaves_no_way_in_without_tls(tls_broker: TlsBroker) -> None:
    user, password = "btn-001", tls_broker.broker.accounts["btn-001"]
    # Nothing on the plain port...
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", tls_broker.plain_port), timeout=2).close()
    # ...and plain MQTT to the TLS port gets no CONNACK (mosquitto waits for a handshake).
    assert _connect(tls_broker.plain_port, user, password, None).startswith("ConnectionRefused")
    assert _connect(tls_broker.tls_port, user, password, None) != "connected"
    # The config says so: one listener, with TLS 1.2 at least.
    conf = (tls_broker.tls.directory.parent / "mosquitto.conf").read_text()
    assert [line for line in conf.splitlines() if line.startswith("listener ")] == [
        f"listener {tls_broker.tls_port} 127.0.0.1"
    ]
    assert "tls_version tlsv1.2" in conf


def test_the_plain_listener_can_stay_on_the_loopback_only(tmp_path: Path, store: str) -> None:
    inventory = make_inventory(store)
    tls, accounts = _provision_tls(tmp_path, inventory)
    files = BrokerFiles(tmp_path / "broker")
    tls_port, plain_port = free_port(), free_port()
    listener = TlsListener(tls_port, tls.broker)
    proc = start_mosquitto(files, plain_port, "0.0.0.0", listener, Plain.LOCAL)  # noqa: S104
    try:
        conf = files.conf.read_text()
        assert f"listener {plain_port} 127.0.0.1" in conf
        assert f"listener {tls_port} 0.0.0.0" in conf
        assert _connect(plain_port, "hub", accounts["hub"], None) == "connected"
        assert _connect(tls_port, "hub", accounts["hub"], tls_context(tls.ca_pem())) == "connected"
    finally:
        proc.terminate()
        proc.wait(10)


# --- device configs -------------------------------------------------------------------------


def test_app_configs_connect_over_tls(tls_broker: TlsBroker, tls_hub: Hub, tmp_path: Path) -> None:
    """The queue screen's config as `provision --tls --configs-dir` renders it: the app comes
    online through the TLS port, trusting the store CA written into its config."""
    configs = tmp_path / "configs"
    r = provision(
        "--inventory",
        str(tmp_path / "inventory.yaml"),
        "--broker-dir",
        str(tmp_path / "broker"),
        "--secrets-file",
        str(tmp_path / "secrets.json"),
        "--tls",
        "--broker-host",
        "localhost",
        "--configs-dir",
        str(configs),
    )
    assert r.returncode == 0, r.stderr
    data = json.loads((configs / "screen-01.json").read_text())
    assert data["mqtt"]["port"] == 8883
    assert data["mqtt"]["ca_certificate"] == tls_broker.ca_pem
    printer = json.loads((configs / "printer-01.json").read_text())
    assert printer["mqtt"]["ca_certificate"] == tls_broker.ca_pem
    local = tmp_path / "local.json"
    local.write_text(json.dumps({"http_port": 0}))
    config = load_app_config(configs / "screen-01.json", local)
    # This test's broker listens on a free port, not 8883.
    config = config.model_copy(
        update={"mqtt": config.mqtt.model_copy(update={"port": tls_broker.tls_port})}
    )
    running = build_app(config)
    running.start()
    try:
        with _staff(tls_hub, tls_broker.tls.ca_cert) as staff:
            wait_until(lambda: "screen-01" in _online(staff), what="the screen online over TLS")
    finally:
        running.stop()


# --- the hub over HTTPS ---------------------------------------------------------------------


def test_the_hub_serves_https_verified_by_the_store_ca(tls_broker: TlsBroker, tls_hub: Hub) -> None:
    with _https_client(tls_hub, tls_broker.tls.ca_cert) as client:
        page = client.get("/", follow_redirects=True)  # to the staff login
        assert page.status_code == 200
        assert page.url.scheme == "https"
        assert "text/html" in page.headers["content-type"]
        health = client.get("/api/health").json()
        assert health["broker_connected"] is True  # the hub's own MQTT, over TLS too
    # What a browser without the store CA meets: a certificate nobody it trusts signed.
    with (
        httpx.Client(verify=True, timeout=10) as stranger,
        pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        stranger.get(f"https://localhost:{tls_hub.settings.http_port}/")
    # And plain HTTP on the HTTPS port is no way around it.
    with httpx.Client(timeout=10) as plain, pytest.raises(httpx.HTTPError):
        plain.get(f"http://localhost:{tls_hub.settings.http_port}/api/health")


def test_the_hub_refuses_half_an_https_setting(tls_broker: TlsBroker, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="go together"):
        hub_settings(
            tls_broker.broker,
            tmp_path / "hub",
            https_cert_file=tls_broker.tls.web.cert,
        )


# --- ESP32 (ESPHome) ------------------------------------------------------------------------


def test_esphome_configs_trust_the_store_ca(tmp_path: Path) -> None:
    """`provision --tls --configs-dir`: every ESP32 file connects to the TLS port with the
    store CA and checks the broker's name, as the real `esphome config` reads it."""
    tls, _ = _provision_tls(tmp_path, make_inventory("S1", buttons=1))
    configs = tmp_path / "configs"
    r = provision(
        "--inventory",
        str(tmp_path / "inventory.yaml"),
        "--broker-dir",
        str(tmp_path / "broker"),
        "--secrets-file",
        str(tmp_path / "secrets.json"),
        "--tls",
        "--broker-host",
        "hub.local",
        "--configs-dir",
        str(configs),
    )
    assert r.returncode == 0, r.stderr
    assert "hub.local" in certificate_names(tls.broker.cert)
    (configs / "secrets.yaml").write_text('wifi_ssid: "store"\nwifi_password: "not-real"\n')
    for name in ("btn-001.yaml", "table-001.yaml"):
        result = subprocess.run(
            [_esphome(), "config", name],
            cwd=configs,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, f"{name}:\n{result.stdout[-4000:]}\n{result.stderr}"
        assert "WARNING" not in result.stderr, result.stderr
        view = yaml.load(result.stdout, _AnyTagLoader)  # noqa: S506
        mqtt_block = view["mqtt"]
        assert (mqtt_block["broker"], mqtt_block["port"]) == ("hub.local", 8883)
        assert mqtt_block["certificate_authority"] == tls.ca_pem()
        assert mqtt_block["skip_cert_cn_check"] is False


# --- installed on a Pi ----------------------------------------------------------------------


def test_install_hub_with_tls_makes_the_store_ca_once(tmp_path: Path) -> None:
    """`install-hub --tls --plain local --https` under a scratch root: the CA root's alone,
    each server key readable by its service's group, the broker's TLS listener with the plain
    one on the loopback, the hub on TLS and HTTPS; a second run changes nothing."""
    root = tmp_path / "root"
    layout = Layout(root)
    release = make_release(layout, "0.1.0")
    inventory = tmp_path / "inventory.yaml"
    save_inventory(make_inventory(INSTALL_STORE), inventory)
    args = ("--tls", "--plain", "local", "--https", "--tls-name", "192.168.1.10")
    first = _install(root, inventory, release, *args)
    assert first.returncode == 0, first.stderr

    tls = layout.tls
    assert stat.S_IMODE(tls.ca_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(tls.broker.key.stat().st_mode) == 0o640
    assert tls.broker.key.stat().st_gid == grp.getgrnam("mosquitto").gr_gid
    assert stat.S_IMODE(tls.ca_cert.stat().st_mode) == 0o644
    host = socket.gethostname().split(".")[0].lower()
    assert set(certificate_names(tls.broker.cert)) == {
        "192.168.1.10",
        host,
        f"{host}.local",
        "localhost",
        "127.0.0.1",
    }
    _verify(tls.ca_cert, tls.web.cert)

    conf = (layout.broker.directory / "mosquitto.conf").read_text()
    listeners = [line for line in conf.splitlines() if line.startswith("listener ")]
    assert listeners == ["listener 1883 127.0.0.1", "listener 8883 0.0.0.0"]
    assert "certfile /etc/smartstore/tls/broker.crt" in conf
    env = (layout.etc / "hub.env").read_text()
    for line in (
        "SMARTSTORE_MQTT_HOST=localhost",
        "SMARTSTORE_MQTT_PORT=8883",
        "SMARTSTORE_MQTT_CA_FILE=/etc/smartstore/tls/ca.crt",
        "SMARTSTORE_HTTPS_CERT_FILE=/etc/smartstore/tls/web.crt",
        "SMARTSTORE_HTTPS_KEY_FILE=/etc/smartstore/tls/web.key",
    ):
        assert line in env.splitlines(), env

    before = tree(root)
    second = _install(root, inventory, release, *args)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip().splitlines()[-1] == "nothing changed", second.stdout
    assert tree(root) == before

    # HTTPS alone, without the store CA to sign its certificate, is refused; nothing changes.
    refused = _install(root, inventory, release, "--https")
    assert refused.returncode == 2
    assert "--https needs --tls" in refused.stderr
    assert tree(root) == before


def _install(
    root: Path, inventory: Path, release: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *(*SMARTSTORE, "install-hub", "--root", str(root), "--store", INSTALL_STORE),
            *("--inventory", str(inventory), "--release", str(release), *extra),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


# --- the command line -----------------------------------------------------------------------


def test_broker_and_simulate_commands_over_tls(tmp_path: Path) -> None:
    """`smartstore broker --tls --plain off` and `smartstore simulate --ca-file`: the simulated
    store comes online through the TLS listener, as mosquitto_sub (over TLS) sees it."""
    inventory = make_inventory("S1", buttons=2)
    tls, accounts = _provision_tls(tmp_path, inventory)
    tls_port, plain_port = free_port(), free_port()
    common = ["--inventory", str(tmp_path / "inventory.yaml")]
    common += ["--secrets-file", str(tmp_path / "secrets.json")]
    listeners = ["--bind", "127.0.0.1", "--port", str(plain_port), "--plain", "off"]
    listeners += ["--tls", "--tls-port", str(tls_port)]
    broker = subprocess.Popen(
        [*SMARTSTORE, "broker", *common, "--broker-dir", str(tmp_path / "broker"), *listeners],
        stdout=subprocess.PIPE,
        text=True,
    )
    simulate = None
    try:
        assert broker.stdout is not None
        assert f"127.0.0.1:{tls_port} (TLS)" in broker.stdout.readline()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", plain_port), timeout=2).close()
        over_tls = ["--host", "localhost", "--port", str(tls_port), "--ca-file", str(tls.ca_cert)]
        simulate = subprocess.Popen(
            [*SMARTSTORE, "simulate", *common, *over_tls, "--presses-per-min", "0"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def states() -> set[str]:
            as_hub = ["-u", "hub", "-P", accounts["hub"], "--cafile", str(tls.ca_cert)]
            retained = ["-t", "store/S1/+/+/state", "-v", "-W", "2"]
            sub = subprocess.run(
                ["mosquitto_sub", "-h", "localhost", "-p", str(tls_port), *as_hub, *retained],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
            return {
                line.split("/")[3] for line in sub.stdout.splitlines() if '"state":"online"' in line
            }

        wanted = {d.id for d in inventory.devices}
        wait_until(lambda: states() == wanted, 30, "every simulated device online over TLS")
    finally:
        for proc in (simulate, broker):
            if proc is not None:
                proc.terminate()
                proc.wait(10)
        if broker.stdout is not None:
            broker.stdout.close()

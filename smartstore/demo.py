"""A whole demo store on one machine: mosquitto, InfluxDB (when installed), the hub, HQ's cloud,
simulated devices (buttons diners press, kiosks that order), kitchen printers in software that
keep every ticket they print as text, and the real device apps: one kiosk and one queue screen,
each a page to open in a browser."""

import json
import logging
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import SecretStr

from cloud.db import migrate
from cloud.fleet_influx import fleet_exporter_for
from cloud.sales_influx import exporter_for
from contract import DeviceType
from contract.inventory import Inventory, generate_inventory, load_inventory, save_inventory
from contract.menu import load_menu
from contract.net import free_port
from devices.apps import DeviceApp, build_app, parse_app_config
from devices.fleet import Fleet
from devices.virtual_printer import VirtualPrinter, decode_text
from edge.app import StoreServer, server_config
from edge.config import Settings
from edge.tables.qrsheet import render_sheet
from edge.tables.service import qr_links
from edge.tables.tokens import TokenSigner
from edge.telemetry.v1_bridge import InfluxV1Bridge
from provisioning.broker import BrokerFiles, start_mosquitto
from provisioning.files import write_private
from provisioning.firmware import render_device_config
from provisioning.provision import HUB_ACCOUNT, ensure_secrets, write_broker_auth
from smartstore import demo_games
from smartstore.cloud_service import CloudHandle, cloud_settings, run_cloud_thread
from smartstore.demo_diners import DemoDiners
from smartstore.demo_line import DemoLine
from smartstore.samples import install_sample_menu
from smartstore.services import InfluxServer, start_influxd

log = logging.getLogger(__name__)
DEMO_STORE = "DEMO"
DEMO_STAFF = "demo"
DEMO_HQ_USER = "hq"
DEMO_TZ = "Asia/Shanghai"
# HQ's reports as CSV that Excel opens (UTF-8 with a BOM): label -> path and query.
HQ_REPORTS: tuple[tuple[str, str], ...] = (
    ("Daily metrics 每日指标", f"/api/v1/hq/daily?tz={DEMO_TZ}&format=csv"),
    ("Sales by hour 分时销售", f"/api/v1/hq/sales?by=hour&tz={DEMO_TZ}&format=csv"),
    ("Dish ranking 菜品排行", "/api/v1/hq/dishes/ranking?format=csv"),
    ("Ratings after the bill 评价", f"/api/v1/hq/feedback?tz={DEMO_TZ}&format=csv"),
    ("Comments 留言", f"/api/v1/hq/feedback/comments?tz={DEMO_TZ}&format=csv"),
    ("RFM segments 会员分层", "/api/v1/hq/rfm/segments?format=csv"),
    ("Liability 积分与券负债", "/api/v1/hq/liability?format=csv"),
    ("Risks 风险", "/api/v1/hq/risks?format=csv"),
)


def _hub_secrets(path: Path) -> dict[str, str]:
    if path.exists():
        data: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        if "cloud_admin_token" in data:
            if "member_key" not in data:  # made before members: the chain's key, kept from now on
                data["member_key"] = secrets.token_urlsafe(32)
                write_private(path, json.dumps(data))
            if "hq_password" not in data:  # made before the demo had an HQ user
                data["hq_password"] = secrets.token_urlsafe(12)
                write_private(path, json.dumps(data))
            return data
    data = {
        "secret_key": secrets.token_urlsafe(32),
        "pin": f"{secrets.randbelow(10**6):06d}",
        "cloud_admin_token": secrets.token_urlsafe(32),
        # The chain's member key (phone hashes): HQ's and the hub's, the same for every run.
        "member_key": secrets.token_urlsafe(32),
        # HQ's person in the demo (DEMO_HQ_USER), the same for every run.
        "hq_password": secrets.token_urlsafe(12),
    }
    write_private(path, json.dumps(data))
    return data


_APP_LABELS = {
    DeviceType.KIOSK: "Kiosk app 自助点餐机 (portrait 1080x1920)",
    DeviceType.QUEUE_SCREEN: "Queue screen app 叫号屏 (1920x1080)",
}

DEMO_LAYOUT = {"tables": 8, "buttons": 12, "kiosks": 2, "screens": 2, "printers": 3}


def _start_cloud(
    data_dir: Path, store: str, admin_token: str, member_key: str, influx_url: str
) -> tuple[CloudHandle, str]:
    """HQ's service on the embedded default (SQLite), with the demo store registered; returns
    the running service and the store's token."""
    settings = cloud_settings(
        f"sqlite:///{data_dir / 'cloud.sqlite3'}",
        admin_token=SecretStr(admin_token),
        member_key=SecretStr(member_key),
        influx_url=influx_url,
        influx_bucket="smartstore/autogen",
    )
    migrate(settings.database_url)
    hq = run_cloud_thread(settings)
    r = hq.admin.post("/api/v1/stores", json={"id": store, "name": store})
    if r.status_code == 409:  # registered in an earlier run: issue a fresh token
        r = hq.admin.post(f"/api/v1/stores/{store}/token")
    r.raise_for_status()
    return hq, str(r.json()["token"])


def hq_access(hq: CloudHandle, password: str) -> str:
    """The demo's HQ user (made by the admin on the first run) logged in: a session token for
    the report links (valid 12 hours)."""
    user = {"username": DEMO_HQ_USER, "password": password}
    # The demo's one HQ user runs everything (campaigns, coupons, points): a chain admin.
    r = hq.admin.post("/api/v1/hq/users", json={**user, "role": "admin"})
    if r.status_code not in (201, 409):  # 409: made by an earlier run
        r.raise_for_status()
    with hq.client() as client:
        r = client.post("/api/v1/hq/login", json=user)
        r.raise_for_status()
        return str(r.json()["token"])


def hq_booking(now: float) -> dict[str, object]:
    """A booking HQ takes for the demo store (tomorrow at seven, for two): its hub decides."""
    return {
        "request_id": f"demo-{int(now)}",
        "day": time.strftime("%Y-%m-%d", time.localtime(now + 86_400)),
        "slot": "19:00",
        "size": 2,
        "name": "Li",
        "phone": "13800138000",
    }


def hq_lines(base_url: str, password: str, token: str, store: str) -> str:
    """What the demo prints for HQ: the login, each report's CSV, ready for curl, and a booking
    HQ takes for the store (its hub decides; with the hub away HQ says so, nothing booked)."""
    auth = f'-H "Authorization: Bearer {token}"'
    booking = json.dumps(hq_booking(time.time()))
    return (
        f"  HQ 总部: log in with POST {base_url}/api/v1/hq/login"
        f' {{"username": "{DEMO_HQ_USER}", "password": "{password}"}}'
        f" (API docs {base_url}/docs)\n"
        "  HQ reports as CSV for Excel 报表 (this session's token, valid 12 h; RFM segments"
        f" after POST {base_url}/api/v1/hq/rfm/score):\n"
        + "".join(
            f"    {label}: curl {auth} -o report.csv '{base_url}{path}'\n"
            for label, path in HQ_REPORTS
        )
        + "  HQ books a table at the store, its hub decides 总部代订:"
        f" curl -X POST {auth} -H 'Content-Type: application/json' -d '{booking}'"
        f" '{base_url}/api/v1/hq/stores/{store}/bookings'\n"
    )


def _start_printers(inventory: Inventory, out_dir: Path) -> tuple[Inventory, list[VirtualPrinter]]:
    """A software printer for each printer in the inventory, on a free port; each ticket it
    prints is kept as text in out_dir/<printer>/."""
    printers = []
    devices = []
    for spec in inventory.devices:
        if spec.type is DeviceType.PRINTER:
            folder = out_dir / spec.id
            folder.mkdir(parents=True, exist_ok=True)
            printer = VirtualPrinter(on_job=_keep_ticket(folder, spec.id)).start()
            printers.append(printer)
            spec = spec.model_copy(update={"address": f"127.0.0.1:{printer.port}"})
        devices.append(spec)
    return inventory.model_copy(update={"devices": devices}), printers


def _keep_ticket(folder: Path, printer: str) -> Callable[[bytes], None]:
    def keep(job: bytes) -> None:
        try:
            text = decode_text(job)
        except ValueError as exc:
            text = f"(not a ticket this printer can print: {exc})"
        name = time.strftime("%Y%m%d-%H%M%S") + f"-{secrets.token_hex(2)}.txt"
        (folder / name).write_text(text + "\n", encoding="utf-8")
        first = next((line for line in text.splitlines() if " x " in line), "")
        log.info("printer %s printed a ticket: %s", printer, first.strip())

    return keep


def _start_apps(
    inventory: Inventory,
    accounts: dict[str, str],
    mqtt_port: int,
    hub_url: str,
    http_host: str,
    slips: VirtualPrinter,
) -> tuple[Inventory, list[DeviceApp]]:
    """The first kiosk and the first queue screen as the real apps (configs rendered as
    `provision` renders them, pages on free ports); the inventory left to the simulators."""
    apps: list[DeviceApp] = []
    taken: set[str] = set()
    for kind in (DeviceType.KIOSK, DeviceType.QUEUE_SCREEN):
        spec = next((d for d in inventory.devices if d.type is kind), None)
        if spec is None:
            continue
        text = render_device_config(
            inventory.store, spec, accounts[spec.id], "127.0.0.1", mqtt_port, hub_url=hub_url
        )
        values = {**json.loads(text), "http_host": http_host, "http_port": free_port()}
        if kind is DeviceType.KIOSK:
            values |= {"printer_host": "127.0.0.1", "printer_port": slips.port}
        app = build_app(parse_app_config(values, f"the demo's {spec.id}"))
        app.start()
        apps.append(app)
        taken.add(spec.id)
    rest = [d for d in inventory.devices if d.id not in taken]
    return inventory.model_copy(update={"devices": rest}), apps


def run_demo(
    data_dir: Path,
    http_host: str,
    http_port: int,
    presses_per_min: float,
    orders_per_min: float = 2.0,
) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    inventory_path = data_dir / "inventory.yaml"
    if not inventory_path.exists():
        save_inventory(generate_inventory(DEMO_STORE, **DEMO_LAYOUT), inventory_path)
    inventory, printers = _start_printers(load_inventory(inventory_path), data_dir / "printed")
    save_inventory(inventory, inventory_path)  # the printers' addresses of this run
    menu_path = install_sample_menu(data_dir)
    accounts = ensure_secrets(inventory, data_dir / "secrets" / "mqtt.json")
    hub = _hub_secrets(data_dir / "secrets" / "hub.json")

    files = BrokerFiles(data_dir / "broker")
    write_broker_auth(inventory, accounts, files.passwd, files.acl)
    mqtt_port = free_port()
    broker = start_mosquitto(files, mqtt_port)

    influx: InfluxServer | None = None
    bridge: InfluxV1Bridge | None = None
    influx_url = ""
    try:
        influx = start_influxd(data_dir / "influxdb")
        influx.create_database("smartstore")
        bridge = InfluxV1Bridge(influx.url).start()
        influx_url = bridge.url
    except (FileNotFoundError, OSError) as exc:
        log.warning("no InfluxDB for the demo (%s); telemetry waits in the hub's buffer", exc)

    settings = Settings(
        mode="demo",
        store_id=inventory.store,
        data_dir=data_dir,
        inventory_path=inventory_path,
        http_host=http_host,
        http_port=http_port,
        mqtt_port=mqtt_port,
        mqtt_password=accounts[HUB_ACCOUNT],  # type: ignore[arg-type]
        influx_url=influx_url,
        influx_bucket="smartstore/autogen",
        staff={DEMO_STAFF: hub["pin"]},  # type: ignore[dict-item]
        managers=[DEMO_STAFF],
        secret_key=hub["secret_key"],  # type: ignore[arg-type]
        member_key=hub["member_key"],  # type: ignore[arg-type]
        call_urgent_after_s=45,
        # The demo's simulated phones all come from this machine's one address.
        waitlist_takes_per_client_per_minute=30,
        menu_path=menu_path,
        store_name="smartstore 演示店 Demo",
    )
    hq, store_token = _start_cloud(
        data_dir, inventory.store, hub["cloud_admin_token"], hub["member_key"], influx_url
    )
    # HQ publishes the menu with the demo's campaigns; the hub pulls and applies it.
    demo_games.publish(hq, menu_path, hub["cloud_admin_token"][:32])
    hq_token = hq_access(hq, hub["hq_password"])
    exporter, hubs = exporter_for(hq.settings), fleet_exporter_for(hq.settings)
    if exporter is not None:
        exporter.start()
    if hubs is not None:
        hubs.start()
    settings = settings.model_copy(
        update={"cloud_url": hq.base_url, "cloud_token": SecretStr(store_token)}
    )
    shown_host = "127.0.0.1" if http_host in ("0.0.0.0", "") else http_host  # noqa: S104
    base_url = f"http://{shown_host}:{http_port}"
    slips_dir = data_dir / "printed" / "kiosk-slips"
    slips_dir.mkdir(parents=True, exist_ok=True)
    slips = VirtualPrinter(on_job=_keep_ticket(slips_dir, "kiosk-slips")).start()
    simulated, apps = _start_apps(
        inventory, accounts, mqtt_port, base_url, http_host or "127.0.0.1", slips
    )
    fleet = Fleet(simulated, accounts, "127.0.0.1", mqtt_port, telemetry_every_s=10)
    fleet.start()
    fleet.press_randomly(presses_per_min / 60)
    fleet.wander_printers(every_s=20)
    fleet.order_randomly(orders_per_min / 60, load_menu(menu_path))
    diners = DemoDiners(base_url, DEMO_STAFF, hub["pin"]).start()
    door = DemoLine(base_url, DEMO_STAFF, hub["pin"]).start()
    signer = TokenSigner(hub["secret_key"], inventory.store)
    links = qr_links(settings.db_path, inventory, signer)
    sheet = data_dir / "tables.pdf"
    render_sheet([(name, base_url + path) for name, path in links], sheet, settings.store_name)
    print(
        "\n"
        f"  smartstore demo store {inventory.store}: {len(fleet.devices) + len(apps)} devices, "
        f"mosquitto on :{mqtt_port}"
        + (f", InfluxDB at {influx.url} (db smartstore)" if influx else "")
        + f", HQ cloud at {hq.base_url}"
        + "\n"
        f"  Staff board 员工看板:  http://{shown_host}:{http_port}/board\n"
        f"  Device board 设备看板: http://{shown_host}:{http_port}/devices\n"
        f"  Orders & kitchen 订单: http://{shown_host}:{http_port}/orders\n"
        f"  A diner at table {links[0][0]} 扫码点餐: {base_url}{links[0][1]}\n"
        "  Members 会员: simulated diners join, order and pay with coupons and points\n"
        f"  The line at the door 排队取号: {base_url}/wait (staff: {base_url}/waitlist); "
        "simulated parties take numbers, the host calls them\n"
        f"  Games 游戏: they play the wheel, the quiz and the stamp card after paying; "
        f"staff's page http://{shown_host}:{http_port}/games\n"
        f"  Every table's QR code 桌台二维码: {sheet}\n"
        + "".join(
            f"  {_APP_LABELS[a.config.device_type]} ({a.config.device_id}): {a.url}\n" for a in apps
        )
        + f"  Tickets the kitchen printers printed 厨房小票: {data_dir / 'printed'}\n"
        f"  Log in 登录:  name {DEMO_STAFF}   PIN {hub['pin']}  (a manager 店长: voids, refunds,"
        " new QR codes, device commands; a waiter in SMARTSTORE_STAFF sees none of them)\n"
        + hq_lines(hq.base_url, hub["hq_password"], hq_token, inventory.store)
        + "  Grafana is not run by the demo: `docker compose up grafana` shows dashboards/"
        " (docs/grafana.md).\n"
        "  Ctrl-C stops the demo.\n",
        flush=True,
    )
    try:
        StoreServer(server_config(settings)).run()
    finally:
        door.stop()
        diners.stop()
        fleet.stop()
        for app in apps:
            app.stop()
        slips.stop()
        for printer in printers:
            printer.stop()
        if hubs is not None:
            hubs.stop()
        if exporter is not None:
            exporter.stop()
        hq.stop()
        broker.terminate()
        broker.wait(10)
        if bridge is not None:
            bridge.stop()
        if influx is not None:
            influx.stop()

"""The one command line: `smartstore --help`."""

import contextlib
import logging
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

app = typer.Typer(
    help="smartstore: the store hub, its devices and the tools to run them.",
    no_args_is_help=True,
    add_completion=False,
)

DataDir = Annotated[Path, typer.Option(help="Where the store keeps its database and secrets.")]


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # One line per HTTP request (the uplink's, the demo's) drowns what matters.
    logging.getLogger("httpx").setLevel(logging.DEBUG if verbose else logging.WARNING)


S = TypeVar("S", bound="BaseSettings")


def _load_settings(cls: type[S], env_file: Path | None, what: str) -> S:
    """Settings from the environment (and a file of them); unusable ones end the command with
    every problem listed, exit code 2."""
    try:
        return cls(_env_file=env_file) if env_file else cls()
    except ValueError as exc:
        typer.echo(f"{what} settings are not usable:\n{exc}", err=True)
        raise typer.Exit(2) from None


@app.command()
def hub(
    env_file: Annotated[
        Path | None, typer.Option(help="A file of SMARTSTORE_* settings (see docs/hub.md).")
    ] = None,
    verbose: bool = False,
) -> None:
    """Run the store hub: MQTT ingest, the staff board, the InfluxDB uplink."""

    from edge.app import StoreServer, server_config
    from edge.config import Settings
    from edge.db import DatabaseInUse, SchemaTooNew, SchemaTooOld, exclusive_use, migrate

    _logging(verbose)
    settings = _load_settings(Settings, env_file, "hub")
    try:
        # Held until the hub exits: `smartstore restore` and a second hub are refused.
        with exclusive_use(settings.db_path):
            # Before serving: a database this release cannot run on stops the hub with what
            # to do, not with a traceback from the middle of the web server's start-up.
            migrate(settings.db_path)
            StoreServer(server_config(settings, "debug" if verbose else "warning")).run()
    except (SchemaTooNew, SchemaTooOld, DatabaseInUse) as exc:
        typer.echo(f"smartstore hub: {exc}", err=True)
        raise typer.Exit(2) from None


HubDataDir = Annotated[
    Path,
    typer.Option(help="The hub's data directory (SMARTSTORE_DATA_DIR), holding hub.sqlite3."),
]


@app.command("migrate")
def migrate_command(
    db: Annotated[Path, typer.Option(help="The hub database (hub.sqlite3).")],
    check: Annotated[
        bool,
        typer.Option(help="Migrate a copy only (taken with SQLite's backup API): does it work?"),
    ] = False,
) -> None:
    """Bring a hub database to this release's schema (the hub does it at every start; an
    upgrade does it first, on a copy with --check, so a failing migration stops the upgrade
    while the old release keeps running)."""
    import tempfile

    from edge.backups.service import BackupError, backup_database
    from edge.db import DatabaseInUse, SchemaTooNew, SchemaTooOld, exclusive_use, migrate, revision

    if not db.is_file():
        typer.echo(f"no database at {db}", err=True)
        raise typer.Exit(2)
    before = revision(db)
    try:
        if check:
            with tempfile.TemporaryDirectory(prefix="smartstore-migrate-") as scratch:
                copy = backup_database(db, Path(scratch) / db.name)
                migrate(copy)
                after = revision(copy)
            typer.echo(f"{db}: a copy migrates from {before} to {after}; {db} is unchanged")
            return
        with exclusive_use(db):
            migrate(db)
    except (SchemaTooNew, SchemaTooOld, DatabaseInUse, BackupError) as exc:
        typer.echo(f"smartstore migrate: {exc}", err=True)
        raise typer.Exit(2) from None
    except Exception as exc:
        # A migration that fails is rolled back whole (edge.db.migrate: one transaction).
        typer.echo(
            f"smartstore migrate: the migration failed, {db} is unchanged: {exc!r}", err=True
        )
        raise typer.Exit(1) from None
    typer.echo(f"{db}: schema {before} -> {revision(db)}")


@app.command()
def backup(
    data_dir: HubDataDir,
    backup_dir: Annotated[
        Path | None, typer.Option(help="SMARTSTORE_BACKUP_DIR [default: DATA_DIR/backups].")
    ] = None,
    keep: Annotated[int, typer.Option(min=1, help="SMARTSTORE_BACKUP_KEEP.")] = 7,
) -> None:
    """Back the hub's database up now, as the nightly backup does (safe while the hub runs)."""
    from edge.backups.service import BackupError, take_nightly
    from edge.config import BACKUPS_DIR, DB_FILE

    try:
        made = take_nightly(data_dir / DB_FILE, backup_dir or data_dir / BACKUPS_DIR, keep)
    except BackupError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    typer.echo(f"backed up to {made}")


@app.command()
def restore(
    backup_file: Annotated[Path, typer.Argument(metavar="BACKUP", help="A backup to put back.")],
    data_dir: HubDataDir,
) -> None:
    """Put a backup back as the hub's database (stop the hub first). The current database is
    kept beside it, renamed, never deleted."""
    from edge.backups.service import BackupError
    from edge.backups.service import restore as put_back
    from edge.config import DB_FILE
    from edge.db import DatabaseInUse

    try:
        done = put_back(backup_file, data_dir / DB_FILE)
    except (BackupError, DatabaseInUse) as exc:
        typer.echo(f"smartstore restore: {exc}", err=True)
        raise typer.Exit(2) from None
    if done.aside is not None:
        typer.echo(f"the database it replaced is kept as {done.aside}")
    typer.echo(f"restored {backup_file} to {done.database}; start the hub (it migrates it)")


@app.command()
def qr(
    out: Annotated[Path, typer.Option(help="The PDF to write: every table's QR code.")],
    env_file: Annotated[
        Path | None, typer.Option(help="A file of SMARTSTORE_* settings (see docs/hub.md).")
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(help="How phones reach the hub, e.g. http://192.168.1.10:8000."),
    ] = None,
) -> None:
    """Make a printable sheet of every table's QR code (with the table's name under it)."""
    from contract.inventory import load_inventory
    from edge.config import Settings
    from edge.tables.qrsheet import render_sheet
    from edge.tables.service import qr_links
    from edge.tables.tokens import TokenSigner

    settings = _load_settings(Settings, env_file, "hub")
    url = (base_url or settings.public_url).rstrip("/")
    if not url.startswith(("http://", "https://")):
        typer.echo("give --base-url (or SMARTSTORE_PUBLIC_URL) as http://host:port", err=True)
        raise typer.Exit(2)
    try:
        inv = load_inventory(settings.inventory_file)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    signer = TokenSigner(settings.secret_key.get_secret_value(), settings.store_id)
    links = qr_links(settings.db_path, inv, signer)
    if not links:
        typer.echo(f"the inventory {settings.inventory_file} lists no tables", err=True)
        raise typer.Exit(2)
    try:
        pages = render_sheet([(name, url + path) for name, path in links], out, settings.store_name)
    except ValueError as exc:  # a URL too long to print as a code that still scans
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{len(links)} tables on {pages} page(s) in {out}")


TlsDir = Annotated[
    Path | None,
    typer.Option(help="The store CA and server certificates [default: BROKER_DIR/tls]."),
]


@app.command()
def provision(
    inventory: Annotated[Path, typer.Option(help="The store inventory (YAML).")],
    broker_dir: Annotated[Path, typer.Option(help="Where mosquitto's passwd and acl go.")],
    secrets_file: Annotated[Path, typer.Option(help="JSON of account -> password (kept secret).")],
    rotate: Annotated[
        list[str] | None, typer.Option(help="Give this account a new password (repeatable).")
    ] = None,
    configs_dir: Annotated[
        Path | None,
        typer.Option(help="Also write each device's config (ESPHome YAML or JSON) here."),
    ] = None,
    broker_host: Annotated[str, typer.Option(help="The broker as devices reach it.")] = "hub.local",
    broker_port: Annotated[
        int | None, typer.Option(help="Devices' broker port [default: 1883; 8883 with --tls].")
    ] = None,
    hub_url: Annotated[
        str | None,
        typer.Option(help="The hub's web server as kiosks reach it [default: http://HOST:8000]."),
    ] = None,
    tls: Annotated[
        bool,
        typer.Option(
            help="Make the store CA and the broker's and hub's certificates (kept when they "
            "exist); device configs then connect over TLS."
        ),
    ] = False,
    tls_dir: TlsDir = None,
    tls_name: Annotated[
        list[str] | None,
        typer.Option(
            help="Another host name or IP devices or browsers use for the hub, put in its "
            "certificates with --broker-host (repeatable)."
        ),
    ] = None,
    renew_tls_cert: Annotated[
        bool, typer.Option(help="New server certificates from the same CA (devices keep working).")
    ] = False,
    renew_store_ca: Annotated[
        bool,
        typer.Option(
            help="A new store CA and certificates: every device needs its config again and "
            "every ESP32 a new firmware."
        ),
    ] = False,
) -> None:
    """Make per-device MQTT credentials, the broker's password and ACL files, and (with
    --configs-dir) each device's config with its secret, ready to flash or install. With
    --tls, also the store CA and certificates (docs/install.md, "Secrets on the wire")."""
    from contract.inventory import load_inventory
    from provisioning.broker import TLS_PORT, BrokerFiles
    from provisioning.provision import ensure_secrets, write_broker_auth
    from provisioning.tls import StoreTls, TlsError, ensure_store_tls

    if (renew_tls_cert or renew_store_ca or tls_name) and not tls:
        typer.echo("--tls-name, --renew-tls-cert and --renew-store-ca go with --tls", err=True)
        raise typer.Exit(2)
    try:
        inv = load_inventory(inventory)
        accounts = ensure_secrets(inv, secrets_file, rotate or ())
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    files = BrokerFiles(broker_dir)
    write_broker_auth(inv, accounts, files.passwd, files.acl)
    typer.echo(f"{len(accounts)} accounts; wrote {files.passwd} and {files.acl}")
    ca_pem = None
    if tls:
        store_tls = StoreTls(tls_dir or broker_dir / "tls")
        try:
            made = ensure_store_tls(
                store_tls.directory,
                inv.store,
                [broker_host, *(tls_name or ())],
                renew_certs=renew_tls_cert,
                renew_ca=renew_store_ca,
            )
        except (TlsError, ValueError) as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
        for path in made.made:
            typer.echo(f"made {path}")
        for warning in made.warnings:
            typer.echo(f"warning: {warning}", err=True)
        if not made.made:
            typer.echo(f"store CA and certificates in {store_tls.directory} kept as they are")
        ca_pem = store_tls.ca_pem()
    if configs_dir is not None:
        from provisioning.firmware import write_device_configs

        port = broker_port or (TLS_PORT if tls else 1883)
        try:
            written = write_device_configs(
                inv, accounts, configs_dir, broker_host, port, hub_url=hub_url, ca_pem=ca_pem
            )
        except ValueError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
        over = f" over TLS to {broker_host}:{port}" if tls else ""
        typer.echo(
            f"{len(written)} device configs in {configs_dir}{over} (secret: keep off the repo)"
        )


@app.command()
def broker(
    inventory: Annotated[Path, typer.Option(help="The store inventory (YAML).")],
    broker_dir: Annotated[Path, typer.Option(help="mosquitto's config, auth and persistence.")],
    secrets_file: Annotated[Path, typer.Option(help="JSON of account -> password.")],
    port: int = 1883,
    bind: str = "0.0.0.0",  # noqa: S104 - devices reach the broker over the store LAN
    tls: Annotated[
        bool, typer.Option(help="Also listen with TLS (certificates from `provision --tls`).")
    ] = False,
    tls_dir: TlsDir = None,
    tls_port: int = 8883,
    plain: Annotated[
        str,
        typer.Option(
            help="The listener without TLS: lan (on BIND), local (127.0.0.1 only) or off "
            "(needs --tls)."
        ),
    ] = "lan",
) -> None:
    """Provision, write mosquitto's config, and run mosquitto in the foreground."""
    from contract.inventory import load_inventory
    from provisioning.broker import BrokerFiles, Plain, TlsListener, start_mosquitto
    from provisioning.provision import ensure_secrets, write_broker_auth
    from provisioning.tls import StoreTls

    try:
        plain_listener = Plain(plain)
    except ValueError:
        typer.echo(f"--plain must be one of {', '.join(p.value for p in Plain)}", err=True)
        raise typer.Exit(2) from None
    listener = None
    if tls:
        store_tls = StoreTls(tls_dir or broker_dir / "tls")
        if not (store_tls.broker.cert.exists() and store_tls.broker.key.exists()):
            typer.echo(f"no certificate in {store_tls.directory}: run provision --tls", err=True)
            raise typer.Exit(2)
        listener = TlsListener(tls_port, store_tls.broker)
    elif plain_listener is not Plain.LAN:
        typer.echo("--plain local or off needs --tls: devices would have no way in", err=True)
        raise typer.Exit(2)
    inv = load_inventory(inventory)
    files = BrokerFiles(broker_dir)
    write_broker_auth(inv, ensure_secrets(inv, secrets_file), files.passwd, files.acl)
    proc = start_mosquitto(files, port, bind, listener, plain_listener)
    where = [f"{bind}:{port}"] if plain_listener is Plain.LAN else []
    where += [f"127.0.0.1:{port}"] if plain_listener is Plain.LOCAL else []
    where += [f"{bind}:{tls_port} (TLS)"] if listener else []
    typer.echo(f"mosquitto on {', '.join(where)}, config {files.conf}")
    try:
        proc.wait()
    except KeyboardInterrupt:
        proc.terminate()


@app.command()
def cloud(
    env_file: Annotated[
        Path | None, typer.Option(help="A file of SMARTSTORE_CLOUD_* settings (cloud/README.md).")
    ] = None,
    host: str = "127.0.0.1",
    port: int = 8100,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn workers (stateless).")] = 1,
) -> None:
    """Run the HQ cloud service: migrate its database, then serve the ingest and store API."""
    import os

    import uvicorn

    from cloud.config import Settings as CloudSettings
    from cloud.db import migrate
    from cloud.fleet_influx import fleet_exporter_for
    from cloud.sales_influx import exporter_for
    from smartstore.settings_env import as_environment

    _logging(False)
    settings = _load_settings(CloudSettings, env_file, "cloud")
    migrate(settings.database_url)
    # The workers are new processes: they read their settings from the environment.
    os.environ.update(as_environment(settings))
    # One sales and one fleet exporter beside the workers, not one in each.
    exporter, fleet = exporter_for(settings), fleet_exporter_for(settings)
    if exporter is not None:
        exporter.start()
    if fleet is not None:
        fleet.start()
    try:
        uvicorn.run(
            "cloud.app:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
        )
    finally:
        if fleet is not None:
            fleet.stop()
        if exporter is not None:
            exporter.stop()


@app.command("rebuild-report-rows")
def rebuild_report_rows(
    env_file: Annotated[
        Path | None, typer.Option(help="A file of SMARTSTORE_CLOUD_* settings (cloud/README.md).")
    ] = None,
) -> None:
    """Make the rows HQ's reports count again from every stored event. Needed only if events
    were stored by a cloud older than migration 0005 after the database was migrated (stop
    every old `smartstore cloud` first): those events are missing from the reports until then."""
    from cloud import sales_facts
    from cloud.config import Settings as CloudSettings
    from cloud.db import make_engine, make_sessions, migrate

    settings = _load_settings(CloudSettings, env_file, "cloud")
    migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with make_sessions(engine).begin() as session:
            read = sales_facts.rebuild(session)
    finally:
        engine.dispose()
    typer.echo(f"report rows made again from {read} order and kitchen events")


Count = Annotated[int, typer.Option(min=0, max=2000)]


@app.command()
def inventory(
    out: Annotated[Path, typer.Option(help="Where to write the inventory (YAML).")],
    store: Annotated[str, typer.Option(help="The store's id.")],
    tables: Count = 0,
    buttons: Count = 0,
    kiosks: Count = 0,
    screens: Count = 0,
    printers: Count = 0,
) -> None:
    """Write a store inventory laid out from device counts (edit it to match the floor)."""
    from contract.inventory import generate_inventory, save_inventory

    try:
        inv = generate_inventory(
            store, tables=tables, buttons=buttons, kiosks=kiosks, screens=screens, printers=printers
        )
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    save_inventory(inv, out)
    typer.echo(f"{len(inv.devices)} devices for store {store} in {out}")


@app.command()
def simulate(
    secrets_file: Annotated[Path, typer.Option(help="JSON of account -> password.")],
    inventory: Annotated[
        Path | None, typer.Option(help="The store inventory; or give --store and counts.")
    ] = None,
    store: Annotated[str | None, typer.Option(help="With counts instead of --inventory.")] = None,
    tables: Count = 0,
    buttons: Count = 0,
    kiosks: Count = 0,
    screens: Count = 0,
    printers: Count = 0,
    host: str = "127.0.0.1",
    port: int = 1883,
    presses_per_min: Annotated[float, typer.Option(help="All buttons together.")] = 6.0,
    telemetry_every_s: Annotated[float, typer.Option(help="Heartbeat interval.")] = 30.0,
    ca_file: Annotated[
        Path | None,
        typer.Option(help="The store CA (ca.crt): connect over TLS to PORT (the TLS port)."),
    ] = None,
) -> None:
    """Run simulated devices over the real broker: every device in the inventory, or a store
    generated from counts (as `smartstore inventory` would write it)."""
    from contract.inventory import generate_inventory, load_inventory
    from devices.fleet import Fleet
    from provisioning.provision import load_secrets

    _logging(False)
    if inventory is not None:
        inv = load_inventory(inventory)
    elif store is not None:
        inv = generate_inventory(
            store, tables=tables, buttons=buttons, kiosks=kiosks, screens=screens, printers=printers
        )
    else:
        typer.echo("give --inventory, or --store with device counts", err=True)
        raise typer.Exit(2)
    accounts = load_secrets(secrets_file)
    missing = [d.id for d in inv.devices if d.id not in accounts]
    if missing:
        typer.echo(f"not provisioned (no secret): {', '.join(missing[:10])}", err=True)
        raise typer.Exit(2)
    ca_pem = ca_file.read_text(encoding="ascii") if ca_file is not None else None
    fleet = Fleet(inv, accounts, host, port, telemetry_every_s=telemetry_every_s, ca_pem=ca_pem)
    fleet.start()
    fleet.press_randomly(presses_per_min / 60)
    typer.echo(f"{len(fleet.devices)} simulated devices on {host}:{port}; Ctrl-C stops them")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    fleet.stop()


@app.command("device-app")
def device_app(
    config: Annotated[
        Path, typer.Option(help="The device's JSON config (`provision --configs-dir`).")
    ],
    local: Annotated[
        Path | None,
        typer.Option(help="This device's own settings (printer, camera, ports...), JSON."),
    ] = None,
    browser: Annotated[
        bool, typer.Option(help="Also show the page full screen in Chromium (kiosk mode).")
    ] = False,
    chromium: Annotated[
        str | None, typer.Option(help="Chromium's path (default: found on PATH).")
    ] = None,
    profile_dir: Annotated[
        Path | None, typer.Option(help="Chromium's profile (default ~/.cache/smartstore/...).")
    ] = None,
    http_port: Annotated[
        int | None, typer.Option(help="Serve the page on this port instead of the config's.")
    ] = None,
    verbose: bool = False,
) -> None:
    """Run a device app from its config: a kiosk or a queue screen, as one device on MQTT
    with its page served on this machine (docs/device-apps.md)."""
    from devices.apps import ConfigError, build_app, load_app_config
    from devices.apps.browser import find_chromium, launch

    _logging(verbose)
    try:
        settings = load_app_config(config, local)
        if http_port is not None:
            settings = settings.model_copy(update={"http_port": http_port})
        exe = find_chromium() if browser and chromium is None else chromium
    except (ConfigError, FileNotFoundError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    running = build_app(settings)
    typer.echo(f"{settings.device_type.value} {settings.device_id}: page at {running.url}")
    profile = (
        profile_dir or Path.home() / ".cache" / "smartstore" / f"chromium-{settings.device_id}"
    )
    shown: list[subprocess.Popen[bytes]] = []

    def open_browser() -> None:
        while not running.server.started and not running.server.should_exit:
            time.sleep(0.1)
        if running.server.started:
            shown.append(launch(running.url, profile, exe))

    if browser:
        threading.Thread(target=open_browser, daemon=True).start()
    try:
        running.run()
    finally:
        for proc in shown:
            proc.terminate()
            proc.wait(10)


@app.command("print-bridge")
def print_bridge(
    config: Annotated[
        Path, typer.Option(help="The printer bridge's JSON config (`provision --configs-dir`).")
    ],
    local: Annotated[
        Path | None,
        typer.Option(help="This bridge's own settings (usb_device, listen_port...), JSON."),
    ] = None,
    verbose: bool = False,
) -> None:
    """Run a printer bridge: the USB printer beside it as a network printer for the hub
    (tickets and status on TCP 9100), and a printer device on MQTT (firmware_configs/README.md)."""
    from devices.apps import ConfigError
    from devices.print_bridge import load_bridge_config, run

    _logging(verbose)
    try:
        settings = load_bridge_config(config, local)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(run(settings))


@app.command("install-hub")
def install_hub(
    store: Annotated[str, typer.Option(help="The store's id, as in its inventory.")],
    inventory: Annotated[Path, typer.Option(help="The store inventory (YAML), copied.")],
    release: Annotated[
        Path | None,
        typer.Option(help="The release to run [default: the one this command runs from]."),
    ] = None,
    root: Annotated[
        Path, typer.Option(help="Install under this prefix (tests); `/` also manages systemd.")
    ] = Path("/"),
    http_port: int = 8000,
    mqtt_port: int = 1883,
    staff: Annotated[
        str, typer.Option(help="The first staff login (its PIN is made).")
    ] = "manager",
    store_name: str = "",
    public_url: Annotated[str, typer.Option(help="How diners' phones reach the hub.")] = "",
    start: Annotated[bool, typer.Option(help="Enable and (re)start the services.")] = True,
    tls: Annotated[
        bool,
        typer.Option(help="The broker's TLS listener, with a store CA made here (then kept)."),
    ] = False,
    tls_port: int = 8883,
    tls_name: Annotated[
        list[str] | None,
        typer.Option(help="A name or IP devices use for the hub, beyond HOSTNAME(.local)."),
    ] = None,
    plain: Annotated[
        str, typer.Option(help="With --tls, the plain listener: lan, local (loopback) or off.")
    ] = "lan",
    https: Annotated[
        bool, typer.Option(help="Serve the hub's pages over HTTPS (with --tls).")
    ] = False,
) -> None:
    """Install (or upgrade to) a hub release on this Pi: system user, /etc/smartstore,
    /var/lib/smartstore, systemd units for the broker and the hub (docs/install.md). Run
    again: changes nothing; with a newer release: migrates (backed up first) and switches."""
    import sys

    from provisioning.broker import Plain
    from provisioning.tls import TlsError
    from smartstore.install import (
        HubOptions,
        InstallError,
        Layout,
        NoServices,
        Services,
        Systemd,
        install,
    )

    try:
        plain_listener = Plain(plain)
    except ValueError:
        typer.echo(f"--plain must be one of {', '.join(p.value for p in Plain)}", err=True)
        raise typer.Exit(2) from None
    layout = Layout(root)
    services: Services = Systemd() if root == Path("/") else NoServices()
    options = HubOptions(
        store=store,
        inventory_file=inventory,
        http_port=http_port,
        mqtt_port=mqtt_port,
        staff=staff,
        store_name=store_name,
        public_url=public_url,
        tls=tls,
        tls_port=tls_port,
        tls_names=tuple(tls_name or ()),
        plain=plain_listener,
        https=https,
    )
    try:
        report = install(layout, options, release or Path(sys.prefix), services, start=start)
    except (InstallError, TlsError, ValueError) as exc:
        typer.echo(f"smartstore install-hub: {exc}", err=True)
        raise typer.Exit(2) from None
    for path in report.changed:
        typer.echo(f"changed {path}")
    for note in report.notes:
        typer.echo(note)
    if not report.changed:
        typer.echo("nothing changed")


@app.command()
def demo(
    data_dir: DataDir = Path(".smartstore-demo"),
    host: Annotated[
        str, typer.Option(help="0.0.0.0 to open the board from a tablet.")
    ] = "127.0.0.1",
    port: int = 8000,
    presses_per_min: float = 6.0,
    orders_per_min: float = 2.0,
) -> None:
    """Run a demo store: mosquitto, InfluxDB, the hub, HQ's cloud, simulated devices of every
    type, and kitchen printers in software."""
    from smartstore.demo import run_demo

    _logging(False)
    run_demo(data_dir, host, port, presses_per_min, orders_per_min)


if __name__ == "__main__":
    app()

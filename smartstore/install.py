"""Installing a store hub on a Pi (Raspberry Pi OS or Debian bookworm) from a release, and
upgrading it to a newer one: `smartstore install-hub` (docs/install.md).

What it makes, under a root prefix (`/` on a Pi, a scratch folder in the tests):

    /opt/smartstore/releases/<version>/   one virtualenv per release (scripts/install-hub.sh)
    /opt/smartstore/current -> releases/<version>   what systemd runs, switched only on success
    /etc/smartstore/hub.env               settings (SMARTSTORE_*), readable
    /etc/smartstore/secrets.env           secret key, staff PINs, the hub's broker password: 0600
    /etc/smartstore/inventory.yaml        the store's devices
    /etc/smartstore/mqtt.json             every device's broker password: 0600
    /etc/smartstore/broker/               mosquitto's config, passwd (hashed), acl
    /etc/smartstore/tls/                  with --tls: the store CA (ca.key 0600, root's) and
                                          the broker's and the hub's certificates
    /var/lib/smartstore/hub/              the database and its backups (user smartstore)
    /var/lib/smartstore/broker/           mosquitto's persistence (user mosquitto)
    /etc/systemd/system/smartstore-{broker,hub}.service

Every file is written only when its content changes: a second run changes nothing. Secrets
made on the first run (secret key, staff PIN, broker passwords) are kept on the next.

An upgrade (a release other than `current`) first migrates a copy of the database with the new
release's own code (`smartstore migrate --check`): if that fails nothing changes and the old
release goes on running. Then the hub stops, the database is backed up (SQLite's backup API),
migrated for real, `current` switches, and the hub starts on the new release.
"""

import grp
import hashlib
import json
import os
import pwd
import secrets
import shlex
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol

from contract.inventory import Inventory, load_inventory
from edge.backups.service import take_pre_upgrade
from edge.config import DB_FILE
from provisioning.broker import TLS_PORT, BrokerFiles, Plain, TlsListener, service_config_text
from provisioning.files import write_private
from provisioning.provision import HUB_ACCOUNT, acl_text, ensure_secrets
from provisioning.tls import StoreTls, ensure_store_tls

HUB_USER: Final = "smartstore"
BROKER_USER: Final = "mosquitto"  # made by Debian's mosquitto package
HUB_UNIT: Final = "smartstore-hub.service"
BROKER_UNIT: Final = "smartstore-broker.service"
DEFAULT_STAFF: Final = "manager"
PIN_DIGITS: Final = 6
SECRET_KEY_BYTES: Final = 32
# The hub pings systemd every half of this while its writer works (edge/core/systemd.py); a
# hub silent this long is killed and restarted.
WATCHDOG_S: Final = 60
# Migrations run before the hub says READY=1: a big database on an SD card takes a while.
START_TIMEOUT_S: Final = 300

# Hardening both units share (systemd.exec(5)): the hub and the broker write only their own
# state directory and see no home, no other temporary files, no devices, no kernel knobs.
HARDENING: Final = """\
NoNewPrivileges=true
ProtectSystem=strict
ProtectHome=true
PrivateTmp=true
PrivateDevices=true
ProtectKernelTunables=true
ProtectKernelModules=true
ProtectKernelLogs=true
ProtectControlGroups=true
ProtectClock=true
ProtectHostname=true
RestrictSUIDSGID=true
RestrictRealtime=true
RestrictNamespaces=true
LockPersonality=true
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
SystemCallArchitectures=native
UMask=0027"""


@dataclass(frozen=True)
class Layout:
    """Where everything goes, under `root`."""

    root: Path = Path("/")

    def at(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    @property
    def etc(self) -> Path:
        return self.at(ETC)

    @property
    def opt(self) -> Path:
        return self.at(OPT)

    @property
    def releases(self) -> Path:
        return self.opt / "releases"

    @property
    def current(self) -> Path:
        return self.opt / "current"

    @property
    def hub_data(self) -> Path:
        return self.at(HUB_DATA)

    @property
    def broker_data(self) -> Path:
        return self.at(BROKER_DATA)

    @property
    def db(self) -> Path:
        return self.hub_data / DB_FILE

    @property
    def backups(self) -> Path:
        return self.hub_data / "backups"

    @property
    def broker(self) -> BrokerFiles:
        return BrokerFiles(self.etc / "broker")

    @property
    def tls(self) -> StoreTls:
        return StoreTls(self.etc / "tls")

    @property
    def units(self) -> Path:
        return self.at("/etc/systemd/system")


# The same paths as the installed system sees them (written into units and settings).
ETC: Final = "/etc/smartstore"
OPT: Final = "/opt/smartstore"
HUB_DATA: Final = "/var/lib/smartstore/hub"
BROKER_DATA: Final = "/var/lib/smartstore/broker"
ALL_INTERFACES: Final = "0.0.0.0"  # noqa: S104 - devices reach the broker over the store LAN


@dataclass(frozen=True)
class HubOptions:
    store: str
    inventory_file: Path  # copied as it is (the operator's comments stay)
    http_port: int = 8000
    mqtt_port: int = 1883
    staff: str = DEFAULT_STAFF
    store_name: str = ""
    public_url: str = ""
    # The broker's TLS listener (the store CA made on the first run, kept after); the hub
    # then talks to it over TLS too. `plain`: the listener without TLS (docs/install.md).
    tls: bool = False
    tls_port: int = TLS_PORT
    tls_names: tuple[str, ...] = ()
    plain: Plain = Plain.LAN
    # The hub's pages over HTTPS with the certificate the store CA signed (needs tls).
    https: bool = False


class InstallError(RuntimeError):
    """The installation cannot go on; nothing the running store uses was changed."""


class Services(Protocol):
    """What the installer asks of the service manager."""

    def reload(self) -> None: ...

    def hub_running(self) -> bool: ...

    def stop_hub(self) -> None: ...

    def start(self, restart: bool) -> None: ...


class Systemd:
    """systemctl on this machine."""

    def _ctl(self, *args: str) -> None:
        subprocess.run(["systemctl", *args], check=True)

    def reload(self) -> None:
        self._ctl("daemon-reload")

    def hub_running(self) -> bool:
        return subprocess.run(["systemctl", "is-active", "--quiet", HUB_UNIT]).returncode == 0

    def stop_hub(self) -> None:
        self._ctl("stop", HUB_UNIT)

    def start(self, restart: bool) -> None:
        # Debian's own mosquitto would take the broker's port (the unit conflicts with it).
        subprocess.run(["systemctl", "disable", "--now", "mosquitto.service"], check=False)
        self._ctl("enable", BROKER_UNIT, HUB_UNIT)
        self._ctl("restart" if restart else "start", BROKER_UNIT, HUB_UNIT)


class NoServices:
    """Under a root prefix other than `/`: files only, nothing to start or stop."""

    def reload(self) -> None:
        pass

    def hub_running(self) -> bool:
        return False

    def stop_hub(self) -> None:
        pass

    def start(self, restart: bool) -> None:
        pass


@dataclass
class Report:
    changed: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --- files ------------------------------------------------------------------------------------


def _write(report: Report, path: Path, text: str, mode: int) -> None:
    """Write `text` if it differs; set `mode` if it differs. Private files (no bits for
    others) are written through write_private: never readable by others, even for a moment."""
    same = path.is_file() and path.read_text(encoding="utf-8") == text
    if not same:
        if mode & 0o077:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        else:
            write_private(path, text)
        report.changed.append(path)
    if path.stat().st_mode & 0o7777 != mode:
        os.chmod(path, mode)
        if same:
            report.changed.append(path)


def _own(path: Path, user: str | None, group: str | None) -> None:
    """chown when the user and group exist here (not under a scratch root's fresh system)."""
    try:
        uid = pwd.getpwnam(user).pw_uid if user else -1
        gid = grp.getgrnam(group).gr_gid if group else -1
    except KeyError:
        return
    st = path.stat()
    if (uid in (-1, st.st_uid)) and (gid in (-1, st.st_gid)):
        return
    os.chown(path, uid, gid)


def _env_file(values: dict[str, str]) -> str:
    # systemd's EnvironmentFile= and pydantic-settings (python-dotenv) both take KEY='value'
    # with single quotes around anything.
    return "".join(f"{k}={shlex.quote(v)}\n" for k, v in values.items())


def _read_env(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            parsed = shlex.split(value)
            out[key.strip()] = parsed[0] if parsed else ""
    return out


def hub_env(options: HubOptions, layout: Layout) -> dict[str, str]:
    """The hub's settings that are not secret (docs/hub.md)."""
    values = {
        "SMARTSTORE_MODE": "production",
        "SMARTSTORE_STORE_ID": options.store,
        "SMARTSTORE_DATA_DIR": HUB_DATA,
        "SMARTSTORE_INVENTORY_PATH": f"{ETC}/inventory.yaml",
        "SMARTSTORE_HTTP_PORT": str(options.http_port),
        "SMARTSTORE_MQTT_HOST": "127.0.0.1",
        "SMARTSTORE_MQTT_PORT": str(options.mqtt_port),
        "SMARTSTORE_MQTT_USERNAME": HUB_ACCOUNT,
    }
    tls = StoreTls(Path(ETC) / "tls")
    if options.tls:
        # The broker's certificate names localhost (provisioning/tls.py LOCAL_NAMES).
        values["SMARTSTORE_MQTT_HOST"] = "localhost"
        values["SMARTSTORE_MQTT_PORT"] = str(options.tls_port)
        values["SMARTSTORE_MQTT_CA_FILE"] = str(tls.ca_cert)
    if options.https:
        values["SMARTSTORE_HTTPS_CERT_FILE"] = str(tls.web.cert)
        values["SMARTSTORE_HTTPS_KEY_FILE"] = str(tls.web.key)
    if options.store_name:
        values["SMARTSTORE_STORE_NAME"] = options.store_name
    if options.public_url:
        values["SMARTSTORE_PUBLIC_URL"] = options.public_url
    # Settings an operator added by hand (the cloud, InfluxDB, backups...) are kept; those
    # this installer owns go when their option does.
    kept = _read_env(layout.etc / "hub.env")
    for owned in TLS_SETTINGS:
        kept.pop(owned, None)
    return {**kept, **values}


TLS_SETTINGS: Final = (
    "SMARTSTORE_MQTT_CA_FILE",
    "SMARTSTORE_HTTPS_CERT_FILE",
    "SMARTSTORE_HTTPS_KEY_FILE",
)


def secrets_env(
    layout: Layout, options: HubOptions, hub_password: str
) -> tuple[dict[str, str], str]:
    """The secrets, made on the first run and kept after; and a note for a new staff PIN."""
    kept = _read_env(layout.etc / "secrets.env")
    note = ""
    staff = kept.get("SMARTSTORE_STAFF", "")
    managers = kept.get("SMARTSTORE_MANAGERS", "")
    if not staff:
        pin = "".join(secrets.choice("0123456789") for _ in range(PIN_DIGITS))
        staff = json.dumps({options.staff: pin})
        # The one login made here is the store's manager (voids, refunds, QR codes, devices:
        # docs/hub.md "Staff roles"); waiters are added to both lines by hand.
        managers = managers or json.dumps([options.staff])
        note = f"staff login: {options.staff}, PIN {pin} (shown once; change it in secrets.env)"
    values = {
        **kept,
        **({"SMARTSTORE_MANAGERS": managers} if managers else {}),
        "SMARTSTORE_SECRET_KEY": kept.get("SMARTSTORE_SECRET_KEY")
        or secrets.token_urlsafe(SECRET_KEY_BYTES),
        "SMARTSTORE_STAFF": staff,
        "SMARTSTORE_MQTT_PASSWORD": hub_password,
    }
    return values, note


def hub_unit() -> str:
    return f"""\
# Generated by smartstore install-hub (provisioning/install.py); run it again to change.
[Unit]
Description=smartstore store hub
Documentation=https://github.com/smartstore/smartstore/blob/main/docs/install.md
After=network-online.target {BROKER_UNIT}
Wants=network-online.target {BROKER_UNIT}

[Service]
Type=notify
NotifyAccess=main
User={HUB_USER}
Group={HUB_USER}
EnvironmentFile={ETC}/hub.env
EnvironmentFile={ETC}/secrets.env
ExecStart={OPT}/current/bin/smartstore hub
WorkingDirectory={HUB_DATA}
Restart=on-failure
RestartSec=2
TimeoutStartSec={START_TIMEOUT_S}
TimeoutStopSec=30
WatchdogSec={WATCHDOG_S}
StateDirectory=smartstore/hub
StateDirectoryMode=0750
ReadWritePaths={HUB_DATA}
ReadOnlyPaths={ETC}
StandardOutput=journal
StandardError=journal
SyslogIdentifier=smartstore-hub
{HARDENING}

[Install]
WantedBy=multi-user.target
"""


def broker_unit() -> str:
    return f"""\
# Generated by smartstore install-hub (provisioning/install.py); run it again to change.
[Unit]
Description=smartstore store broker (mosquitto)
Documentation=man:mosquitto(8) man:mosquitto.conf(5)
After=network-online.target
Wants=network-online.target
# Debian's own mosquitto instance would take the same port.
Conflicts=mosquitto.service

[Service]
Type=notify
NotifyAccess=main
User={BROKER_USER}
Group={BROKER_USER}
ExecStart=/usr/sbin/mosquitto -c {ETC}/broker/mosquitto.conf
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=2
StateDirectory=smartstore/broker
StateDirectoryMode=0750
ReadWritePaths={BROKER_DATA}
# Thousands of devices, one connection each.
LimitNOFILE=65536
StandardOutput=journal
StandardError=journal
SyslogIdentifier=smartstore-broker
{HARDENING}

[Install]
WantedBy=multi-user.target
"""


def _system_user(layout: Layout, report: Report) -> None:
    if layout.root != Path("/"):
        report.notes.append(f"not creating user {HUB_USER} under root {layout.root}")
        return
    try:
        pwd.getpwnam(HUB_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--home-dir",
                HUB_DATA,
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                HUB_USER,
            ],
            check=True,
        )
        report.notes.append(f"created system user {HUB_USER}")


def _dir(report: Report, path: Path, mode: int, user: str | None = None) -> None:
    if not path.is_dir():
        path.mkdir(parents=True, mode=mode)
        report.changed.append(path)
    if path.stat().st_mode & 0o7777 != mode:
        os.chmod(path, mode)
        report.changed.append(path)
    _own(path, user, user)


def write_files(layout: Layout, options: HubOptions) -> Report:
    """Everything in /etc and /var the hub and its broker need (idempotent)."""
    if options.https and not options.tls:
        raise InstallError("--https needs --tls: its certificate comes from the store CA")
    if options.plain is not Plain.LAN and not options.tls:
        raise InstallError("the plain listener can be limited or turned off only with --tls")
    report = Report()
    _system_user(layout, report)
    _dir(report, layout.etc, 0o755)
    _dir(report, layout.hub_data, 0o750, HUB_USER)
    _dir(report, layout.broker_data, 0o750, BROKER_USER)

    inventory = load_inventory(options.inventory_file)
    if inventory.store != options.store:
        raise InstallError(f"{options.inventory_file} is for store {inventory.store!r}")
    text = options.inventory_file.read_text(encoding="utf-8")
    _write(report, layout.etc / "inventory.yaml", text, 0o644)

    secrets_file = layout.etc / "mqtt.json"
    before = secrets_file.read_bytes() if secrets_file.exists() else b""
    accounts = ensure_secrets(inventory, secrets_file)
    if secrets_file.read_bytes() != before:
        report.changed.append(secrets_file)

    listener = None
    if options.tls:
        _store_tls(report, layout, options)
        listener = TlsListener(options.tls_port, StoreTls(Path(ETC) / "tls").broker)
    broker = layout.broker
    _dir(report, broker.directory, 0o755)
    _write(
        report,
        broker.conf,
        service_config_text(
            # The paths as the broker sees them on the installed system, not under root.
            BrokerFiles(Path(ETC) / "broker"),
            options.mqtt_port,
            ALL_INTERFACES,
            Path(BROKER_DATA),
            listener,
            options.plain,
        ),
        0o644,
    )
    _broker_auth(report, layout, inventory, accounts)

    _write(report, layout.etc / "hub.env", _env_file(hub_env(options, layout)), 0o644)
    values, note = secrets_env(layout, options, accounts[HUB_ACCOUNT])
    _write(report, layout.etc / "secrets.env", _env_file(values), 0o600)
    if note:
        report.notes.append(note)

    _dir(report, layout.units, 0o755)
    _write(report, layout.units / HUB_UNIT, hub_unit(), 0o644)
    _write(report, layout.units / BROKER_UNIT, broker_unit(), 0o644)
    return report


def tls_names(options: HubOptions) -> list[str]:
    """What devices and browsers may call the hub: this machine's name and its mDNS name
    (Raspberry Pi OS answers <hostname>.local), and what the installer adds."""
    host = socket.gethostname().split(".")[0].lower()
    return [*options.tls_names, host, f"{host}.local"]


def _store_tls(report: Report, layout: Layout, options: HubOptions) -> None:
    """The store CA (root's alone) and the server certificates, each key readable by the one
    service that uses it: the broker's by group mosquitto, the hub's by group smartstore."""
    tls = layout.tls
    _dir(report, tls.directory, 0o755)
    made = ensure_store_tls(tls.directory, options.store, tls_names(options))
    report.changed += made.made
    report.notes += made.warnings
    for key, group in ((tls.broker.key, BROKER_USER), (tls.web.key, HUB_USER)):
        if key.stat().st_mode & 0o7777 != 0o640:
            os.chmod(key, 0o640)
            if key not in report.changed:
                report.changed.append(key)
        _own(key, None, group)


def _broker_auth(
    report: Report, layout: Layout, inventory: Inventory, accounts: dict[str, str]
) -> None:
    """mosquitto's passwd (hashed: rewritten only when an account or password changed, since
    every hashing salts anew) and acl, readable by the broker's group and nobody else."""
    files = layout.broker
    digest_file = files.directory / ".passwd.sha256"
    digest = hashlib.sha256(json.dumps(accounts, sort_keys=True).encode()).hexdigest()
    if not files.passwd.exists() or (
        not digest_file.exists() or digest_file.read_text(encoding="utf-8") != digest
    ):
        write_private(files.passwd, "".join(f"{u}:{p}\n" for u, p in accounts.items()))
        subprocess.run(["mosquitto_passwd", "-U", str(files.passwd)], check=True)
        write_private(digest_file, digest)
        report.changed.append(files.passwd)
    _write(report, files.acl, acl_text(inventory), 0o640)
    for path in (files.passwd, files.acl):
        if path.stat().st_mode & 0o7777 != 0o640:
            os.chmod(path, 0o640)
            report.changed.append(path)
        _own(path, None, BROKER_USER)


# --- releases ---------------------------------------------------------------------------------


def current_release(layout: Layout) -> Path | None:
    if not layout.current.is_symlink():
        return None
    return (layout.current.parent / os.readlink(layout.current)).resolve()


def _switch(layout: Layout, release: Path) -> None:
    """Point `current` at `release` in one rename: systemd never sees a missing link."""
    tmp = layout.current.with_name(".current.tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(release.relative_to(layout.opt))
    os.replace(tmp, layout.current)


def _as_hub_user(layout: Layout) -> list[str]:
    """Run as the hub's user what opens its database: SQLite makes its -wal, -shm and lock
    files as whoever opens it, and root-owned ones would lock the hub out of its own data."""
    if layout.root != Path("/") or os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(HUB_USER)
    except KeyError:
        return []
    return ["runuser", "-u", HUB_USER, "--"]


def _smartstore(layout: Layout, release: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The release's own command line: its own migrations, not the installer's."""
    return subprocess.run(
        [*_as_hub_user(layout), str(release / "bin" / "smartstore"), *args],
        capture_output=True,
        text=True,
    )


def check_release(layout: Layout, release: Path) -> str | None:
    """Whether `release` can run on the database: its migrations on a copy. A message if not."""
    if not layout.db.exists():
        return None
    checked = _smartstore(layout, release, "migrate", "--db", str(layout.db), "--check")
    if checked.returncode != 0:
        return (checked.stderr or checked.stdout).strip()[-3000:]
    return None


def activate(layout: Layout, release: Path, services: Services, report: Report) -> None:
    """Make `release` the one that runs: database backed up and migrated, `current` switched,
    the hub started. A failure before the switch leaves the old release running."""
    old = current_release(layout)
    if old == release.resolve():
        return
    was_running = services.hub_running()
    if layout.db.exists():
        services.stop_hub()
        made = take_pre_upgrade(layout.db, layout.backups, release.name)
        for path in (layout.backups, made):  # made by root here; the hub's from now on
            _own(path, HUB_USER, HUB_USER)
        report.notes.append(f"database backed up to {made}")
        migrated = _smartstore(layout, release, "migrate", "--db", str(layout.db))
        if migrated.returncode != 0:
            if was_running:
                services.start(restart=False)
            raise InstallError(
                f"migrating the database with {release.name} failed; the database is as it "
                f"was and {old.name if old else 'nothing'} runs again:\n"
                + (migrated.stderr or migrated.stdout).strip()[-3000:]
            )
    _switch(layout, release)
    report.changed.append(layout.current)
    report.notes.append(f"release {release.name} is current (was {old.name if old else 'none'})")


def install(
    layout: Layout, options: HubOptions, release: Path, services: Services, start: bool = True
) -> Report:
    """Install or upgrade the hub to `release` (a virtualenv in layout.releases)."""
    release = release.resolve()
    if release.parent != layout.releases.resolve():
        raise InstallError(f"a release lives in {layout.releases}/<version>, not {release}")
    if not (release / "bin" / "smartstore").exists():
        raise InstallError(f"{release} has no bin/smartstore: not a release")
    upgrading = current_release(layout) not in (None, release)
    if upgrading and (problem := check_release(layout, release)):
        raise InstallError(
            f"release {release.name} cannot migrate this store's database; nothing was "
            f"changed and the running hub goes on:\n{problem}"
        )
    report = write_files(layout, options)
    activate(layout, release, services, report)
    if report.changed:
        services.reload()
    if start and (report.changed or not services.hub_running()):
        services.start(restart=bool(report.changed))
    return report

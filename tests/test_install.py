"""`smartstore install-hub` under a scratch root: what it writes, with which modes, that
systemd accepts its units, that a second run changes nothing, and that an upgrade migrates
(backed up first) or, when the new release's migration fails, leaves the old one running.

systemd cannot run here (it is not PID 1), so the upgrade test drives the hub the way the
units would: the real hub process started from `/opt/smartstore/current/bin/smartstore`
(`HubServices`). Releases are directories with `bin/smartstore` running this checkout's code,
or a copy of it with one more migration."""

import grp
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory

from contract.inventory import save_inventory
from contract.net import free_port
from edge.config import Settings
from edge.db import MIGRATIONS, revision
from provisioning.broker import service_config_text, wait_for_port
from smartstore.install import (
    BROKER_UNIT,
    HUB_UNIT,
    HubOptions,
    InstallError,
    Layout,
    current_release,
    install,
)
from smartstore.settings_env import as_environment
from tests.support import hub_settings, make_inventory, start_broker, wait_until

REPO = Path(__file__).resolve().parent.parent
PACKAGES = (
    "contract",
    "edge",
    "devices",
    "cloud",
    "provisioning",
    "smartstore",
    "firmware_configs",
)
FIXTURE = Path(__file__).parent / "fixtures" / "hub-2af6df1.sqlite3"
STORE = "FIX1"
UNITS = (HUB_UNIT, BROKER_UNIT)


def make_release(layout: Layout, name: str, migration: str | None = None) -> Path:
    """A release as scripts/install-hub.sh leaves one: a directory with bin/smartstore. Its
    code is this checkout, or a copy of it with `migration` added as the newest revision."""
    release = layout.releases / name
    src = REPO
    if migration is not None:
        src = release / "src"
        for package in PACKAGES:
            shutil.copytree(
                REPO / package, src / package, ignore=shutil.ignore_patterns("__pycache__")
            )
        (src / "edge" / "migrations" / "versions" / "9001_upgrade_probe.py").write_text(migration)
    (release / "bin").mkdir(parents=True)
    exe = release / "bin" / "smartstore"
    # -P: not the current folder first on the path (it may be a checkout), as a console
    # script of an installed release would not.
    exe.write_text(f'#!/bin/sh\nPYTHONPATH={src} exec {sys.executable} -P -m smartstore.cli "$@"\n')
    exe.chmod(0o755)
    return release


def probe_migration(fails: bool) -> str:
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    body = (
        'raise RuntimeError("deliberately failing migration")'
        if fails
        else 'op.create_table("upgrade_probe", sa.Column("id", sa.Integer, primary_key=True))'
    )
    return f'''"""A migration made by tests/test_install.py."""

import sqlalchemy as sa
from alembic import op

revision = "9001"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("upgrade_probe_started", sa.Column("id", sa.Integer, primary_key=True))
    {body}
'''


def run_install(root: Path, inventory: Path, release: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *(sys.executable, "-m", "smartstore.cli", "install-hub", "--root", str(root)),
            *("--store", STORE, "--inventory", str(inventory), "--release", str(release)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def tree(root: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file and link under root: content, mode, modification time."""
    out = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        data = os.readlink(path).encode() if path.is_symlink() else b""
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
        out[str(path.relative_to(root))] = (data, st.st_mode, st.st_mtime_ns)
    return out


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o7777


def systemd_verify(root: Path) -> subprocess.CompletedProcess[str]:
    """systemd-analyze verify inside root: it resolves the units' targets and binaries there,
    so the distribution's units and mosquitto go in first."""
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    for binary in ("/usr/sbin/mosquitto", "/bin/kill"):
        (root / binary[1:]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(binary, root / binary[1:])
    units = root / "etc/systemd/system"
    return subprocess.run(
        [
            "systemd-analyze",
            f"--root={root}",
            "verify",
            str(units / HUB_UNIT),
            str(units / BROKER_UNIT),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_install_writes_a_store_systemd_accepts_and_a_second_run_changes_nothing(
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    layout = Layout(root)
    release = make_release(layout, "0.1.0")
    inventory = tmp_path / "inventory.yaml"
    save_inventory(make_inventory(STORE), inventory)

    first = run_install(root, inventory, release)
    assert first.returncode == 0, first.stderr
    assert "staff login: manager, PIN " in first.stdout

    etc = root / "etc/smartstore"
    assert mode(etc / "secrets.env") == 0o600
    assert mode(etc / "mqtt.json") == 0o600
    assert mode(etc / "hub.env") == 0o644
    assert mode(etc / "inventory.yaml") == 0o644
    assert mode(etc / "broker/passwd") == 0o640
    assert mode(etc / "broker/acl") == 0o640
    assert (etc / "broker/passwd").stat().st_gid == grp.getgrnam("mosquitto").gr_gid
    assert mode(root / "var/lib/smartstore/hub") == 0o750
    assert current_release(layout) == release

    # The settings the units hand the hub are complete and pass its production checks; the
    # readable file holds none of the secrets.
    settings = Settings(_env_file=(etc / "hub.env", etc / "secrets.env"))  # type: ignore[call-arg]
    assert settings.store_id == STORE
    assert str(settings.data_dir) == "/var/lib/smartstore/hub"
    assert settings.mqtt_password.get_secret_value() == json_of(etc / "mqtt.json")["hub"]
    readable = (etc / "hub.env").read_text()
    for secret in (
        settings.secret_key.get_secret_value(),
        settings.mqtt_password.get_secret_value(),
        *(pin.get_secret_value() for pin in settings.staff.values()),
    ):
        assert secret not in readable
    broker_conf = (etc / "broker/mosquitto.conf").read_text()
    assert "password_file /etc/smartstore/broker/passwd" in broker_conf
    assert "persistence_location /var/lib/smartstore/broker/" in broker_conf

    before = tree(root)
    second = run_install(root, inventory, release)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip().splitlines()[-1] == "nothing changed", second.stdout
    assert "PIN" not in second.stdout
    assert tree(root) == before

    verified = systemd_verify(root)
    assert verified.returncode == 0 and verified.stderr == "", verified.stderr


def test_the_units_are_what_an_unattended_hub_needs() -> None:
    from smartstore.install import broker_unit, hub_unit

    hub = hub_unit()
    for line in (
        "Type=notify",
        "WatchdogSec=60",
        "Restart=on-failure",
        "User=smartstore",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/smartstore/hub",
        "NoNewPrivileges=true",
        "PrivateTmp=true",
        "ExecStart=/opt/smartstore/current/bin/smartstore hub",
        "StandardOutput=journal",
    ):
        assert line in hub.splitlines(), line
    assert "Conflicts=mosquitto.service" in broker_unit().splitlines()


def json_of(path: Path) -> dict[str, str]:
    import json

    data: dict[str, str] = json.loads(path.read_text())
    return data


class HubServices:
    """What systemd would do with the hub unit, done with the real hub process started from
    `current` (its settings pointed at this test's broker and the scratch root's data dir)."""

    def __init__(self, layout: Layout, settings: Settings, log: Path) -> None:
        self.layout, self.settings, self.log = layout, settings, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def reload(self) -> None:
        pass

    def hub_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop_hub(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(15)
            self.proc = None

    def start(self, restart: bool) -> None:
        if restart:
            self.stop_hub()
        if self.hub_running():
            return
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(self.layout.current / "bin" / "smartstore"), "hub"],
                env={**os.environ, **as_environment(self.settings)},
                stdout=out,
                stderr=out,
            )
        self.starts += 1
        wait_until(self.healthy, 30, "the hub to serve")

    def healthy(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.settings.http_port}/api/health").is_success
        except httpx.HTTPError:
            return False


def test_an_upgrade_migrates_after_a_backup_and_a_failing_one_leaves_the_old_hub_running(
    tmp_path: Path,
) -> None:
    layout = Layout(tmp_path / "root")
    broker = start_broker(tmp_path / "mqtt", make_inventory(STORE))
    inventory = tmp_path / "inventory.yaml"
    save_inventory(broker.inventory, inventory)
    options = HubOptions(store=STORE, inventory_file=inventory)
    services = HubServices(
        layout,
        hub_settings(broker, layout.hub_data, inventory_path=inventory),
        tmp_path / "hub.log",
    )
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    old = make_release(layout, "0.1.0")
    bad = make_release(layout, "0.2.0rc1", probe_migration(fails=True))
    good = make_release(layout, "0.2.0", probe_migration(fails=False))
    try:
        # The store's database from the last release before migrations, then the hub installed.
        layout.hub_data.mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURE, layout.db)
        install(layout, options, old, services)
        assert services.hub_running() and revision(layout.db) == head

        pid = services.proc.pid if services.proc else None
        with pytest.raises(InstallError, match="deliberately failing migration"):
            install(layout, options, bad, services)
        assert services.hub_running() and services.proc is not None and services.proc.pid == pid
        assert services.healthy()
        assert current_release(layout) == old
        assert revision(layout.db) == head
        assert not list(layout.backups.glob("pre-upgrade-0.2.0rc1-*"))
        assert "upgrade_probe_started" not in tables(layout.db)

        install(layout, options, good, services)
        assert current_release(layout) == good
        assert services.hub_running() and services.proc is not None and services.proc.pid != pid
        assert revision(layout.db) == "9001"
        assert "upgrade_probe" in tables(layout.db)
        (backup,) = layout.backups.glob("pre-upgrade-0.2.0-*.sqlite3")
        assert revision(backup) == head
    finally:
        services.stop_hub()
        broker.stop()


def tables(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_the_installed_broker_runs_as_its_user_and_lets_the_hub_in(tmp_path: Path) -> None:
    """mosquitto, as the broker unit runs it (user mosquitto, the service config), reads the
    password and ACL files the installer wrote and takes the hub's account from secrets.env."""
    # Somewhere user mosquitto may walk through (pytest's folders are root's alone).
    base = Path(tempfile.mkdtemp(prefix="ss-broker-", dir="/tmp"))
    try:
        base.chmod(0o755)
        layout = Layout(base / "root")
        release = make_release(layout, "0.1.0")
        inventory = tmp_path / "inventory.yaml"
        save_inventory(make_inventory(STORE), inventory)
        assert run_install(layout.root, inventory, release).returncode == 0
        for d in [layout.root, *layout.broker.directory.relative_to(layout.root).parents]:
            (layout.root / d).chmod(0o755)
        persistence = base / "persistence"
        persistence.mkdir()
        shutil.chown(persistence, "mosquitto", "mosquitto")
        port = free_port()
        conf = base / "mosquitto.conf"
        conf.write_text(service_config_text(layout.broker, port, "127.0.0.1", persistence))
        proc = subprocess.Popen(
            ["runuser", "-u", "mosquitto", "--", "/usr/sbin/mosquitto", "-c", str(conf)],
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for_port("127.0.0.1", port)
            env_files = (layout.etc / "hub.env", layout.etc / "secrets.env")
            secrets = Settings(_env_file=env_files)  # type: ignore[call-arg]
            hub = ["-h", "127.0.0.1", "-p", str(port), "-u", "hub"]
            password = secrets.mqtt_password.get_secret_value()
            topic = f"store/{STORE}/hub/state"
            ok = subprocess.run(
                ["mosquitto_pub", *hub, "-P", password, "-t", topic, "-m", "{}"],
                capture_output=True,
                text=True,
                timeout=15,
            )
            assert ok.returncode == 0, ok.stderr
            refused = subprocess.run(
                ["mosquitto_pub", *hub, "-P", "not-the-password", "-t", "x", "-m", "{}"],
                capture_output=True,
                text=True,
                timeout=15,
            )
            assert refused.returncode != 0
        finally:
            proc.terminate()
            _out, err = proc.communicate(timeout=10)
        assert "Error" not in err, err
    finally:
        shutil.rmtree(base)

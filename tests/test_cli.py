"""The command line an operator uses: `smartstore --help` and `smartstore provision`."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from contract.inventory import save_inventory
from tests.support import (
    Broker,
    hub_settings,
    make_inventory,
    run_hub_process,
    start_broker,
    wait_until,
)

SMARTSTORE = [sys.executable, "-m", "smartstore.cli"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SMARTSTORE, *args], capture_output=True, text=True, timeout=60)


def help_commands(out: str) -> list[str]:
    """The command names in the "Commands" box of `--help` (a name starts each entry; its
    description's continuation lines start with blanks)."""
    lines = out.splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("╭─ Commands "))
    end = next(n for n in range(start, len(lines)) if lines[n].startswith("╰"))
    return [m.group(1) for line in lines[start + 1 : end] if (m := re.match(r"│ (\S+) ", line))]


def test_help_explains_every_command() -> None:
    r = run("--help")
    assert r.returncode == 0, r.stderr
    # README, "The command line": every command, each once.
    assert sorted(help_commands(r.stdout)) == sorted(
        [
            "hub",
            "inventory",
            "provision",
            "broker",
            "simulate",
            "device-app",
            "print-bridge",
            "qr",
            "cloud",
            "rebuild-report-rows",
            "demo",
            "migrate",
            "backup",
            "restore",
            "install-hub",
        ]
    )
    assert "│ hub                  Run the store hub" in r.stdout


def test_provision_rotates_only_the_named_device(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yaml"
    save_inventory(make_inventory("S9"), inventory)
    secrets_file = tmp_path / "mqtt.json"
    args = ["provision", "--inventory", str(inventory), "--broker-dir", str(tmp_path / "b")]
    args += ["--secrets-file", str(secrets_file)]
    assert run(*args).returncode == 0
    before = json.loads(secrets_file.read_text())
    assert oct(secrets_file.stat().st_mode & 0o777) == "0o600"
    assert set(before) == {"hub", "kiosk-01", "screen-01", "printer-01", "table-001"} | {
        f"btn-00{n}" for n in range(1, 5)
    }
    assert run(*args, "--rotate", "btn-002").returncode == 0
    after = json.loads(secrets_file.read_text())
    assert after["btn-002"] != before["btn-002"]
    assert {k: v for k, v in after.items() if k != "btn-002"} == {
        k: v for k, v in before.items() if k != "btn-002"
    }
    # The password file holds hashes, never the passwords themselves.
    passwd = (tmp_path / "b" / "passwd").read_text()
    assert all(pw not in passwd for pw in after.values())

    configs = tmp_path / "configs"
    made = run(*args, "--configs-dir", str(configs), "--broker-host", "10.0.0.2")
    assert made.returncode == 0, made.stderr
    files = sorted(p.name for p in configs.iterdir())
    assert "btn-001.yaml" in files and "printer-01.json" in files and len(files) == 8
    printer = json.loads((configs / "printer-01.json").read_text())
    assert json.dumps(after["printer-01"]) in json.dumps(printer)  # its own secret, no other
    assert after["btn-001"] not in (configs / "printer-01.json").read_text()

    bad = run(*args, "--rotate", "btn-999")
    assert bad.returncode == 2 and "btn-999" in bad.stderr


def test_rotated_device_needs_its_new_password_at_the_broker(tmp_path: Path) -> None:
    broker = start_broker(tmp_path, make_inventory("S8"))
    try:
        old = broker.accounts["btn-001"]
        inventory = tmp_path / "inventory.yaml"
        save_inventory(broker.inventory, inventory)
        r = run(
            "provision",
            "--inventory",
            str(inventory),
            "--broker-dir",
            str(broker.files.directory),
            "--secrets-file",
            str(tmp_path / "secrets.json"),
            "--rotate",
            "btn-001",
        )
        assert r.returncode == 0, r.stderr
        new = json.loads((tmp_path / "secrets.json").read_text())["btn-001"]
        topic = broker.topic("btn-001")
        pub = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-t", topic]
        pub += ["-m", "{}", "-u", "btn-001"]

        def connects(password: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [*pub, "-P", password], capture_output=True, text=True, timeout=10
            )

        assert connects(new).returncode != 0  # mosquitto has not read the new file yet
        broker.proc.send_signal(1)  # SIGHUP: mosquitto reloads its password file
        wait_until(lambda: connects(new).returncode == 0, what="the new password to be taken")
        refused = connects(old)
        assert refused.returncode != 0 and "not authorised" in refused.stderr.lower()
    finally:
        broker.stop()


def test_simulate_runs_a_store_from_counts(tmp_path: Path) -> None:
    """`smartstore inventory` and `smartstore simulate --store ... counts` lay a store out
    alike, so the devices simulate with the credentials provisioned for that inventory."""
    from contract.inventory import load_inventory
    from tests.support import hub_settings, run_hub_thread

    inventory = tmp_path / "inv.yaml"
    counts = [
        "--tables",
        "2",
        "--buttons",
        "3",
        "--kiosks",
        "1",
        "--screens",
        "1",
        "--printers",
        "2",
    ]
    made = run("inventory", "--out", str(inventory), "--store", "S7", *counts)
    assert made.returncode == 0, made.stderr
    broker = start_broker(tmp_path / "mqtt", load_inventory(inventory))
    hub = run_hub_thread(hub_settings(broker, tmp_path / "hub"))
    secrets_file = str(tmp_path / "mqtt" / "secrets.json")
    sim = subprocess.Popen(
        [
            *SMARTSTORE,
            *("simulate", "--store", "S7", *counts, "--port", str(broker.port)),
            *("--secrets-file", secrets_file, "--presses-per-min", "0"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        staff = hub.client()
        wait_until(
            lambda: {d["state"] for d in staff.get("/api/devices").json()} == {"online"},
            timeout=20,
            what="all 9 simulated devices online",
        )
        types = sorted(d["type"] for d in staff.get("/api/devices").json())
        assert types.count("printer") == 2 and types.count("smart_table") == 2
    finally:
        sim.terminate()
        sim.wait(10)
        hub.stop()
        broker.stop()


def test_cloud_command_serves_with_several_workers_on_one_postgresql(
    cloud_db: str, tmp_path: Path
) -> None:
    """The cloud keeps no state in its processes: two workers, one database, each id once."""
    import concurrent.futures

    import httpx

    from smartstore.cloud_service import run_cloud_process

    cloud = run_cloud_process(cloud_db, tmp_path, workers=2)
    try:
        token = cloud.register("S5")
        events = [
            {"id": f"co-{n:08d}", "type": "call.opened", "occurred_at": 1.0 + n, "data": {}}
            for n in range(200)
        ]

        def post(_: int) -> dict[str, list[str]]:
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=cloud.base_url, headers=headers) as c:
                answer: dict[str, list[str]] = c.post(
                    "/api/v1/ingest", json={"store": "S5", "events": events}
                ).json()
                return answer

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(post, range(8)))
        stored = [i for a in answers for i in a["stored"]]
        assert sorted(stored) == sorted(str(e["id"]) for e in events)  # each once, across workers
        assert all(len(a["stored"]) + len(a["duplicates"]) == 200 for a in answers)
    finally:
        cloud.stop()


def test_settings_survive_the_trip_through_the_environment(
    monkeypatch: "pytest.MonkeyPatch",
) -> None:
    """What a child process (the hub, a cloud worker) reads back is what its parent had."""
    from pydantic import SecretStr

    from cloud.config import Settings as CloudSettings
    from edge.config import Settings as HubSettings
    from smartstore.settings_env import as_environment

    hub = HubSettings(
        store_id="S1",
        data_dir=Path("/tmp/s1"),
        staff={"alice": SecretStr("482913"), "李": SecretStr("739120")},
        secret_key=SecretStr("k" * 40),
        mqtt_password=SecretStr("p:w#$"),
        cloud_token=SecretStr("t" * 20),
        call_urgent_after_s=2.5,
    )
    cloud = CloudSettings(
        database_url="sqlite:///x.db",
        admin_token=SecretStr("a" * 40),
        member_key=SecretStr("m" * 40),
    )
    for settings in (hub, cloud):
        for key, value in as_environment(settings).items():
            monkeypatch.setenv(key, value)
        again = type(settings)()  # type: ignore[call-arg]
        assert as_environment(again) == as_environment(settings)
    from_env = HubSettings()  # type: ignore[call-arg]  # every field from the environment
    assert from_env.staff["李"].get_secret_value() == "739120"
    assert from_env.mqtt_password.get_secret_value() == "p:w#$"


def test_report_rows_are_made_again_for_events_an_old_cloud_stored(tmp_path: Path) -> None:
    """Events stored without their report rows (by a cloud older than migration 0005) show in
    HQ's reports once an operator runs `smartstore rebuild-report-rows`."""
    import secrets

    from pydantic import SecretStr
    from sqlalchemy import delete

    from cloud.config import Settings as CloudSettings
    from cloud.db import make_engine, make_sessions, migrate
    from cloud.models import DishHour, KitchenFact, SaleFact, SaleHour
    from smartstore.cloud_service import run_cloud_thread

    url = f"sqlite:///{tmp_path / 'cloud.sqlite3'}"
    migrate(url)
    settings = CloudSettings(
        database_url=url,
        admin_token=SecretStr(secrets.token_urlsafe(32)),
        member_key=SecretStr(secrets.token_urlsafe(32)),
    )
    hq = run_cloud_thread(settings)
    try:
        token = hq.register("OLD1")
        order = {
            "id": "op-old-order-1",
            "type": "order.placed",
            "occurred_at": 1_709_280_000.0,  # 2024-03-01 08:00 UTC
            "data": {
                "order": "old-order-1",
                "source": "table",
                "lines": [
                    {
                        "dish": "tea",
                        "name_zh": "菊花茶",
                        "name_en": "Tea",
                        "station": "bar",
                        "qty": 3,
                        "unit_price_fen": 500,
                    }
                ],
            },
        }
        r = hq.client(token).post("/api/v1/ingest", json={"store": "OLD1", "events": [order]})
        assert r.status_code == 200, r.text
        engine = make_engine(url)
        with make_sessions(engine).begin() as session:  # what an old cloud would have left
            for model in (SaleFact, KitchenFact, SaleHour, DishHour):
                session.execute(delete(model))
        engine.dispose()
        reports = hq.hq()
        assert reports.get("/api/v1/hq/sales").json() == []

        env = tmp_path / "cloud.env"
        env.write_text(
            f"SMARTSTORE_CLOUD_DATABASE_URL={url}\n"
            f"SMARTSTORE_CLOUD_ADMIN_TOKEN={settings.admin_token.get_secret_value()}\n"
            f"SMARTSTORE_CLOUD_MEMBER_KEY={settings.member_key.get_secret_value()}\n"
        )
        done = run("rebuild-report-rows", "--env-file", str(env))
        assert done.returncode == 0, done.stderr
        assert "from 1 order and kitchen events" in done.stdout
        [day] = reports.get("/api/v1/hq/sales").json()
        assert (day["store"], day["period"], day["items"], day["revenue_fen"]) == (
            "OLD1",
            "2024-03-01",
            3,
            1500,
        )
    finally:
        hq.stop()


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_the_hub_stops_cleanly_on_ctrl_c_and_sigterm(
    broker: Broker, tmp_path: Path, sig: str
) -> None:
    """Ctrl-C in a terminal, or systemd's stop: the hub shuts down in order, exits 0 and
    prints no traceback."""
    import signal

    hub = run_hub_process(hub_settings(broker, tmp_path / "hub"), tmp_path / "hub.log")
    hub.proc.send_signal(getattr(signal, sig))
    assert hub.proc.wait(30) == 0
    log = (tmp_path / "hub.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-2000:]


def test_provision_writes_every_secret_0600_even_over_a_readable_file(tmp_path: Path) -> None:
    """The secrets file, mosquitto's password file and every rendered device config hold
    passwords: 0600 from the first byte, also when an older file was left world-readable."""
    inventory = tmp_path / "inventory.yaml"
    save_inventory(make_inventory("S8"), inventory)
    secrets_file, broker, configs = tmp_path / "mqtt.json", tmp_path / "b", tmp_path / "configs"
    broker.mkdir()
    configs.mkdir()
    stale = [secrets_file, broker / "passwd", configs / "btn-001.yaml", configs / "kiosk-01.json"]
    # A write that was interrupted leaves its temporary file behind, readable.
    leftovers = [p.with_name(p.name + ".tmp") for p in stale]
    for path in [*stale, *leftovers]:
        path.write_text("{}")
        path.chmod(0o644)
    args = ["provision", "--inventory", str(inventory), "--broker-dir", str(broker)]
    args += ["--secrets-file", str(secrets_file), "--configs-dir", str(configs)]
    result = run(*args)
    assert result.returncode == 0, result.stderr
    secrets = json.loads(secrets_file.read_text())
    written = [
        secrets_file,
        broker / "passwd",
        *(p for p in sorted(configs.iterdir()) if p not in leftovers),
    ]
    assert {p.name for p in configs.iterdir()} >= {"btn-001.yaml", "kiosk-01.json"}
    for path in written:
        assert oct(path.stat().st_mode & 0o777) == "0o600", path
    # The rendered configs do carry a password (which is why they are private).
    assert secrets["kiosk-01"] in (configs / "kiosk-01.json").read_text()
    # No secret went through a file someone else could have open, and none is left half-done.
    # (mosquitto_passwd -U uses passwd.tmp itself, and removes it.)
    assert all(p.read_text() == "{}" for p in leftovers if p.exists())
    assert not [p for p in tmp_path.rglob("*.tmp") if p not in leftovers]
    # A complete secrets file someone made readable is made private again, unchanged.
    secrets_file.chmod(0o644)
    assert run(*args).returncode == 0
    assert oct(secrets_file.stat().st_mode & 0o777) == "0o600"
    assert json.loads(secrets_file.read_text()) == secrets

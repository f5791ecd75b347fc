"""The hub as a process, killed between a press and its acknowledgement."""

import json
import signal
import sqlite3
from pathlib import Path

import httpx

from contract import Channel
from edge.db import init_db, make_engine
from edge.devices.models import Device
from tests.support import PIN, STAFF, Broker, hub_settings, run_hub_process, wait_until


def calls(base_url: str) -> list[dict[str, object]]:
    with httpx.Client(base_url=base_url, timeout=5) as c:
        c.post("/api/login", json={"name": STAFF, "pin": PIN}).raise_for_status()
        data: list[dict[str, object]] = c.get("/api/calls").json()
        return data


def test_sigkill_between_press_and_acknowledge_loses_and_doubles_nothing(
    broker: Broker, tmp_path: Path
) -> None:
    settings = hub_settings(broker, tmp_path / "hub")
    log = tmp_path / "hub.log"
    hub = run_hub_process(settings, log)
    first = broker.press("btn-001")
    wait_until(lambda: calls(hub.base_url), what="the first call")
    hub.proc.send_signal(signal.SIGKILL)
    hub.proc.wait(10)

    # While the hub is down: the device resends its unacknowledged press (same id), and
    # another table presses. The broker keeps both for the hub's persistent session.
    broker.press("btn-001", event_id=first)
    second = broker.press("btn-002")

    with broker.sub("btn-002", broker.topic("btn-002", Channel.ACK)) as acks:
        hub = run_hub_process(settings, log)
        after = wait_until(
            lambda: len(calls(hub.base_url)) == 2 and calls(hub.base_url), what="2 calls"
        )
        wait_until(lambda: acks, what="btn-002's ack after the restart")
    assert json.loads(acks[0])["id"] == second
    by_device = {c["device"]: c for c in after}
    assert by_device["btn-001"]["presses"] == 1  # the resend did not double it
    assert by_device["btn-002"]["presses"] == 1

    with httpx.Client(base_url=hub.base_url, timeout=5) as c:
        c.post("/api/login", json={"name": STAFF, "pin": PIN}).raise_for_status()
        acked = c.post(f"/api/calls/{by_device['btn-001']['id']}/ack").json()
    assert acked["acked_by"] == STAFF
    assert acked["response_s"] > 0

    # Killed again right after the acknowledgement: it was committed and stays answered.
    hub.proc.send_signal(signal.SIGKILL)
    hub.proc.wait(10)
    hub = run_hub_process(settings, log)
    try:
        remaining = calls(hub.base_url)
        assert [c["device"] for c in remaining] == ["btn-002"]
    finally:
        hub.kill()


def test_a_hub_database_from_before_gets_its_new_columns(tmp_path: Path) -> None:
    """An older hub's database (no printer error column yet) is upgraded in place."""
    db = tmp_path / "hub.sqlite3"
    engine = make_engine(db)
    init_db(engine)
    engine.dispose()
    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE devices DROP COLUMN print_error")
        conn.execute("DROP TABLE alembic_version")  # from before migrations
        conn.execute(
            "INSERT INTO devices (id, type, zone, table_name, station, state, state_reason)"
            " VALUES ('printer-01', 'printer', '', '', 'hot', 'online', '')"
        )
    engine = make_engine(db)
    sessions = init_db(engine)
    with sessions() as session:
        device = session.get(Device, "printer-01")
        assert device is not None and device.print_error is None
    engine.dispose()

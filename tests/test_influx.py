"""Telemetry and call metrics reach the real InfluxDB (1.6.7) through influxdb-client, and wait
on disk while InfluxDB is unreachable."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.fleet import Fleet
from edge.telemetry.v1_bridge import InfluxV1Bridge
from smartstore.services import InfluxServer
from tests.support import Broker, Hub, hub_settings, run_hub_thread, wait_until


@pytest.fixture
def influx_hub(broker: Broker, influx_bridge: InfluxV1Bridge, tmp_path: Path) -> Iterator[Hub]:
    hub = run_hub_thread(
        hub_settings(
            broker,
            tmp_path / "hub",
            influx_url=influx_bridge.url,
            influx_bucket="smartstore/autogen",
        )
    )
    yield hub
    hub.stop()


def rows(influxdb: InfluxServer, q: str) -> list[list[object]]:
    series = influxdb.query(q, db="smartstore")
    return [list(v) for s in series for v in s["values"]]  # type: ignore[attr-defined]


def test_calls_responses_and_telemetry_are_queryable(
    broker: Broker, influx_hub: Hub, influxdb: InfluxServer
) -> None:
    staff = influx_hub.client()
    fleet = Fleet(
        broker.inventory, broker.accounts, "127.0.0.1", broker.port, telemetry_every_s=0.5
    )
    fleet.start()
    try:
        fleet.wait_connected()
        broker.press("btn-001")
        call = wait_until(lambda: staff.get("/api/calls").json(), what="the call")[0]
        staff.post(f"/api/calls/{call['id']}/ack").raise_for_status()
        store = broker.store
        wait_until(
            lambda: rows(influxdb, f"SELECT count, call_id FROM calls WHERE store='{store}'"),
            what="the calls point",
        )
        opened = rows(influxdb, f"SELECT count, call_id, device FROM calls WHERE store='{store}'")
        assert [r[1:] for r in opened] == [[1, call["id"], "btn-001"]]
        answered = wait_until(
            lambda: rows(
                influxdb, f"SELECT response_s, staff FROM call_responses WHERE store='{store}'"
            ),
            what="the call_responses point",
        )
        assert answered[0][2] == "alice" and 0 < float(str(answered[0][1])) < 30
        battery = wait_until(
            lambda: rows(
                influxdb,
                f"SELECT battery_pct, rssi_dbm FROM device_telemetry WHERE store='{store}' "
                "AND device='btn-003'",
            ),
            what="telemetry of btn-003",
        )
        assert 0 <= float(str(battery[0][1])) <= 100
    finally:
        fleet.stop()


def test_points_wait_on_disk_while_influxdb_is_down_then_arrive_once(
    broker: Broker, influxdb: InfluxServer, tmp_path: Path
) -> None:
    bridge = InfluxV1Bridge(influxdb.url).start()
    port = int(bridge.url.rsplit(":", 1)[1])
    bridge.stop()  # InfluxDB is unreachable from the hub's point of view
    hub = run_hub_thread(
        hub_settings(
            broker, tmp_path / "hub", influx_url=bridge.url, influx_bucket="smartstore/autogen"
        )
    )
    store = broker.store
    try:
        staff = hub.client()
        for device in ("btn-001", "btn-002", "btn-003"):
            broker.press(device)
        wait_until(lambda: len(staff.get("/api/calls").json()) == 3, what="3 calls")
        wait_until(lambda: staff.get("/api/stats").json()["influx_backlog"] >= 3, what="backlog")
        assert staff.get("/api/stats").json()["influx_healthy"] is False
        assert rows(influxdb, f"SELECT count FROM calls WHERE store='{store}'") == []

        bridge = InfluxV1Bridge(influxdb.url, port=port).start()  # InfluxDB is back
        wait_until(
            lambda: staff.get("/api/stats").json()["influx_backlog"] == 0,
            timeout=45,
            what="the backlog to drain",
        )
        got = rows(influxdb, f"SELECT count, device FROM calls WHERE store='{store}'")
        assert sorted(r[2] for r in got) == ["btn-001", "btn-002", "btn-003"]  # type: ignore[type-var]
        # Once: a press after the outage is written after anything resent, and it is the
        # only point that comes next.
        broker.press("btn-004")
        query = f"SELECT count, device FROM calls WHERE store='{store}'"
        wait_until(lambda: len(rows(influxdb, query)) > 3, what="the point of the next press")
        got = rows(influxdb, query)
        assert sorted(r[2] for r in got) == ["btn-001", "btn-002", "btn-003", "btn-004"]  # type: ignore[type-var]
    finally:
        hub.stop()
        bridge.stop()

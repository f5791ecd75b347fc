import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.telemetry.v1_bridge import InfluxV1Bridge
from smartstore.services import InfluxServer, start_influxd
from tests.support import Broker, Hub, hub_settings, make_inventory, run_hub_thread, start_broker


@pytest.fixture
def store() -> str:
    # A store id per test: InfluxDB is shared by the session, queries filter on it.
    return "T" + secrets.token_hex(4)


@pytest.fixture
def broker(tmp_path: Path, store: str) -> Iterator[Broker]:
    b = start_broker(tmp_path / "mqtt", make_inventory(store))
    yield b
    b.stop()


@pytest.fixture
def hub(broker: Broker, tmp_path: Path) -> Iterator[Hub]:
    h = run_hub_thread(hub_settings(broker, tmp_path / "hub"))
    yield h
    h.stop()


@pytest.fixture(scope="session")
def influxdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    server = start_influxd(tmp_path_factory.mktemp("influxdb"))
    server.create_database("smartstore")
    yield server
    server.stop()


@pytest.fixture
def influx_bridge(influxdb: InfluxServer) -> Iterator[InfluxV1Bridge]:
    bridge = InfluxV1Bridge(influxdb.url).start()
    yield bridge
    bridge.stop()

import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from cloud.db import migrate
from edge.telemetry.v1_bridge import InfluxV1Bridge
from smartstore.cloud_service import (
    CloudHandle,
    PostgresServer,
    cloud_settings,
    run_cloud_thread,
    start_postgres,
)
from smartstore.services import InfluxServer, start_influxd
from tests.browser import chromium
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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    # Not under pytest's tmp dirs: they are 0700 root, and PostgreSQL runs as `postgres`.
    directory = Path(tempfile.mkdtemp(dir="/tmp", prefix="smartstore-pg-"))
    try:
        server = start_postgres(directory)
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres(postgres_server: PostgresServer) -> str:
    """The SQLAlchemy URL of the session's PostgreSQL database."""
    return postgres_server.url


@pytest.fixture
def cloud_db(postgres_server: PostgresServer) -> Iterator[str]:
    """A new, empty (unmigrated) PostgreSQL database for one test: its SQLAlchemy URL."""
    name = f"t_{secrets.token_hex(6)}"
    url = postgres_server.create_database(name)
    yield url
    postgres_server.drop_database(name)


@pytest.fixture
def cloud(cloud_db: str) -> Iterator[CloudHandle]:
    """The HQ service on a freshly migrated PostgreSQL database, in a thread."""
    migrate(cloud_db)
    handle = run_cloud_thread(cloud_settings(cloud_db))
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for every browser test."""
    with chromium() as b:
        yield b

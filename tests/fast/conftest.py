"""The fast tier: the hub's domain services on its own SQLite engine, in a temporary file,
with recording stand-ins where the hub would publish (tests/fast/fakes.py). No broker, no
HTTP server, no browser: the whole tier runs in seconds. The end-to-end tests beside it
(tests/*.py) prove the same behaviour through the real interfaces.

Every test under tests/fast carries the `fast` marker: `pytest -m fast` runs exactly them.
"""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy.orm import sessionmaker

from contract.inventory import Inventory
from contract.menu import MenuFile, load_menu
from edge.config import Settings
from edge.core.domain import HubContext
from edge.core.ingest import RejectCounter
from edge.db import init_db, make_engine
from edge.printing.service import Routes
from smartstore.samples import SAMPLE_MENU
from tests.fast.fakes import RecordingLive, RecordingMqtt
from tests.fast.helpers import STAFF, STORE, StoreDb
from tests.support import make_inventory

FAST = Path(__file__).resolve().parent

# A printer per station of the sample menu. Nothing connects to these ports in this tier:
# they only make the inventory route each station's tickets to its own printer.
PRINTER_PORTS = {"hot": 9101, "cold": 9102, "bar": 9103}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # tryfirst: the marker is on before `-m` deselects.
    for item in items:
        if item.path.resolve().is_relative_to(FAST):
            item.add_marker(pytest.mark.fast)


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A hub database file migrated once per session by edge.db.init_db (the real Alembic
    migrations, as the hub runs them at start). Migrating a new file costs 20-70 ms here,
    copying this one 0.2 ms: over the tier's ~180 tests that is seconds."""
    path = tmp_path_factory.mktemp("template") / "hub.sqlite3"
    engine = make_engine(path, for_writes=True)
    try:
        init_db(engine)
    finally:
        engine.dispose()  # the last connection closing checkpoints the WAL into the file
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture
def db(tmp_path: Path, migrated: Path) -> Iterator[StoreDb]:
    """A fresh hub database, opened as edge.runtime opens it (WAL, foreign keys, BEGIN
    IMMEDIATE for writes; reads on their own engine). A temporary file rather than
    :memory:, so that what one connection committed is what another one reads, as in the
    hub. A copy of the session's migrated file: what init_db would hand back on it is its
    sessionmaker, which is made here the same way."""
    path = tmp_path / "hub.sqlite3"
    shutil.copyfile(migrated, path)
    engine = make_engine(path, for_writes=True)
    read_engine = make_engine(path)
    try:
        sessions = sessionmaker(engine, expire_on_commit=False)
        reads = sessionmaker(read_engine, expire_on_commit=False)
        yield StoreDb(path, sessions, reads)
    finally:
        engine.dispose()
        read_engine.dispose()


@pytest.fixture(scope="session")
def menu() -> MenuFile:
    """The sample menu the demo and the end-to-end tests serve (smartstore/samples)."""
    return load_menu(SAMPLE_MENU)


@pytest.fixture(scope="session")
def inventory() -> Inventory:
    """btn-001..btn-004 at tables A1..A4, smart table table-001 at B1, kiosk-01, screen-01,
    printer-01 (hot), printer-02 (cold), printer-03 (bar)."""
    return make_inventory(STORE, printer_ports=PRINTER_PORTS)


@pytest.fixture(scope="session")
def routes(inventory: Inventory) -> Routes:
    return Routes.from_inventory(inventory)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        store_id=STORE,
        data_dir=tmp_path,
        staff={STAFF: SecretStr("482913")},
        secret_key=SecretStr("s" * 40),
        mqtt_password=SecretStr("fast-tier"),
        menu_path=SAMPLE_MENU,
    )


@pytest.fixture
def mqtt() -> RecordingMqtt:
    return RecordingMqtt(STORE)


@pytest.fixture
def board() -> RecordingLive:
    return RecordingLive()


@pytest.fixture
def hub_ctx(
    settings: Settings,
    inventory: Inventory,
    db: StoreDb,
    mqtt: RecordingMqtt,
    board: RecordingLive,
) -> HubContext:
    """What a running hub hands its domains, with the recording broker and board."""
    hub = HubContext(settings, inventory, db.sessions, db.reads, mqtt, RejectCounter())
    hub.board = board
    hub.diners = RecordingLive()
    return hub

"""Hub migrations (Alembic, batch mode) on real SQLite files, through the real hub.

The fixture `fixtures/hub-2af6df1.sqlite3` was made by the last release before migrations
(main at 2af6df1) running a short lunch for store FIX1: two calls (one answered), two orders
with kitchen tickets printed, a voided line, an order done, tea sold out, table A1 paid, and
eleven facts still in the outbox (no cloud was configured).
"""

import shutil
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

import edge.domains  # noqa: F401 - every domain's tables on Base.metadata
from devices.virtual_printer import VirtualPrinter
from edge.db import Base, SchemaTooNew, SchemaTooOld, migrate
from edge.orders.service import local_day
from smartstore.settings_env import as_environment
from tests.ordering import STATIONS, TEA
from tests.support import hub_settings, make_inventory, run_hub_thread, start_broker, wait_until

FIXTURE = Path(__file__).parent / "fixtures" / "hub-2af6df1.sqlite3"
STORE = "FIX1"
HEAD = "0006g"


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def snapshot(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table the old release had, in a stable order."""
    tables = [
        str(t)
        for (t,) in rows(db, "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
        if t not in ("sqlite_sequence", "alembic_version")
    ]
    return {t: sorted(rows(db, f'SELECT * FROM "{t}"'), key=repr) for t in tables}


def columns(db: Path, table: str) -> list[str]:
    return [r[1] for r in rows(db, f'PRAGMA table_info("{table}")')]  # type: ignore[misc]


def version(db: Path) -> str:
    [(v,)] = rows(db, "SELECT version_num FROM alembic_version")
    return str(v)


def test_the_fixture_is_what_the_old_release_made() -> None:
    """Guards the fixture itself: no version table, no `outbox.v`, the lunch's rows."""
    tables = {t for (t,) in rows(FIXTURE, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert "alembic_version" not in tables
    assert "v" not in columns(FIXTURE, "outbox")
    counts = {t: len(r) for t, r in snapshot(FIXTURE).items()}
    assert counts["orders"] == 2 and counts["order_lines"] == 3 and counts["payments"] == 1
    assert counts["calls"] == 2 and counts["outbox"] == 11 and counts["print_jobs"] == 4


def test_a_database_of_the_release_before_migrations_upgrades_with_nothing_lost(
    tmp_path: Path,
) -> None:
    printers = {s: VirtualPrinter().start() for s in STATIONS}
    broker = start_broker(
        tmp_path / "mqtt",
        make_inventory(STORE, printer_ports={s: p.port for s, p in printers.items()}),
    )
    settings = hub_settings(broker, tmp_path / "hub")
    db = settings.db_path
    db.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURE, db)
    # The lunch was the fixture's day (2026-11-28); the upgrade is tested in the middle of
    # it, whatever today is: its orders are today's, so the day's numbering must go on.
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("UPDATE orders SET day = ?", (local_day(time.time()),))
    before = snapshot(db)
    hub = run_hub_thread(settings)
    try:
        staff = hub.client()
        assert version(db) == HEAD
        outbox_columns = columns(db, "outbox")
        assert outbox_columns[-1] == "v"
        after = snapshot(db)
        # Every old row is still there, unchanged; the outbox rows gained v = NULL (sent
        # without v, which the cloud reads as 1).
        # Migrations only add columns at the end (0002 outbox.v; 0003 the printers' own
        # answers, asked at start; 0004 members on orders, payments and print jobs): the old
        # columns of every old row are unchanged.
        assert all(r[outbox_columns.index("v")] is None for r in after["outbox"])
        # The running hub may already have turned the lunch's old open call urgent (its tick):
        # that column is the hub at work, not the migration.
        urgent = columns(db, "calls").index("urgent_at")

        def settled(table: str, row: tuple[object, ...]) -> tuple[object, ...]:
            return row[:urgent] + row[urgent + 1 :] if table == "calls" else row

        for table, old in before.items():
            width = len(old[0]) if old else 0
            new = sorted((settled(table, r[:width]) for r in after[table]), key=repr)
            assert new == sorted((settled(table, r) for r in old), key=repr), table
        # The hub runs on it: the old lunch shows, and new work is stored beside it.
        [waiting] = staff.get("/api/calls").json()
        # Still waiting to be answered (it may have turned urgent by now: it is old).
        assert (waiting["device"], waiting["acked_at"]) == ("btn-002", None)
        due = {t["id"]: t["due_fen"] for t in staff.get("/api/tables").json()["tables"]}
        assert due["A1"] == 0 and due["A2"] > 0
        open_orders = staff.get("/api/orders").json()["orders"]
        assert [o["no"] for o in open_orders] == [2]
        staff.post("/api/menu/dishes/tea/sold-out", json={"sold_out": False}).raise_for_status()
        token = next(
            t["qr_path"] for t in staff.get("/api/tables").json()["tables"] if t["id"] == "A3"
        ).rsplit("/", 1)[1]
        r = hub.client(login=False).post(
            f"/api/diner/{token}/orders", json={"key": "k-after-upgrade-0001", "lines": [TEA]}
        )
        assert r.status_code == 201, r.text
        assert r.json()["no"] == 3  # the day's numbering goes on from the old orders
        broker.press("btn-003")
        wait_until(lambda: len(staff.get("/api/calls").json()) == 2, what="a new call")
        new_outbox = rows(db, "SELECT type, v FROM outbox WHERE v IS NOT NULL ORDER BY pk")
        assert ("order.placed", 1) in new_outbox and ("call.opened", 1) in new_outbox
    finally:
        hub.stop()
        broker.stop()
        for p in printers.values():
            p.stop()


def test_an_older_database_gets_the_columns_it_lacked(tmp_path: Path) -> None:
    """Before migrations, columns were added in place; a hub from before those is adopted
    the same way (nullable ones), and one that cannot be is refused with what to do."""
    db = tmp_path / "hub.sqlite3"
    shutil.copy(FIXTURE, db)
    con = sqlite3.connect(db)
    con.execute("ALTER TABLE orders DROP COLUMN party_opened_at")
    con.execute("ALTER TABLE orders DROP COLUMN member_code")
    con.commit()
    con.close()
    migrate(db)
    assert {"party_opened_at", "member_code"} <= set(columns(db, "orders"))
    assert rows(db, "SELECT count(*), count(party_opened_at) FROM orders") == [(2, 0)]
    assert version(db) == HEAD

    broken = tmp_path / "broken.sqlite3"
    shutil.copy(FIXTURE, broken)
    con = sqlite3.connect(broken)
    con.execute("ALTER TABLE orders DROP COLUMN note")  # NOT NULL: cannot be added back
    con.commit()
    con.close()
    with pytest.raises(SchemaTooOld, match=r"lacks orders\.note"):
        migrate(broken)
    # Refused whole: nothing was changed on the way (one transaction).
    assert "alembic_version" not in {
        t for (t,) in rows(broken, "SELECT name FROM sqlite_master WHERE type='table'")
    }


def test_a_database_newer_than_the_code_is_refused_before_the_hub_serves(
    tmp_path: Path,
) -> None:
    broker = start_broker(tmp_path / "mqtt", make_inventory(STORE))
    settings = hub_settings(broker, tmp_path / "hub")
    db = settings.db_path
    db.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURE, db)
    migrate(db)
    con = sqlite3.connect(db)
    con.execute("UPDATE alembic_version SET version_num = '0099'")
    con.commit()
    con.close()
    before = snapshot(db)
    with pytest.raises(SchemaTooNew, match="revision '0099'"):
        migrate(db)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "smartstore.cli", "hub"],
            env={**as_environment(settings), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        broker.stop()
    assert result.returncode == 2
    assert "revision '0099'" in result.stderr and "newer smartstore" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(db) == before


def test_the_migrations_make_exactly_the_models_schema(tmp_path: Path) -> None:
    """A model changed without a migration fails here (autogenerate finds the difference)."""
    db = tmp_path / "fresh.sqlite3"
    migrate(db)
    assert version(db) == HEAD
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []

"""Backups: naming and keeping, refusing what is not a backup, restoring aside."""

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from edge.backups.service import (
    BackupError,
    check,
    next_run,
    nightly_backups,
    restore,
    take_nightly,
    take_pre_upgrade,
)
from edge.db import DatabaseInUse, exclusive_use, init_db, make_engine


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "hub.sqlite3"
    engine = make_engine(path)
    init_db(engine)
    engine.dispose()
    return path


def mark(db: Path, value: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS mark (v TEXT)")
        conn.execute("DELETE FROM mark")
        conn.execute("INSERT INTO mark VALUES (?)", (value,))


def marked(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return str(conn.execute("SELECT v FROM mark").fetchone()[0])


def test_the_next_run_is_today_if_still_ahead_else_tomorrow() -> None:
    tz = dt.timezone(dt.timedelta(hours=8))
    at = dt.time(3, 30)
    assert next_run(dt.datetime(2026, 5, 1, 1, 0, tzinfo=tz), at) == dt.datetime(
        2026, 5, 1, 3, 30, tzinfo=tz
    )
    assert next_run(dt.datetime(2026, 5, 1, 3, 30, tzinfo=tz), at) == dt.datetime(
        2026, 5, 2, 3, 30, tzinfo=tz
    )


def test_nightly_backups_keep_the_newest_n_and_leave_others_alone(db: Path) -> None:
    folder = db.parent / "backups"
    upgrade = take_pre_upgrade(db, folder, "0.2.0")
    start = dt.datetime(2026, 5, 1, 3, 30, tzinfo=dt.UTC)
    for day in range(5):
        mark(db, f"day {day}")
        take_nightly(db, folder, keep=3, now=start + dt.timedelta(days=day))
    kept = nightly_backups(folder)
    assert [p.name for p in kept] == [
        "hub-20260503T033000Z.sqlite3",
        "hub-20260504T033000Z.sqlite3",
        "hub-20260505T033000Z.sqlite3",
    ]
    assert marked(kept[-1]) == "day 4"
    assert upgrade.exists()
    assert not list(folder.glob(".*"))  # no temporary file left


def test_a_file_that_is_not_a_hub_database_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(BackupError, match="not an SQLite database"):
        check(junk)
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(BackupError, match="not a hub database"):
        check(other)
    with pytest.raises(BackupError, match="does not exist"):
        check(tmp_path / "missing.sqlite3")


def test_restore_puts_the_backup_back_and_keeps_the_current_database_aside(db: Path) -> None:
    mark(db, "backed up")
    backup = take_nightly(db, db.parent / "backups", keep=2)
    mark(db, "after the backup")
    done = restore(backup, db)
    assert marked(db) == "backed up"
    assert done.aside is not None and marked(done.aside) == "after the backup"


def test_restore_is_refused_while_the_database_is_in_use(db: Path) -> None:
    backup = take_nightly(db, db.parent / "backups", keep=2)
    mark(db, "in use")
    with exclusive_use(db), pytest.raises(DatabaseInUse):
        restore(backup, db)
    assert marked(db) == "in use"
    assert not list(db.parent.glob("*.before-restore-*"))

"""Backups of the hub's SQLite database, made with SQLite's online backup API.

Never a file copy of the live database: a copy taken while the writer commits can hold half a
transaction, and the WAL beside the file holds the newest ones. `Connection.backup` copies
the pages of one read snapshot (WAL mode: writers go on meanwhile), so a backup is the
database as it was at one commit, whole.
"""

import datetime as dt
import logging
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from edge.db import exclusive_use

log = logging.getLogger(__name__)

# Nightly backups are named hub-<UTC time>.sqlite3 (sortable: the newest is last); only these
# are pruned. Others in the folder (before an upgrade, by hand) are left for a person to delete.
NIGHTLY_PREFIX = "hub-"
PRE_UPGRADE_PREFIX = "pre-upgrade-"
SUFFIX = ".sqlite3"
STAMP = "%Y%m%dT%H%M%SZ"
# One of these is in every hub database: Alembic's table, or (made before migrations existed)
# the devices table.
HUB_TABLES = frozenset({"alembic_version", "devices"})


class BackupError(RuntimeError):
    """A backup that cannot be made, or a file that is not a usable backup."""


def _stamp(now: dt.datetime | None = None) -> str:
    return (now or dt.datetime.now(dt.UTC)).strftime(STAMP)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check(path: Path) -> None:
    """Refuse a file that is not a whole hub database (SQLite's integrity check, and a table
    every hub database has had: the migrations' version, or devices from before them)."""
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            verdict = conn.execute("PRAGMA integrity_check").fetchall()
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not an SQLite database: {exc}") from None
    if verdict != [("ok",)]:
        raise BackupError(f"{path} is damaged: {verdict[:5]}")
    if not tables & HUB_TABLES:
        raise BackupError(f"{path} is not a hub database (no {' or '.join(sorted(HUB_TABLES))})")


def backup_database(db: Path, dest: Path) -> Path:
    """A consistent copy of the live database `db` at `dest` (a rollback-journal file that
    stands alone), checked, on disk before it takes its name."""
    if not db.is_file():
        raise BackupError(f"no database at {db}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    tmp.unlink(missing_ok=True)
    source = sqlite3.connect(db)
    try:
        source.execute("PRAGMA busy_timeout=10000")
        target = sqlite3.connect(tmp)
        try:
            # pages=-1 (the default): every page in one step, from one read snapshot. Steps of
            # a few pages would restart whenever the writer commits in between.
            source.backup(target)
            # The copy carries the source's WAL flag: back to a rollback journal, so the
            # backup is one file that can be moved, copied and opened read-only.
            target.execute("PRAGMA journal_mode=DELETE").fetchall()
        finally:
            target.close()
    finally:
        source.close()
    try:
        check(tmp)
        with tmp.open("rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, dest)
        _fsync_dir(dest.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest


def nightly_backups(folder: Path) -> list[Path]:
    """The nightly backups in `folder`, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f"{NIGHTLY_PREFIX}*{SUFFIX}"))


def take_nightly(db: Path, folder: Path, keep: int, now: dt.datetime | None = None) -> Path:
    """Back `db` up into `folder` and keep the `keep` newest nightly backups."""
    made = backup_database(db, folder / f"{NIGHTLY_PREFIX}{_stamp(now)}{SUFFIX}")
    for old in nightly_backups(folder)[:-keep]:
        old.unlink()
        log.info("removed old backup %s (keeping %d)", old, keep)
    return made


def take_pre_upgrade(db: Path, folder: Path, version: str) -> Path:
    return backup_database(db, folder / f"{PRE_UPGRADE_PREFIX}{version}-{_stamp()}{SUFFIX}")


def next_run(now: dt.datetime, at: dt.time) -> dt.datetime:
    """The first `at` (local wall-clock time) strictly after `now` (a local, aware time)."""
    today = now.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    return today if today > now else today + dt.timedelta(days=1)


@dataclass(frozen=True)
class Restored:
    database: Path
    aside: Path | None  # where the database it replaced went (None: there was none)


def restore(backup: Path, db: Path) -> Restored:
    """Put `backup` back as the hub's database `db`; the current one moves aside (with its
    WAL), never deleted. Refused while a hub uses `db` (edge.db.DatabaseInUse)."""
    check(backup)
    with exclusive_use(db):
        aside = None
        if db.exists():
            aside = db.with_name(f"{db.name}.before-restore-{_stamp()}")
            # Its WAL and shared-memory files travel under the matching names, so the file set
            # aside opens with every transaction it had committed.
            for suffix in ("", "-wal", "-shm"):
                part = Path(f"{db}{suffix}")
                if part.exists():
                    part.rename(f"{aside}{suffix}")
        tmp = db.with_name(f".{db.name}.restore.tmp")
        shutil.copyfile(backup, tmp)
        with tmp.open("rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, db)
        _fsync_dir(db.parent)
    return Restored(db, aside)

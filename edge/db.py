"""SQLite through SQLAlchemy 2, in WAL mode with synchronous commits.

A commit returns only after the WAL is on disk (synchronous=FULL), so an acknowledged event
survives SIGKILL and power loss.
"""

import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


class Base(DeclarativeBase):
    pass


def _on_connect(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    # No checkpoint inside a commit: the Checkpointer thread does them, so a writer never
    # stalls for the copy and fsync of the database file (100+ ms at a thousand rows a second).
    cur.execute("PRAGMA wal_autocheckpoint=0")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _autocommit_driver(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (the driver would issue a deferred one).
    dbapi_conn.isolation_level = None


def _begin_immediate(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(path: Path, *, for_writes: bool = False) -> Engine:
    """for_writes: transactions take SQLite's write lock when they begin. Several threads
    write (the store writer, order requests, the print spooler); a deferred transaction that
    read first and writes second fails with SQLITE_BUSY at once if another commit came in
    between (busy_timeout cannot help: its snapshot is stale). IMMEDIATE waits its turn."""
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"check_same_thread": False},
        pool_size=8,
        max_overflow=8,
    )
    event.listen(engine, "connect", _on_connect)
    if for_writes:
        event.listen(engine, "connect", _autocommit_driver)
        event.listen(engine, "begin", _begin_immediate)
    return engine


def init_db(engine: Engine) -> sessionmaker[Session]:
    # Import the domain models so that their tables are registered on Base.metadata.
    import edge.calls.models
    import edge.commands.models
    import edge.devices.models
    import edge.menu.models
    import edge.orders.models
    import edge.printing.models
    import edge.tables.models
    import edge.telemetry.buffer
    import edge.uplink.models  # noqa: F401

    Base.metadata.create_all(engine)
    _add_missing_columns(engine)
    return sessionmaker(engine, expire_on_commit=False)


class SchemaTooOld(RuntimeError):
    pass


def _add_missing_columns(engine: Engine) -> None:
    """A hub updated in the field keeps its database: columns added since it was made are
    added here when SQLite can (nullable, no constraint); anything else stops the hub with
    what to do, rather than failing on the first query that needs the column."""
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            have = {row[1] for row in conn.exec_driver_sql(f'PRAGMA table_info("{table.name}")')}
            for column in table.columns:
                if column.name in have:
                    continue
                if not column.nullable or column.unique or column.primary_key:
                    raise SchemaTooOld(
                        f"the hub database lacks {table.name}.{column.name}, which cannot be "
                        "added in place: move the database aside (the outbox drains first) "
                        "and start again"
                    )
                kind = column.type.compile(dialect=engine.dialect)
                conn.exec_driver_sql(
                    f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}'
                )
                log.warning("hub database: added column %s.%s", table.name, column.name)


log = logging.getLogger(__name__)


class Checkpointer:
    """Moves committed pages from the WAL into the database file, beside the writers.

    PASSIVE checkpoints never wait for or block a writer; committed data is already durable
    in the WAL (synchronous=FULL), so this only keeps the WAL from growing without bound.
    """

    EVERY_S = 1.0

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout=1000")
            while not self._stop.wait(self.EVERY_S):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:
                    log.warning("WAL checkpoint failed (will retry): %s", exc)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            conn.close()

"""SQLite through SQLAlchemy 2, in WAL mode with synchronous commits.

A commit returns only after the WAL is on disk (synchronous=FULL), so an acknowledged event
survives SIGKILL and power loss.
"""

import contextlib
import fcntl
import json
import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command, util
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import JSON, Connection, Engine, MetaData, create_engine, event, inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from edge.core.worker import Worker


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


BUSY_TIMEOUT_S = 10.0  # as PRAGMA busy_timeout above


class WriteTurn:
    """The hub's writers take turns at SQLite's write lock, across its threads and processes.

    Left to SQLite, a writer that finds the lock held sleeps by its busy handler's steps (1, 2,
    5, 10, 15, 20, 25 … ms) and looks again: one that came 1 ms into another's 10 ms
    transaction wakes at 18 ms. Here a writer takes its process's turn (a lock) and then the
    database's (an flock on `<database>-turn`, which the hub's draw process takes too:
    edge/games/drawer.py), and the next writer goes as the last one's connection is handed
    back (just after its commit): a waiting thread at once, a waiting process within
    TURN_POLL_MAX_S. Measured: a spin in the draw process waited 60-75 ms on the busy handler
    while the hub's printer marked a ticket printed. SQLite's lock still guards against what
    does not take turns (a backup, `smartstore restore`); a writer that cannot get its turn
    within the busy timeout goes on to SQLite's wait, as before.
    """

    KEY = "smartstore_write_turn"
    FILE_KEY = "smartstore_write_turn_file"

    def __init__(self, path: Path | None = None) -> None:
        self._lock = threading.Lock()  # not an RLock: a connection may be handed back by GC
        self._fd: int | None = None
        if path is not None:
            try:
                self._fd = os.open(f"{path}{TURN_SUFFIX}", os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                # A turn file another user made (a command run as root): the turns are then
                # SQLite's busy handler's across processes, as before, never a hub that
                # cannot start.
                log.warning("no write turns across processes (%s): %s", path, exc)
        if self._fd is not None:
            # Closed with the engine (its listeners hold this object), not left open per engine.
            weakref.finalize(self, os.close, self._fd)

    def begin(self, conn: Connection) -> None:
        if not conn.info.get(self.KEY) and self._lock.acquire(timeout=BUSY_TIMEOUT_S):
            conn.info[self.KEY] = True
            if self._take_file_turn():
                conn.info[self.FILE_KEY] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self._give_back(conn.info)
            raise

    def _take_file_turn(self) -> bool:
        """The database's turn (another process's writer may hold it): asked again every
        fraction of a millisecond, up to the busy timeout. flock has no timeout of its own."""
        if self._fd is None:
            return False
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        pause = TURN_POLL_MIN_S
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(pause)
                pause = min(pause * 2, TURN_POLL_MAX_S)

    def free(self) -> bool:
        """Nobody's turn (for tests: a turn never handed back would stall every writer)."""
        if not self._lock.acquire(blocking=False):
            return False
        self._lock.release()
        return True

    def handed_back(self, _dbapi_conn: Any, record: Any, *_rest: Any) -> None:
        self._give_back(record.info)

    def _give_back(self, info: dict[Any, Any]) -> None:
        if info.pop(self.FILE_KEY, False) and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        if info.pop(self.KEY, False):
            self._lock.release()


# The database's write turn across processes: a file beside it (as SQLite's -wal and -shm).
TURN_SUFFIX = "-turn"
# How often a writer asks again for a turn another process holds: from this, doubling, to the
# max (a transaction of the hub's is a few ms; the max bounds both the wait and the asking).
TURN_POLL_MIN_S = 0.0002
TURN_POLL_MAX_S = 0.001


WRITE_TURNS: "weakref.WeakKeyDictionary[Engine, WriteTurn]" = weakref.WeakKeyDictionary()


def make_engine(path: Path, *, for_writes: bool = False) -> Engine:
    """for_writes: transactions take SQLite's write lock when they begin. Several threads
    write (the store writer, order requests, the print spooler); a deferred transaction that
    read first and writes second fails with SQLITE_BUSY at once if another commit came in
    between (busy_timeout cannot help: its snapshot is stale). IMMEDIATE waits its turn, and
    the turn is taken in this process first (`WriteTurn`)."""
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
        turn = WRITE_TURNS[engine] = WriteTurn(path)
        event.listen(engine, "begin", turn.begin)
        for handed_back in ("checkin", "invalidate", "close"):
            event.listen(engine, handed_back, turn.handed_back)
    return engine


class _RowInsert:
    """How one mapped class's rows are written straight to SQLite: its columns, the INSERT,
    the scalar defaults a transient object has not had filled in yet (the ORM fills them at
    flush), which columns hold JSON."""

    def __init__(self, table: Any) -> None:
        columns = list(table.columns)
        self.keys = [c.key for c in columns]
        names = ", ".join(c.name for c in columns)
        marks = ", ".join("?" for _ in columns)
        # Names from the mapped table, never from input.
        self.sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"  # noqa: S608
        self.defaults: dict[str, Any] = {}
        for c in columns:
            if c.default is not None and c.default.is_scalar:
                self.defaults[c.key] = c.default.arg
            elif c.default is not None:  # a callable default: not worth the guess here
                raise TypeError(f"{table.name}.{c.name}: insert_row takes scalar defaults only")
        self.json = {c.key for c in columns if isinstance(c.type, JSON)}


_ROW_INSERTS: dict[type, _RowInsert] = {}
_SQLITE = "smartstore.sqlite"  # session.info: (the transaction, its SQLite connection)


def sqlite_of(session: Session) -> sqlite3.Connection:
    """The SQLite connection of the session's transaction, for statements written as plain
    SQL in that transaction. Kept in the session's info for as long as the transaction
    lasts: asking SQLAlchemy for it costs more than a small query (a spin asks a dozen)."""
    # Keyed by the innermost transaction: SQLAlchemy emits a SAVEPOINT when a nested
    # transaction first asks for its connection, so each savepoint must ask once, or the
    # rows written in it would not be undone with it (tests/fast/edge/core/test_insert_row.py).
    transaction = session.get_nested_transaction() or session.get_transaction()
    kept = session.info.get(_SQLITE)
    if kept is not None and transaction is not None and kept[0] is transaction:
        conn: sqlite3.Connection = kept[1]
        return conn
    found: Any = session.connection().connection.driver_connection
    assert isinstance(found, sqlite3.Connection)
    session.info[_SQLITE] = (session.get_nested_transaction() or session.get_transaction(), found)
    return found


def insert_row(session: Session, obj: Base) -> None:
    """Write a new (transient) mapped object at once with the session's own SQLite connection,
    in its transaction (and savepoint): no unit of work, no statement compiled.

    For the hottest writes only (a spin of the wheel, a points entry: bench/bench_games.py),
    where SQLAlchemy's flush cost more than SQLite's insert. The object stays out of the
    session; reads in the same transaction see the row. A duplicate key raises SQLAlchemy's
    IntegrityError, as a flush would."""
    kind = type(obj)
    plan = _ROW_INSERTS.get(kind)
    if plan is None:
        plan = _ROW_INSERTS[kind] = _RowInsert(kind.__table__)
    values: list[Any] = []
    for key in plan.keys:
        value = obj.__dict__.get(key)
        if value is None and key in plan.defaults:
            value = plan.defaults[key]
            setattr(obj, key, value)  # what a flush would have left on the object
        if value is not None and key in plan.json:
            value = json.dumps(value)
        values.append(value)
    try:
        sqlite_of(session).execute(plan.sql, values)
    except sqlite3.IntegrityError as exc:
        raise IntegrityError(plan.sql, values, exc) from None


MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The schema of the last release before migrations: a database without Alembic's version table
# is adopted at this revision (see migrate()).
BASELINE = "0001"


class SchemaTooOld(RuntimeError):
    """A pre-migrations database that cannot be brought to the baseline in place."""


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer release than this one."""


class DatabaseInUse(RuntimeError):
    """Another process (a running hub, a restore) holds the database."""


@contextlib.contextmanager
def exclusive_use(path: Path) -> Iterator[None]:
    """Hold the database for this process: a running hub holds it from before its migrations
    until it exits, so a restore (or a second hub on the same file) is refused rather than
    pulling the file from under it. An advisory lock on a file beside the database: the kernel
    drops it when the process dies, even by SIGKILL or power loss, so it never goes stale."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(f"{path.name}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseInUse(
                f"{path} is in use by another process (a running hub? stop it first: "
                "systemctl stop smartstore-hub)"
            ) from None
        yield
    finally:
        os.close(fd)


def init_db(engine: Engine) -> sessionmaker[Session]:
    """Bring the database the engine points at to this release's schema; its sessions."""
    database = engine.url.database
    if not database:
        raise ValueError("the hub's database is a file (an in-memory one cannot be migrated)")
    migrate(Path(database))
    return sessionmaker(engine, expire_on_commit=False)


def _migration_engine(path: Path) -> Engine:
    """Its own engine: one IMMEDIATE transaction around the whole upgrade (SQLite DDL is
    transactional once the driver stops managing transactions: a failed migration changes
    nothing), and foreign keys off while batch mode copies tables."""
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}")

    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA foreign_keys=OFF")
        cur.close()

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "connect", _autocommit_driver)
    event.listen(engine, "begin", _begin_immediate)
    return engine


def _alembic(connection: Connection) -> Config:
    """Alembic's configuration, in code: no alembic.ini, no dependence on the current folder
    (an installed hub runs from its package)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(path: Path) -> None:
    """`alembic upgrade head` on the hub's database, at every start. An empty file gets the
    whole schema; a database made before migrations existed is adopted at BASELINE first; a
    database migrated by a newer release is refused (this code would misread it)."""
    engine = _migration_engine(path)
    try:
        with engine.begin() as conn:
            config = _alembic(conn)
            scripts = ScriptDirectory.from_config(config)
            current = MigrationContext.configure(conn).get_current_revision()
            if current is not None:
                try:
                    scripts.get_revision(current)
                except util.CommandError:
                    raise SchemaTooNew(
                        f"the hub database {path} is at schema revision {current!r}, which this "
                        f"release does not know (newest here: {scripts.get_current_head()!r}): "
                        "it was upgraded by a newer smartstore. Install that release (or a "
                        "newer one) again; an older hub must not run on it."
                    ) from None
            elif set(inspect(conn).get_table_names()) - {"alembic_version"}:
                _adopt(conn, path)
                command.stamp(config, BASELINE)
            command.upgrade(config, "head")
    finally:
        engine.dispose()


def revision(path: Path) -> str | None:
    """The schema revision the database at `path` is at (None: none yet)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        if not conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).fetchone():
            return None
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return str(row[0]) if row else None
    finally:
        conn.close()


def _adopt(conn: Connection, path: Path) -> None:
    """A hub updated in the field from before migrations keeps its database: tables and
    columns the baseline has and it lacks are added when SQLite can (a new table; a nullable
    column without constraints); anything else stops the hub with what to do."""
    baseline = _baseline_schema()
    have = set(inspect(conn).get_table_names())
    for table in baseline.sorted_tables:
        if table.name not in have:
            table.create(conn)
            log.warning("hub database: added table %s", table.name)
            continue
        columns = {c["name"] for c in inspect(conn).get_columns(table.name)}
        for column in table.columns:
            if column.name in columns:
                continue
            if not column.nullable or column.unique or column.primary_key:
                raise SchemaTooOld(
                    f"the hub database {path} lacks {table.name}.{column.name}, which cannot be "
                    "added in place: move the database aside (after the outbox has drained) "
                    "and start again"
                )
            kind = column.type.compile(dialect=conn.dialect)
            conn.exec_driver_sql(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}')
            log.warning("hub database: added column %s.%s", table.name, column.name)


def _baseline_schema() -> MetaData:
    """The tables as revision BASELINE makes them, read back from a scratch database: the
    migrations stay the one description of the schema."""
    scratch = create_engine("sqlite://")
    try:
        with scratch.begin() as conn:
            command.upgrade(_alembic(conn), BASELINE)
            schema = MetaData()
            schema.reflect(conn)
            schema.remove(schema.tables["alembic_version"])
        return schema
    finally:
        scratch.dispose()


log = logging.getLogger(__name__)


class Checkpointer(Worker):
    """Moves committed pages from the WAL into the database file, beside the writers.

    PASSIVE checkpoints never wait for or block a writer; committed data is already durable
    in the WAL (synchronous=FULL), so this only keeps the WAL from growing without bound.
    """

    name = "wal-checkpoint"
    EVERY_S = 1.0

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._path = path

    def run(self) -> None:
        conn = sqlite3.connect(self._path, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout=1000")
            while not self.sleep(self.EVERY_S):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:
                    log.warning("WAL checkpoint failed (will retry): %s", exc)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            conn.close()

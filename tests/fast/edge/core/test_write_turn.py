"""Writers take turns at SQLite's write lock in the hub's process first (edge/db.py,
`WriteTurn`): the turn must come back however a transaction ends, or every writer after it
would wait out the busy timeout — the hub stuck."""

import fcntl
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from edge.db import TURN_SUFFIX, WRITE_TURNS, make_engine


def engine_path(engine: Engine) -> Path:
    assert engine.url.database is not None
    return Path(engine.url.database).parent


def _other_process_may_write(tmp_path: Path) -> bool:
    """Whether another process (the hub's draw process) could take the database's turn now:
    its file lock, as that process's own open file takes it."""
    fd = os.open(tmp_path / f"hub.sqlite3{TURN_SUFFIX}", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing drops the lock
    return True


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(tmp_path / "hub.sqlite3", for_writes=True)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    return engine


def _writes_soon(engine: Engine, row: int, within_s: float = 3.0) -> bool:
    """Whether another thread can write a row within a few seconds (the turn is free)."""
    done = threading.Event()

    def write() -> None:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t (id) VALUES (:id)"), {"id": row})
        done.set()

    threading.Thread(target=write, daemon=True).start()
    return done.wait(within_s)


def _commit(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t (id) VALUES (1)"))


def _fail(engine: Engine) -> None:
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("INSERT INTO t (id) VALUES (2)"))
        conn.execute(text("INSERT INTO t (id) VALUES (2)"))


def _two_on_one_connection(engine: Engine) -> None:
    with engine.connect() as conn:
        for row in (3, 4):
            with conn.begin():
                conn.execute(text("INSERT INTO t (id) VALUES (:id)"), {"id": row})


def _invalidated(engine: Engine) -> None:
    conn = engine.connect()
    conn.begin()
    conn.execute(text("INSERT INTO t (id) VALUES (5)"))
    conn.invalidate()  # the connection is thrown away mid-transaction (rolled back)
    conn.close()


@pytest.mark.parametrize("end", [_commit, _fail, _two_on_one_connection, _invalidated])
def test_the_turn_comes_back_however_a_transaction_ends(
    engine: Engine, end: Callable[[Engine], None]
) -> None:
    end(engine)
    assert WRITE_TURNS[engine].free()
    assert _other_process_may_write(engine_path(engine))
    assert _writes_soon(engine, 100)


def test_a_writer_waits_for_the_one_writing_then_goes(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t (id) VALUES (10)"))
        assert not _writes_soon(engine, 11, within_s=0.3)  # waits for this transaction
        # So does another process: the database's turn is this transaction's.
        assert not _other_process_may_write(engine_path(engine))
    with engine.connect() as conn:
        # The waiting writer went as soon as this one committed: its row is there.
        assert _writes_soon(engine, 12)
        rows = conn.execute(text("SELECT id FROM t ORDER BY id")).scalars().all()
    assert rows == [10, 11, 12]

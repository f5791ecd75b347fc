"""SQLite through SQLAlchemy 2, in WAL mode with synchronous commits.

A commit returns only after the WAL is on disk (synchronous=FULL), so an acknowledged event
survives SIGKILL and power loss.
"""

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
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(path: Path) -> Engine:
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"check_same_thread": False},
        pool_size=8,
        max_overflow=8,
    )
    event.listen(engine, "connect", _on_connect)
    return engine


def init_db(engine: Engine) -> sessionmaker[Session]:
    # Import the domain models so that their tables are registered on Base.metadata.
    import edge.calls.models
    import edge.commands.models
    import edge.devices.models
    import edge.telemetry.buffer  # noqa: F401

    Base.metadata.create_all(engine)
    return sessionmaker(engine, expire_on_commit=False)

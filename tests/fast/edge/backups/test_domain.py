"""The nightly backup worker: a hub that missed its night catches up soon after it starts."""

import datetime as dt
import time
from pathlib import Path

import pytest

from edge.backups import domain
from edge.backups.domain import NightlyBackup
from edge.backups.service import nightly_backups, take_nightly
from edge.db import init_db, make_engine


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "hub.sqlite3"
    engine = make_engine(path)
    init_db(engine)
    engine.dispose()
    return path


def far_from_now() -> dt.time:
    """A nightly time 12 hours away: never reached while the test runs."""
    return (dt.datetime.now() + dt.timedelta(hours=12)).time()


def test_without_a_recent_backup_one_is_taken_after_start(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(domain, "CATCH_UP_AFTER_START_S", 0.0)
    folder = db.parent / "backups"
    worker = NightlyBackup(db, folder, keep=3, at=far_from_now())
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while not nightly_backups(folder) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()
    assert len(nightly_backups(folder)) == 1
    assert not worker.alive


def test_with_last_nights_backup_nothing_is_taken_before_tonight(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(domain, "CATCH_UP_AFTER_START_S", 0.0)
    folder = db.parent / "backups"
    made = take_nightly(db, folder, keep=3)
    worker = NightlyBackup(db, folder, keep=3, at=far_from_now())
    worker.start()
    time.sleep(0.5)
    worker.stop()
    assert nightly_backups(folder) == [made]

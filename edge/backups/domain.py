"""The backups domain: a worker that backs the database up every night."""

import datetime as dt
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from edge.backups.service import BackupError, next_run, nightly_backups, take_nightly
from edge.core.domain import Domain, HubContext, Startable
from edge.core.worker import Worker

log = logging.getLogger(__name__)

# A store that is switched off at night (many are) never sees BACKUP_AT: a hub whose newest
# backup is older than a day takes one this long after it starts (after the start-up rush,
# not during it: the cold start stays fast).
CATCH_UP_AFTER_START_S = 300.0
CATCH_UP_WHEN_OLDER_THAN_S = 24 * 3600.0
# How often the worker looks at the clock: a Pi's clock jumps when NTP sets it after a power
# cut, so the wait is re-measured rather than slept in one go.
CLOCK_CHECK_S = 60.0


class NightlyBackup(Worker):
    name = "nightly-backup"

    def __init__(self, db: Path, folder: Path, keep: int, at: dt.time) -> None:
        super().__init__()
        self._db, self._folder, self._keep, self._at = db, folder, keep, at

    def _due_at_start(self) -> float:
        """Epoch time of the first backup: tonight's, or soon if the last one is old."""
        tonight = next_run(dt.datetime.now().astimezone(), self._at).timestamp()
        made = nightly_backups(self._folder)
        newest = made[-1].stat().st_mtime if made else 0.0
        if time.time() - newest > CATCH_UP_WHEN_OLDER_THAN_S:
            return min(tonight, time.time() + CATCH_UP_AFTER_START_S)
        return tonight

    def run(self) -> None:
        due = self._due_at_start()
        while not self.sleep(max(0.0, min(due - time.time(), CLOCK_CHECK_S))):
            if time.time() < due:
                continue
            try:
                made = take_nightly(self._db, self._folder, self._keep)
                log.info("backed the database up to %s", made)
            except (BackupError, OSError) as exc:
                # Tomorrow again; meanwhile the store works. Said loudly: an operator must know.
                log.error("nightly backup failed: %s", exc)
            due = next_run(dt.datetime.now().astimezone(), self._at).timestamp()


class BackupsDomain(Domain):
    name = "backups"

    def __init__(self, hub: HubContext) -> None:
        super().__init__(hub)
        s = hub.settings
        self.worker = NightlyBackup(s.db_path, s.backups_dir, s.backup_keep, s.backup_at)

    def workers(self) -> Sequence[Startable]:
        return (self.worker,)

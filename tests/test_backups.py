"""Backups of a hub at work, and putting one back, through the command line an operator
uses (`smartstore backup`, `smartstore restore`) on a hub process taking a burst of presses."""

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.bursts import integrity, press_burst, stored_press_ids
from tests.support import Broker, hub_settings, run_hub_process, wait_until


def smartstore(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smartstore.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ,
    )


def presses_per_call_agree(db: Path) -> bool:
    with sqlite3.connect(db) as conn:
        return not conn.execute(
            "SELECT c.id FROM calls c LEFT JOIN call_events e ON e.call_id = c.id "
            "GROUP BY c.id HAVING c.presses != COUNT(e.pk)"
        ).fetchall()


def test_a_backup_taken_during_a_burst_restores_whole_and_the_hub_runs_on_it(
    broker: Broker, tmp_path: Path
) -> None:
    settings = hub_settings(broker, tmp_path / "hub")
    data = str(settings.data_dir)
    log = tmp_path / "hub.log"
    hub = run_hub_process(settings, log)
    with press_burst(broker, presses_per_s=300, seconds=8) as burst:
        wait_until(lambda: len(burst.acked_now()) >= 500, 30, "500 presses acknowledged")
        made = smartstore("backup", "--data-dir", data)
        assert made.returncode == 0, made.stderr
        acked_before_backup_ended = burst.acked_now()
        wait_until(lambda: len(burst.acked_now()) >= len(acked_before_backup_ended) + 300, 30)
        backups = sorted((settings.data_dir / "backups").glob("hub-*.sqlite3"))
        assert len(backups) == 1
        backup = backups[0]

        # While the hub runs, a restore is refused and the database is left alone.
        refused = smartstore("restore", str(backup), "--data-dir", data)
        assert refused.returncode == 2
        assert "in use" in refused.stderr
    hub.proc.send_signal(signal.SIGTERM)
    assert hub.proc.wait(15) == 0

    # The backup is one moment of the database, whole: more than the presses acknowledged
    # when it began, fewer than the burst stored in the end.
    in_backup = stored_press_ids(backup)
    live = stored_press_ids(settings.db_path)
    assert integrity(backup) == [("ok",)]
    assert presses_per_call_agree(backup)
    assert 500 <= len(in_backup) < len(live)
    assert in_backup <= live

    restored = smartstore("restore", str(backup), "--data-dir", data)
    assert restored.returncode == 0, restored.stderr
    aside = list(settings.data_dir.glob("hub.sqlite3.before-restore-*"))
    assert [p.name.endswith(("-wal", "-shm")) for p in aside].count(False) == 1
    assert stored_press_ids(next(p for p in aside if p.name[-4:] not in ("-wal", "-shm"))) == live
    assert stored_press_ids(settings.db_path) == in_backup

    hub = run_hub_process(settings, log)
    try:
        assert stored_press_ids(settings.db_path) == in_backup
    finally:
        hub.kill()

"""Power loss during a write burst: the hub is SIGKILLed while presses pour in over MQTT.

SIGKILL is what can be done to a process here; a real power cut also drops what the kernel
had not written. The hub commits with synchronous=FULL (the WAL is fsynced before a commit
returns) and acknowledges only after the commit, so the two fail the same way as far as
acknowledged presses go. What this test proves: the database is whole afterwards, every
press a device was told was stored is there, nothing is there that was never sent, and the
hub starts on the database again."""

import signal
import sqlite3
from pathlib import Path

from tests.bursts import integrity, press_burst, stored_press_ids
from tests.support import Broker, hub_settings, run_hub_process, wait_until


def test_sigkill_mid_burst_keeps_every_acknowledged_press_and_a_whole_database(
    broker: Broker, tmp_path: Path
) -> None:
    settings = hub_settings(broker, tmp_path / "hub")
    log = tmp_path / "hub.log"
    hub = run_hub_process(settings, log)
    with press_burst(broker, presses_per_s=400, seconds=20) as burst:
        wait_until(lambda: len(burst.acked_now()) >= 1500, 30, "1500 presses acknowledged")
        hub.proc.send_signal(signal.SIGKILL)
        hub.proc.wait(10)
        sent_before_kill = len(burst.sent)
    acked = burst.acked_now()

    db = settings.db_path
    assert integrity(db) == [("ok",)]
    stored = stored_press_ids(db)
    assert acked <= stored, f"{len(acked - stored)} acknowledged presses lost"
    assert stored <= set(burst.sent)
    # The kill landed mid-burst: presses were still coming, some never stored.
    assert len(burst.sent) > len(stored) or sent_before_kill > len(acked)

    # Each call's press count and its stored presses were committed together.
    with sqlite3.connect(db) as conn:
        mismatched = conn.execute(
            "SELECT c.id FROM calls c LEFT JOIN call_events e ON e.call_id = c.id "
            "GROUP BY c.id HAVING c.presses != COUNT(e.pk)"
        ).fetchall()
    assert mismatched == []

    hub = run_hub_process(settings, log)  # recovers the WAL, migrates, serves
    hub.kill()

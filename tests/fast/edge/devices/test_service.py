"""Presence and alarms from what devices report, and from their silence
(edge/devices/service.py, edge/devices/alarms.py; docs/wire-contract.md §5)."""

from collections.abc import Sequence

import pytest

from contract import DeviceState, PrinterTelemetry, Telemetry
from contract.const import CoverState, PaperLevel, Presence
from contract.inventory import DeviceSpec, Inventory
from edge.devices import service as devices
from edge.devices.models import Alarm, Device
from edge.devices.service import DeviceChanges, StateReport, TelemetryReport
from tests.fast.helpers import NOW, StoreDb, outbox

BATTERY_LOW_PCT = 20.0
SILENT_AFTER_S = 90.0
SLEEPY_SILENT_AFTER_S = 7200.0


@pytest.fixture
def fleet(db: StoreDb, inventory: Inventory) -> dict[str, DeviceSpec]:
    with db.sessions.begin() as s:
        devices.sync_inventory(s, inventory)
    return inventory.by_id()


def report(db: StoreDb, *reports: StateReport | TelemetryReport) -> DeviceChanges:
    with db.sessions.begin() as s:
        return devices.apply_reports(s, reports, BATTERY_LOW_PCT)


def silence(db: StoreDb, now: float) -> DeviceChanges:
    with db.sessions.begin() as s:
        return devices.mark_silent(s, now, SILENT_AFTER_S, SLEEPY_SILENT_AFTER_S, BATTERY_LOW_PCT)


def online(device: DeviceSpec, at: float = NOW) -> StateReport:
    return StateReport(device, DeviceState(state=Presence.ONLINE, fw="1.2.0"), at)


def offline(device: DeviceSpec, at: float = NOW, goodbye: bool = False) -> StateReport:
    # The Will carries no timestamp; a goodbye the device sends itself does.
    ts_ms = int(at * 1000) if goodbye else None
    return StateReport(device, DeviceState(state=Presence.OFFLINE, ts_ms=ts_ms), at)


def printer(device: DeviceSpec, at: float = NOW, **values: object) -> TelemetryReport:
    return TelemetryReport(device, PrinterTelemetry.model_validate(values), at)


def beat(device: DeviceSpec, at: float = NOW, battery_pct: float | None = None) -> TelemetryReport:
    return TelemetryReport(device, Telemetry(battery_pct=battery_pct, rssi_dbm=-60), at)


def state(db: StoreDb, device_id: str) -> tuple[str, str, float | None]:
    with db.reads() as s:
        row = s.get(Device, device_id)
        assert row is not None
        return row.state, row.state_reason, row.state_at


def active(db: StoreDb) -> list[tuple[str, str]]:
    with db.reads() as s:
        return sorted((a.device_id, a.kind) for a in devices.active_alarms(s))


def alarm_facts(db: StoreDb) -> list[tuple[str, str, bool]]:
    with db.reads() as s:
        return [
            (f.data["device"], f.data["kind"], f.data["active"])
            for f in outbox(s)
            if f.type == "device.alarm"
        ]


def kinds(alarms: Sequence[Alarm]) -> list[str]:
    return sorted(a.kind for a in alarms)


def test_paper_out_raises_an_alarm_until_paper_is_back(
    db: StoreDb, fleet: dict[str, DeviceSpec]
) -> None:
    p1 = fleet["printer-01"]
    changes = report(db, printer(p1, paper="out", cover="closed", printer_online=True))
    assert kinds(changes.raised) == ["paper_out"]
    assert changes.urgent == {"printer-01"}
    assert changes.alarms == {"printer-01": {"paper_out"}}
    assert state(db, "printer-01") == ("online", "", NOW)
    assert active(db) == [("printer-01", "paper_out")]

    # A heartbeat without a paper reading keeps the last one: the alarm stays.
    unchanged = report(db, printer(p1, NOW + 30))
    assert (unchanged.raised, unchanged.cleared, unchanged.urgent) == ([], [], set())
    assert active(db) == [("printer-01", "paper_out")]

    low = report(db, printer(p1, NOW + 60, paper="low"))
    assert (kinds(low.raised), kinds(low.cleared)) == (["paper_low"], ["paper_out"])
    back = report(db, printer(p1, NOW + 90, paper="ok"))
    assert (back.raised, kinds(back.cleared)) == ([], ["paper_low"])
    assert back.cleared[0].cleared_at == NOW + 90
    assert active(db) == []
    assert alarm_facts(db) == [
        ("printer-01", "paper_out", True),
        ("printer-01", "paper_low", True),
        ("printer-01", "paper_out", False),
        ("printer-01", "paper_low", False),
    ]


def test_cover_open_and_printer_offline(db: StoreDb, fleet: dict[str, DeviceSpec]) -> None:
    p2 = fleet["printer-02"]
    changes = report(db, printer(p2, cover=CoverState.OPEN.value, printer_online=False))
    assert kinds(changes.raised) == ["cover_open", "printer_offline"]
    closed = report(db, printer(p2, NOW + 5, cover="closed", printer_online=True))
    assert kinds(closed.cleared) == ["cover_open", "printer_offline"]
    assert active(db) == []


def test_battery_below_the_threshold_is_low_and_the_threshold_is_not(
    db: StoreDb, fleet: dict[str, DeviceSpec]
) -> None:
    report(db, beat(fleet["btn-001"], battery_pct=19.5), beat(fleet["btn-002"], battery_pct=20.0))
    assert active(db) == [("btn-001", "battery_low")]
    with db.reads() as s:
        row = s.get(Device, "btn-001")
        assert row is not None
        assert (row.battery_pct, row.rssi_dbm, row.last_seen) == (19.5, -60, NOW)
    report(db, beat(fleet["btn-001"], NOW + 60, battery_pct=80.0))
    assert active(db) == []


def test_a_mains_device_that_goes_offline_has_one_alarm(
    db: StoreDb, fleet: dict[str, DeviceSpec]
) -> None:
    p1 = fleet["printer-01"]
    report(db, printer(p1, paper=PaperLevel.OUT.value))
    changes = report(db, offline(p1, NOW + 10))
    # What an offline device said before is stale: paper_out goes, offline comes.
    assert (kinds(changes.raised), kinds(changes.cleared)) == (["offline"], ["paper_out"])
    assert state(db, "printer-01") == ("offline", "will", NOW + 10)
    assert active(db) == [("printer-01", "offline")]


def test_a_goodbye_and_a_will_read_differently(db: StoreDb, fleet: dict[str, DeviceSpec]) -> None:
    report(db, online(fleet["kiosk-01"]), online(fleet["screen-01"]))
    report(
        db, offline(fleet["kiosk-01"], NOW + 5, goodbye=True), offline(fleet["screen-01"], NOW + 5)
    )
    assert state(db, "kiosk-01") == ("offline", "goodbye", NOW + 5)
    assert state(db, "screen-01") == ("offline", "will", NOW + 5)


def test_a_heartbeat_brings_a_device_back_online(db: StoreDb, fleet: dict[str, DeviceSpec]) -> None:
    table = fleet["table-001"]
    report(db, online(table), offline(table, NOW + 1))
    assert active(db) == [("table-001", "offline")]
    changes = report(db, beat(table, NOW + 30))
    assert kinds(changes.cleared) == ["offline"]
    assert changes.urgent == {"table-001"}
    assert state(db, "table-001") == ("online", "", NOW + 30)
    assert active(db) == []


def test_a_sleeping_button_is_asleep_not_offline_and_keeps_its_battery_alarm(
    db: StoreDb, fleet: dict[str, DeviceSpec]
) -> None:
    btn = fleet["btn-001"]
    report(db, online(btn), beat(btn, NOW + 1, battery_pct=12.0))
    assert active(db) == [("btn-001", "battery_low")]
    changes = report(db, offline(btn, NOW + 20))  # its Will as it goes to sleep
    assert state(db, "btn-001") == ("asleep", "", NOW + 20)
    assert (changes.raised, changes.cleared) == ([], [])
    # edge/devices/alarms.py: the battery alarm stays up while it sleeps (instead of clearing
    # and coming back at every wake-up).
    assert active(db) == [("btn-001", "battery_low")]


def test_reports_of_devices_the_hub_does_not_list_change_nothing(
    db: StoreDb, fleet: dict[str, DeviceSpec]
) -> None:
    stranger = DeviceSpec(id="btn-999", type=fleet["btn-001"].type)
    assert not report(db, beat(stranger, battery_pct=1.0))
    assert active(db) == []


def test_a_silent_mains_device_goes_offline_after_its_timeout(
    db: StoreDb, fleet: dict[str, DeviceSpec]
) -> None:
    report(db, online(fleet["table-001"]), printer(fleet["printer-01"], paper="out"))
    assert not silence(db, NOW + SILENT_AFTER_S)  # not yet: silent for exactly the limit
    changes = silence(db, NOW + SILENT_AFTER_S + 0.5)
    assert sorted(changes.devices) == ["printer-01", "table-001"]
    assert changes.urgent == {"printer-01", "table-001"}
    assert (kinds(changes.raised), kinds(changes.cleared)) == (
        ["offline", "offline"],
        ["paper_out"],
    )
    assert state(db, "table-001") == ("offline", "silent", NOW + SILENT_AFTER_S + 0.5)
    # Already offline: the next check changes nothing; devices never heard from stay unknown.
    assert not silence(db, NOW + 10 * SILENT_AFTER_S)
    assert state(db, "kiosk-01")[0] == "unknown"


def test_a_sleepy_button_goes_offline_only_after_its_long_timeout(
    db: StoreDb, fleet: dict[str, DeviceSpec]
) -> None:
    report(db, online(fleet["btn-001"]), online(fleet["btn-002"]), offline(fleet["btn-002"]))
    assert state(db, "btn-002")[0] == "asleep"
    assert not silence(db, NOW + SILENT_AFTER_S + 1)
    assert not silence(db, NOW + SLEEPY_SILENT_AFTER_S)
    changes = silence(db, NOW + SLEEPY_SILENT_AFTER_S + 1)
    assert sorted(changes.devices) == ["btn-001", "btn-002"]  # online or asleep alike
    assert state(db, "btn-002") == ("offline", "silent", NOW + SLEEPY_SILENT_AFTER_S + 1)
    assert active(db) == [("btn-001", "offline"), ("btn-002", "offline")]
    assert alarm_facts(db) == [("btn-001", "offline", True), ("btn-002", "offline", True)]

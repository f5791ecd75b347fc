"""The devices domain in the writer's transaction (edge/devices/domain.py): presence and
alarm changes reach the staff board at once, routine heartbeats at most once a second, and
every heartbeat becomes an InfluxDB point in the same transaction."""

from typing import Any

import pytest

from contract import DeviceState, PrinterTelemetry, Telemetry
from contract.const import Presence
from contract.inventory import DeviceSpec, Inventory
from edge.core.domain import HubContext
from edge.devices import service as devices
from edge.devices.domain import DEVICE_FLUSH_S, SEEN_FIELDS, DevicesDomain
from edge.devices.events import DevicesChanged
from edge.devices.service import StateReport, TelemetryReport
from edge.uplink.events import FactsCommitted
from tests.fast.fakes import RecordingLive
from tests.fast.helpers import NOW, STORE, StoreDb, build, points


@pytest.fixture
def domain(hub_ctx: HubContext) -> DevicesDomain:
    build(hub_ctx, DevicesDomain)  # syncs the inventory into the devices table
    return hub_ctx.get(DevicesDomain)


@pytest.fixture
def facts(hub_ctx: HubContext) -> list[FactsCommitted]:
    heard: list[FactsCommitted] = []
    hub_ctx.bus.subscribe(FactsCommitted, heard.append)
    return heard


def _write(db: StoreDb, domain: DevicesDomain, items: list[Any], now: float) -> None:
    with db.sessions.begin() as s:
        done = domain.write(s, items, now)
    assert done is not None
    done()


def _beat(device: DeviceSpec, at: float, battery_pct: float = 80.0) -> TelemetryReport:
    return TelemetryReport(device, Telemetry(battery_pct=battery_pct, rssi_dbm=-61), at)


def _shown(message: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    return [(d["id"], d["state"], d["alarms"]) for d in message["devices"]]


def test_heartbeats_reach_the_board_at_most_once_a_second(
    domain: DevicesDomain,
    db: StoreDb,
    inventory: Inventory,
    board: RecordingLive,
    facts: list[FactsCommitted],
) -> None:
    btn1, btn2 = inventory.by_id()["btn-001"], inventory.by_id()["btn-002"]
    # First heard of: unknown -> online is a change the board shows at once.
    _write(db, domain, [_beat(btn1, NOW), _beat(btn2, NOW)], NOW)
    [first] = board.messages
    assert first["type"] == "devices"
    assert _shown(first) == [("btn-001", "online", []), ("btn-002", "online", [])]
    assert len(facts) == 1

    # Routine from now on: sent as rows of values, the first at once...
    _write(db, domain, [_beat(btn1, NOW + 0.2, 79.5)], NOW + 0.2)
    # ...then held until a second has passed since, the latest values of each device.
    _write(db, domain, [_beat(btn2, NOW + 0.4, 78.0)], NOW + 0.4)
    _write(db, domain, [_beat(btn1, NOW + 1.0, 79.0)], NOW + 1.0)
    assert len(board.of_type("seen")) == 1
    _write(db, domain, [_beat(btn1, NOW + 1.2, 78.5)], NOW + 0.2 + DEVICE_FLUSH_S)
    seen = board.of_type("seen")
    assert [m["fields"] for m in seen] == [list(SEEN_FIELDS)] * 2
    assert [[(r[0], r[1], r[2]) for r in m["rows"]] for m in seen] == [
        [("btn-001", NOW + 0.2, 79.5)],
        [("btn-002", NOW + 0.4, 78.0), ("btn-001", NOW + 1.2, 78.5)],
    ]
    assert [m["type"] for m in board.messages] == ["devices", "seen", "seen"]
    assert len(facts) == 1  # heartbeats are no news for HQ
    with db.reads() as s:
        lines = points(s)
    assert len(lines) == 6
    assert lines[0] == (
        f"device_telemetry,device=btn-001,store={STORE},type=call_button,zone=A "
        "battery_pct=80,rssi_dbm=-61i,seen=1i 1760000000000000000"
    )


def test_an_alarm_reaches_the_board_and_influxdb_at_once(
    domain: DevicesDomain,
    db: StoreDb,
    inventory: Inventory,
    board: RecordingLive,
    facts: list[FactsCommitted],
) -> None:
    printer = inventory.by_id()["printer-02"]
    _write(db, domain, [StateReport(printer, DeviceState(state=Presence.ONLINE), NOW)], NOW)
    out = TelemetryReport(printer, PrinterTelemetry.model_validate({"paper": "out"}), NOW + 5)
    _write(db, domain, [out], NOW + 5)
    message = board.messages[-1]
    assert _shown(message) == [("printer-02", "online", ["paper_out"])]
    assert [(a["device"], a["kind"], a["label"]) for a in message["raised"]] == [
        ("printer-02", "paper_out", "缺纸 Paper out")
    ]
    assert len(facts) == 2
    with db.reads() as s:
        alarm_id = devices.active_alarms(s)[0].id
        assert points(s)[-1] == (
            f"device_alarms,device=printer-02,kind=paper_out,store={STORE} "
            f"active=1i,alarm_id={alarm_id}i 1760000005000000000"
        )


def test_the_tick_reports_silent_devices(
    domain: DevicesDomain, db: StoreDb, inventory: Inventory, board: RecordingLive
) -> None:
    silent_after = domain.hub.settings.device_silent_after_s
    table = inventory.by_id()["table-001"]
    _write(db, domain, [StateReport(table, DeviceState(state=Presence.ONLINE), NOW)], NOW)
    with db.sessions.begin() as s:
        done = domain.tick(s, NOW + silent_after + 1)
    assert done is not None
    done()
    message = board.messages[-1]
    assert _shown(message) == [("table-001", "offline", ["offline"])]
    assert message["devices"][0]["state_reason"] == "silent"


def test_news_from_outside_the_writer_reaches_the_board(
    domain: DevicesDomain,
    db: StoreDb,
    hub_ctx: HubContext,
    board: RecordingLive,
    facts: list[FactsCommitted],
) -> None:
    # The printing spooler found printer-01 unreachable (edge/printing: set_print_error).
    with db.sessions.begin() as s:
        changes = devices.set_print_error(s, "printer-01", "connection refused", 20.0, NOW)
    hub_ctx.bus.publish(DevicesChanged(changes))
    [message] = board.messages
    assert _shown(message) == [("printer-01", "unknown", ["print_failed"])]
    assert [a["kind"] for a in message["raised"]] == ["print_failed"]
    assert len(facts) == 1


def test_the_board_s_first_message_lists_every_device_with_its_alarms(
    domain: DevicesDomain, db: StoreDb, inventory: Inventory
) -> None:
    _write(db, domain, [_beat(inventory.by_id()["btn-003"], NOW, battery_pct=5.0)], NOW)
    with db.reads() as s:
        snapshot = domain.snapshot(s)
    shown = {d["id"]: (d["state"], d["alarms"]) for d in snapshot["devices"]}
    assert len(shown) == len(inventory.devices) == 10
    assert shown["btn-003"] == ("online", ["battery_low"])
    assert shown["kiosk-01"] == ("unknown", [])
    assert snapshot["alarm_labels"]["battery_low"] == "电量低 Battery low"

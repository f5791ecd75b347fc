"""MQTT ingest: raw messages to the domains' items, or counted and refused
(edge/core/ingest.py; docs/wire-contract.md §7). The routes are the real domains' parsers."""

import logging
from dataclasses import dataclass, field
from typing import Any

import pytest

from contract import Channel, DeviceType, PrinterTelemetry, RejectReason
from contract.inventory import Inventory
from edge.calls.domain import parse_press
from edge.calls.service import Press
from edge.commands.domain import parse_reply
from edge.commands.service import ReplyReport
from edge.core.domain import MqttRoute
from edge.core.ingest import Ingest, RejectCounter, Rejected
from edge.devices.domain import ALL_TYPES, parse_state, parse_telemetry
from edge.devices.service import StateReport, TelemetryReport
from edge.kiosk.domain import KioskOrder, parse_kiosk_order
from tests.fast.helpers import STORE
from tests.support import press_of_size

PRESS = b'{"v":1,"id":"btn-001-e1","reason":"bill"}'


def topic(device_type: str, device: str, channel: str = "event", store: str = STORE) -> str:
    return f"store/{store}/{device_type}/{device}/{channel}"


BTN_EVENT = topic("call_button", "btn-001")


@dataclass
class Wired:
    ingest: Ingest
    rejects: RejectCounter
    written: list[Any] = field(default_factory=list)  # what the store writer was handed
    kiosk: list[Any] = field(default_factory=list)  # the kiosk domain's own sink


@pytest.fixture
def wired(inventory: Inventory) -> Wired:
    rejects = RejectCounter()
    written: list[Any] = []
    kiosk: list[Any] = []
    routes = [
        MqttRoute(
            Channel.EVENT, frozenset({DeviceType.CALL_BUTTON, DeviceType.SMART_TABLE}), parse_press
        ),
        MqttRoute(Channel.STATE, ALL_TYPES, parse_state),
        MqttRoute(Channel.TELEMETRY, ALL_TYPES, parse_telemetry),
        MqttRoute(Channel.REPLY, ALL_TYPES, parse_reply),
        MqttRoute(Channel.EVENT, frozenset({DeviceType.KIOSK}), parse_kiosk_order, kiosk.append),
    ]
    return Wired(Ingest(STORE, inventory, rejects, routes, written.append), rejects, written, kiosk)


def test_a_press_reaches_the_writer(wired: Wired) -> None:
    wired.ingest.handle(BTN_EVENT, PRESS)
    [item] = wired.written
    assert isinstance(item, Press)
    assert (item.device.id, item.device.table, item.event.id, item.event.reason.value) == (
        "btn-001",
        "A1",
        "btn-001-e1",
        "bill",
    )
    assert wired.rejects.counts() == {}


def test_each_channel_goes_to_its_domain(wired: Wired) -> None:
    ingest = wired.ingest
    ingest.handle(topic("printer", "printer-01", "state"), b'{"v":1,"state":"online"}')
    ingest.handle(topic("printer", "printer-01", "telemetry"), b'{"v":1,"paper":"low"}')
    ingest.handle(topic("kiosk", "kiosk-01", "reply"), b'{"v":1,"id":"cmd-00000001","status":"ok"}')
    ingest.handle(topic("smart_table", "table-001"), b'{"v":1,"id":"table-001-e1"}')
    state, telemetry, reply, press = wired.written
    assert isinstance(state, StateReport) and state.state.state.value == "online"
    assert isinstance(telemetry, TelemetryReport)
    assert isinstance(telemetry.telemetry, PrinterTelemetry)  # a printer's heartbeat model
    assert telemetry.telemetry.paper is not None and telemetry.telemetry.paper.value == "low"
    assert isinstance(reply, ReplyReport) and reply.reply.id == "cmd-00000001"
    assert isinstance(press, Press) and press.device.id == "table-001"


def test_a_route_with_its_own_sink_bypasses_the_writer(wired: Wired) -> None:
    order = b'{"v":1,"id":"kiosk-01-o1","type":"order","lines":[{"dish":"rice","qty":2}]}'
    wired.ingest.handle(topic("kiosk", "kiosk-01"), order)
    assert wired.written == []
    [item] = wired.kiosk
    assert isinstance(item, KioskOrder)
    assert (item.event.id, item.event.lines[0].dish, item.event.lines[0].qty) == (
        "kiosk-01-o1",
        "rice",
        2,
    )


def test_a_retained_state_being_cleared_is_nothing_to_do(wired: Wired) -> None:
    wired.ingest.handle(topic("call_button", "btn-001", "state"), b"")
    assert (wired.written, wired.rejects.counts()) == ([], {})


@pytest.mark.parametrize(
    ("where", "payload", "reason"),
    [
        pytest.param(topic("call_button", "btn-999"), PRESS, "unknown_device", id="unknown-device"),
        pytest.param(
            topic("call_button", "btn-001", store="S002"), PRESS, "wrong_store", id="store"
        ),
        pytest.param("store/S001/call_button/btn-001", PRESS, "bad_topic", id="bad-topic"),
        pytest.param("store/S001/toaster/btn-001/event", PRESS, "bad_topic", id="unknown-type"),
        pytest.param(topic("kiosk", "btn-001"), PRESS, "wrong_device_type", id="wrong-type"),
        pytest.param(BTN_EVENT, b'{"v":1,"id":"btn-001-e1"', "bad_json", id="bad-json"),
        pytest.param(BTN_EVENT, b'["v",1]', "bad_json", id="not-an-object"),
        pytest.param(BTN_EVENT, b"\xff\xfe", "bad_json", id="not-utf8"),
        pytest.param(BTN_EVENT, press_of_size(4097), "too_large", id="4097-bytes"),
        pytest.param(BTN_EVENT, b'{"v":2,"id":"x"}', "bad_schema_version", id="v2-short-id"),
        pytest.param(
            topic("call_button", "btn-001", "telemetry"),
            b'{"v":1,"id":"btn-001-t1","battery_pct":150}',
            "invalid_payload",
            id="telemetry-not-an-event",
        ),
    ],
)
def test_refused_and_not_answerable(wired: Wired, where: str, payload: bytes, reason: str) -> None:
    """Counted by reason; no answer: the device is unknown, or it is not an event whose id
    can be read (a payload over 4096 bytes is never parsed, even for its id)."""
    wired.ingest.handle(where, payload)
    assert wired.rejects.counts() == {reason: 1}
    assert wired.written == []


@pytest.mark.parametrize(
    ("where", "payload", "reason"),
    [
        pytest.param(BTN_EVENT, b'{"v":2,"id":"btn-001-e9"}', "bad_schema_version", id="v2"),
        pytest.param(BTN_EVENT, b'{"v":true,"id":"btn-001-e9"}', "bad_schema_version", id="v-true"),
        pytest.param(
            BTN_EVENT, b'{"v":1,"id":"btn-001-e9","reason":"dance"}', "invalid_payload", id="reason"
        ),
        pytest.param(
            BTN_EVENT,
            b'{"v":1,"id":"btn-001-e9","device":"btn-002"}',
            "device_mismatch",
            id="other-device",
        ),
        pytest.param(
            topic("queue_screen", "screen-01"),
            b'{"v":1,"id":"btn-001-e9"}',
            "unsupported_channel",
            id="screens-send-no-events",
        ),
    ],
)
def test_refused_with_a_readable_id_is_answered(
    wired: Wired, where: str, payload: bytes, reason: str
) -> None:
    wired.ingest.handle(where, payload)
    assert wired.rejects.counts() == {reason: 1}
    [rejected] = wired.written
    assert isinstance(rejected, Rejected)
    assert (rejected.event_id, rejected.reason) == ("btn-001-e9", RejectReason(reason))
    assert rejected.device.id == where.split("/")[3]


def test_the_size_limit_is_4096_bytes(wired: Wired) -> None:
    wired.ingest.handle(BTN_EVENT, press_of_size(4096))
    [item] = wired.written
    assert isinstance(item, Press) and item.event.id == "btn-001-a1-1"


def test_rejects_are_counted_by_reason_and_logged_once_per_burst(
    wired: Wired, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="edge.core.ingest"):
        for n in range(3):
            wired.ingest.handle(topic("call_button", f"ghost-{n}"), PRESS)
        wired.ingest.handle(BTN_EVENT, b"{")
    assert wired.rejects.counts() == {"unknown_device": 3, "bad_json": 1}
    assert [r.getMessage().split(" on ")[0] for r in caplog.records] == [
        "rejected unknown_device",
        "rejected bad_json",
    ]
    assert wired.rejects.take_delta() == {"unknown_device": 3, "bad_json": 1}
    wired.ingest.handle(BTN_EVENT, b"{")
    assert wired.rejects.take_delta() == {"bad_json": 1}
    assert wired.rejects.take_delta() == {}
    assert wired.rejects.counts() == {"unknown_device": 3, "bad_json": 2}


def test_two_domains_cannot_claim_the_same_messages(inventory: Inventory) -> None:
    twice = [
        MqttRoute(Channel.EVENT, frozenset({DeviceType.CALL_BUTTON}), parse_press),
        MqttRoute(Channel.EVENT, frozenset({DeviceType.CALL_BUTTON}), parse_press),
    ]
    with pytest.raises(ValueError, match="two domains handle event of call_button"):
        Ingest(STORE, inventory, RejectCounter(), twice, lambda item: None)

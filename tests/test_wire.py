"""The wire contract: what a firmware writer can rely on."""

import pytest

from contract import (
    CallButtonEvent,
    Channel,
    DeviceType,
    RejectReason,
    WireError,
    device_topic,
    parse_payload,
    parse_topic,
    subscriptions,
)
from tests.support import press_of_size


def test_topic_round_trip() -> None:
    topic = device_topic("S1", DeviceType.CALL_BUTTON, "btn-001", Channel.EVENT)
    assert topic == "store/S1/call_button/btn-001/event"
    parsed = parse_topic(topic)
    assert parsed is not None
    assert (parsed.store, parsed.device_type, parsed.device, parsed.channel) == (
        "S1",
        DeviceType.CALL_BUTTON,
        "btn-001",
        Channel.EVENT,
    )


@pytest.mark.parametrize(
    "topic",
    [
        "store/S1/call_button/btn-001",  # too short
        "store/S1/call_button/btn-001/event/x",  # too long
        "shop/S1/call_button/btn-001/event",  # wrong root
        "store/S1/toaster/btn-001/event",  # unknown device type
        "store/S1/call_button/btn-001/gossip",  # unknown channel
        "store/S1/call_button/btn 001/event",  # id outside the id alphabet
        "store/S1/call_button/+/event",  # wildcard as an id
        "store/S1/call_button/btn-001\n/event",  # a trailing newline is not part of an id
    ],
)
def test_topics_outside_the_grammar_are_refused(topic: str) -> None:
    assert parse_topic(topic) is None


def test_hub_subscribes_to_device_channels_only() -> None:
    # docs/wire-contract.md §1: what devices send, never what the hub sends them (ack, cmd).
    assert sorted(subscriptions("S1")) == [
        "store/S1/+/+/event",
        "store/S1/+/+/reply",
        "store/S1/+/+/state",
        "store/S1/+/+/telemetry",
    ]


def test_press_parses_with_defaults() -> None:
    event = parse_payload(b'{"v":1,"id":"btn-001-a1-1"}', CallButtonEvent)
    assert event.type == "press"
    assert event.reason == "service"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", RejectReason.BAD_JSON),
        (b"\xff\xfe", RejectReason.BAD_JSON),
        (b"[1,2]", RejectReason.BAD_JSON),
        (b'{"id":"btn-001-a1-1"}', RejectReason.BAD_SCHEMA_VERSION),
        (b'{"v":2,"id":"btn-001-a1-1"}', RejectReason.BAD_SCHEMA_VERSION),
        (b'{"v":"1","id":"btn-001-a1-1"}', RejectReason.BAD_SCHEMA_VERSION),
        (b'{"v":true,"id":"btn-001-a1-1"}', RejectReason.BAD_SCHEMA_VERSION),
        (b'{"v":1.0,"id":"btn-001-a1-1"}', RejectReason.BAD_SCHEMA_VERSION),
        (b'{"v":1,"id":"btn-001-a1-1","ts_ms":"5"}', RejectReason.INVALID_PAYLOAD),
        (b'{"v":1,"id":12345678}', RejectReason.INVALID_PAYLOAD),
        (b'{"v":1}', RejectReason.INVALID_PAYLOAD),
        (b'{"v":1,"id":"short"}', RejectReason.INVALID_PAYLOAD),
        (b'{"v":1,"id":"btn-001-a1-1","reason":"dance"}', RejectReason.INVALID_PAYLOAD),
        (b'{"v":1,"id":"btn-001-a1-1","ts_ms":-5}', RejectReason.INVALID_PAYLOAD),
    ],
)
def test_bad_payloads_name_their_reason(raw: bytes, reason: RejectReason) -> None:
    with pytest.raises(WireError) as err:
        parse_payload(raw, CallButtonEvent)
    assert err.value.reason is reason


def test_a_payload_of_4096_bytes_is_read_and_4097_is_refused() -> None:
    """docs/wire-contract.md §4: at most 4096 bytes; exactly 4096 is accepted."""
    event = parse_payload(press_of_size(4096), CallButtonEvent)
    assert (event.id, event.type, event.reason) == ("btn-001-a1-1", "press", "service")
    with pytest.raises(WireError) as err:
        parse_payload(press_of_size(4097), CallButtonEvent)
    assert err.value.reason is RejectReason.TOO_LARGE


def test_an_oversized_payload_is_refused_before_parsing() -> None:
    # Not even JSON: refused for its size, not for its content.
    with pytest.raises(WireError) as err:
        parse_payload(b"{" * 4097, CallButtonEvent)
    assert err.value.reason is RejectReason.TOO_LARGE


def test_generated_zones_go_past_z() -> None:
    from contract.inventory import generate_inventory

    inv = generate_inventory("S1", tables=300)
    zones = [d.zone for d in inv.devices]
    assert zones[0] == "A" and zones[259] == "Z" and zones[260] == "AA" and zones[-1] == "AD"
    assert len({d.table for d in inv.devices}) == 300

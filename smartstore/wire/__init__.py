"""The one wire contract between devices and the hub: topics, payloads, limits.

Firmware writers read docs/wire-contract.md; code imports from here.
"""

from smartstore.wire.const import SCHEMA_VERSION, Channel, DeviceType, RejectReason
from smartstore.wire.payloads import (
    CallButtonEvent,
    DeviceState,
    EventAck,
    HubState,
    Telemetry,
    WireError,
    encode,
    parse_payload,
)
from smartstore.wire.topics import Topic, device_topic, hub_state_topic, parse_topic, subscriptions

__all__ = [
    "SCHEMA_VERSION",
    "CallButtonEvent",
    "Channel",
    "DeviceState",
    "DeviceType",
    "EventAck",
    "HubState",
    "RejectReason",
    "Telemetry",
    "Topic",
    "WireError",
    "device_topic",
    "encode",
    "hub_state_topic",
    "parse_payload",
    "parse_topic",
    "subscriptions",
]

"""The one wire contract between devices and the hub: topics, payloads, limits.

Firmware writers read docs/wire-contract.md; code imports from here.
"""

from contract.const import SCHEMA_VERSION, Channel, DeviceType, RejectReason
from contract.payloads import (
    CallButtonEvent,
    Command,
    CommandReply,
    DeviceState,
    EventAck,
    HubState,
    KioskMenu,
    KioskOrderEvent,
    KioskOrderLine,
    PrinterTelemetry,
    ReadyBoard,
    Telemetry,
    WireError,
    encode,
    parse_payload,
    telemetry_model,
)
from contract.topics import (
    Topic,
    device_topic,
    hub_state_topic,
    menu_topic,
    parse_topic,
    ready_topic,
    subscriptions,
)

__all__ = [
    "SCHEMA_VERSION",
    "CallButtonEvent",
    "Channel",
    "Command",
    "CommandReply",
    "DeviceState",
    "DeviceType",
    "EventAck",
    "HubState",
    "KioskMenu",
    "KioskOrderEvent",
    "KioskOrderLine",
    "PrinterTelemetry",
    "ReadyBoard",
    "RejectReason",
    "Telemetry",
    "Topic",
    "WireError",
    "device_topic",
    "encode",
    "hub_state_topic",
    "menu_topic",
    "parse_payload",
    "parse_topic",
    "ready_topic",
    "subscriptions",
    "telemetry_model",
]

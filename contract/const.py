"""Every topic word, payload literal and limit of the wire contract, in one place."""

from enum import StrEnum
from typing import Final

SCHEMA_VERSION: Final = 1
TOPIC_ROOT: Final = "store"
HUB_SEGMENT: Final = "hub"

# A payload larger than this is refused by the hub (counted, logged). The broker's own limit
# (BROKER_MAX_PACKET) is larger so that oversized payloads reach the hub and get counted
# instead of silently disappearing at the broker.
MAX_PAYLOAD_BYTES: Final = 4096
BROKER_MAX_PACKET: Final = 65536

# Ids are short ASCII so that they fit in topic segments, firmware buffers and log lines.
ID_PATTERN: Final = r"^[A-Za-z0-9_-]{1,32}$"
EVENT_ID_PATTERN: Final = r"^[A-Za-z0-9_.:-]{8,64}$"

QOS_STATE: Final = 1
QOS_TELEMETRY: Final = 0
QOS_EVENT: Final = 1
QOS_ACK: Final = 1
QOS_CMD: Final = 1
QOS_REPLY: Final = 1


class DeviceType(StrEnum):
    CALL_BUTTON = "call_button"
    SMART_TABLE = "smart_table"
    KIOSK = "kiosk"
    QUEUE_SCREEN = "queue_screen"
    PRINTER = "printer"


class Channel(StrEnum):
    STATE = "state"  # device -> hub, retained, set "offline" by the device's Last Will
    TELEMETRY = "telemetry"  # device -> hub, QoS 0, periodic
    EVENT = "event"  # device -> hub, QoS 1, carries an id; resent until acknowledged
    ACK = "ack"  # hub -> device, QoS 1, the event's id once it is stored
    CMD = "cmd"  # hub -> device, QoS 1, carries an id
    REPLY = "reply"  # device -> hub, answers a cmd by its id


class Presence(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class EventType(StrEnum):
    PRESS = "press"
    ORDER = "order"  # a kiosk's order; the ack carries the order's number and total
    QUEUE_TAKE = "queue_take"  # a kiosk takes a waitlist number; the ack carries it


READY_SEGMENT: Final = "ready"  # store/{store}/hub/ready: retained numbers the screens show
WAITLIST_SEGMENT: Final = "waitlist"  # store/{store}/hub/waitlist: retained WaitlistBoard
MENU_SEGMENT: Final = "menu"  # store/{store}/hub/menu: retained menu and sold-out marks for kiosks
# The kiosk menu is one retained message from the hub. mosquitto disconnects a client that sends
# a packet over BROKER_MAX_PACKET (the hub too), so the hub refuses to publish a larger one.
KIOSK_MENU_MAX_BYTES: Final = 60_000
# Kiosk orders go at QoS 0 (docs/wire-contract.md, KioskOrderEvent): the broker never parks a
# copy for the hub while it is away, so an order the kiosk gave up on cannot arrive later.
QOS_KIOSK_ORDER: Final = 0
# A kiosk order is one MQTT message; its limits keep it under MAX_PAYLOAD_BYTES.
KIOSK_ORDER_MAX_LINES: Final = 30
KIOSK_NOTE_MAX: Final = 140
MEMBER_CODE_MAX: Final = 128


class CallReason(StrEnum):
    SERVICE = "service"
    BILL = "bill"
    WATER = "water"


class AckStatus(StrEnum):
    OK = "ok"
    REJECTED = "rejected"


class ReplyStatus(StrEnum):
    OK = "ok"
    ERROR = "error"


class CommandName(StrEnum):
    LOCATE = "locate"  # blink / beep so staff can find the device; args: seconds (1..60)
    DISPLAY = "display"  # show a line of text; args: text (1..64 characters)
    REBOOT = "reboot"  # reply first, then restart


class PaperLevel(StrEnum):
    OK = "ok"
    LOW = "low"
    OUT = "out"


class CoverState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"


# Which device types may send presses (a call, the bill) on their event topic.
PRESS_SENDERS: Final = frozenset({DeviceType.CALL_BUTTON, DeviceType.SMART_TABLE})

# Which commands each device type understands.
COMMANDS: Final[dict[DeviceType, frozenset[CommandName]]] = {
    DeviceType.CALL_BUTTON: frozenset({CommandName.LOCATE, CommandName.REBOOT}),
    DeviceType.SMART_TABLE: frozenset(
        {CommandName.LOCATE, CommandName.DISPLAY, CommandName.REBOOT}
    ),
    DeviceType.KIOSK: frozenset({CommandName.LOCATE, CommandName.DISPLAY, CommandName.REBOOT}),
    DeviceType.QUEUE_SCREEN: frozenset(
        {CommandName.LOCATE, CommandName.DISPLAY, CommandName.REBOOT}
    ),
    DeviceType.PRINTER: frozenset({CommandName.LOCATE, CommandName.REBOOT}),
}
DISPLAY_TEXT_MAX: Final = 64
LOCATE_SECONDS_MAX: Final = 60


class RejectReason(StrEnum):
    """Why the hub refused a message; each is counted and logged."""

    TOO_LARGE = "too_large"
    BAD_JSON = "bad_json"
    BAD_SCHEMA_VERSION = "bad_schema_version"
    INVALID_PAYLOAD = "invalid_payload"
    BAD_TOPIC = "bad_topic"
    WRONG_STORE = "wrong_store"
    UNKNOWN_DEVICE = "unknown_device"
    WRONG_DEVICE_TYPE = "wrong_device_type"
    DEVICE_MISMATCH = "device_mismatch"
    UNSUPPORTED_CHANNEL = "unsupported_channel"

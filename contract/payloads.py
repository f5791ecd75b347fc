"""Payload models. Every payload carries the schema version `v`."""

import json
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contract.const import (
    EVENT_ID_PATTERN,
    ID_PATTERN,
    KIOSK_NOTE_MAX,
    KIOSK_ORDER_MAX_LINES,
    MAX_PAYLOAD_BYTES,
    MEMBER_CODE_MAX,
    SCHEMA_VERSION,
    AckStatus,
    CallReason,
    CommandName,
    CoverState,
    DeviceType,
    EventType,
    PaperLevel,
    Presence,
    RejectReason,
    ReplyStatus,
)
from contract.menu import MenuFile
from contract.waitlist import GROUP_PATTERN, RECENT_CALLED

EventId = Annotated[str, Field(pattern=EVENT_ID_PATTERN)]
DeviceId = Annotated[str, Field(pattern=ID_PATTERN)]
# Device clocks may be unset (ESP32 before SNTP); 0 or absent means "unknown".
TimestampMs = Annotated[int, Field(ge=0, le=2**53)]


class WireError(Exception):
    def __init__(self, reason: RejectReason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    v: Literal[1] = SCHEMA_VERSION


class FromDevice(_Payload):
    # Optional in every device -> hub payload; when present it must name the device the topic
    # names, or the hub refuses the message (device_mismatch).
    device: DeviceId | None = None


class DeviceState(FromDevice):
    state: Presence
    ts_ms: TimestampMs | None = None
    fw: str | None = Field(default=None, max_length=32)


class HubState(_Payload):
    state: Presence
    ts_ms: TimestampMs | None = None


class Telemetry(FromDevice):
    ts_ms: TimestampMs | None = None
    battery_pct: float | None = Field(default=None, ge=0, le=100)
    rssi_dbm: int | None = Field(default=None, ge=-130, le=0)
    fw: str | None = Field(default=None, max_length=32)
    uptime_s: int | None = Field(default=None, ge=0)


class PrinterTelemetry(Telemetry):
    """A printer bridge's heartbeat: the bridge's own health plus the printer's."""

    paper: PaperLevel | None = None
    cover: CoverState | None = None
    printer_online: bool | None = None


class CallButtonEvent(FromDevice):
    """A press on a call button or a smart table: call staff, ask for the bill, water."""

    id: EventId
    type: EventType = EventType.PRESS
    reason: CallReason = CallReason.SERVICE
    ts_ms: TimestampMs | None = None


class KioskOrderLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    dish: str = Field(max_length=64)
    qty: int = Field(ge=-(2**31), le=2**31)  # the hub refuses out-of-range with a message
    options: dict[str, str] = Field(default_factory=dict, max_length=16)
    note: str = Field(default="", max_length=KIOSK_NOTE_MAX)


class KioskOrderEvent(FromDevice):
    """A kiosk's order. `id` is made on the kiosk and is the order's idempotency key: the
    kiosk resends it until acked, and a resend finds the same order."""

    id: EventId
    type: Literal["order"]
    lines: list[KioskOrderLine] = Field(max_length=KIOSK_ORDER_MAX_LINES)
    note: str = Field(default="", max_length=KIOSK_NOTE_MAX)
    member: str | None = Field(default=None, max_length=MEMBER_CODE_MAX)  # a scanned QR code
    ts_ms: TimestampMs | None = None


class EventAck(_Payload):
    """The reply to an event (zigbee2mqtt's envelope): its id, ok or rejected, why, and for an
    order its number and total (`data`)."""

    id: EventId
    status: AckStatus
    error: str | None = None
    data: dict[str, str | int] | None = None


class ReadyBoard(_Payload):
    """Retained on store/{store}/hub/ready: order numbers ready for pick-up, newest first."""

    ready: list[int] = Field(max_length=50)
    ts_ms: TimestampMs | None = None


class QueueTakeEvent(FromDevice):
    """A kiosk takes a number for a party, on its event topic. `id` is made on the kiosk and
    is the idempotency key: a resend gets the same number. Acked with `EventAck` whose data
    has `number`, `group`, `ahead`, `est_low_min`, `est_high_min` and `token` (the phone page
    of this number: /w/{token})."""

    id: EventId
    type: Literal["queue_take"]
    party: int = Field(ge=-(2**31), le=2**31)  # the hub refuses out-of-range with a message
    ts_ms: TimestampMs | None = None


class GroupBoard(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    group: str = Field(pattern=GROUP_PATTERN)
    name_zh: str
    name_en: str
    calling: str | None = None  # the number called last, until it is seated or skipped
    recent: list[str] = Field(default_factory=list, max_length=RECENT_CALLED)
    waiting: int = Field(default=0, ge=0)
    est_low_min: int | None = None  # the wait of a party joining now
    est_high_min: int | None = None


class WaitlistBoard(_Payload):
    """Retained on store/{store}/hub/waitlist (hub -> queue screens): per group the number
    being called, the last few called, how many wait and the estimated wait. `call_seq` grows
    by one with every call (a repeat too), so a screen announces a call exactly once, and a
    screen that reconnects does not announce an old one (`called_at_ms`)."""

    groups: list[GroupBoard] = Field(default_factory=list, max_length=26)
    call_seq: int = Field(default=0, ge=0)
    called: str | None = None  # the number of the latest call
    called_at_ms: int | None = None
    ts_ms: int | None = None


class KioskMenu(_Payload):
    """Retained on store/{store}/hub/menu (hub -> kiosks): what a kiosk may sell right now.
    Pictures are files the hub serves at /media/{dish.picture}. At most KIOSK_MENU_MAX_BYTES."""

    menu: MenuFile
    sold_out: list[str] = Field(default_factory=list, max_length=1000)
    store_name: str = Field(default="", max_length=40)
    ts_ms: TimestampMs | None = None


class Command(_Payload):
    """Hub -> device on `cmd`. The device answers on `reply` with the same id."""

    id: EventId
    name: CommandName
    args: dict[str, str | int] = Field(default_factory=dict, max_length=8)
    ts_ms: TimestampMs | None = None


class CommandReply(FromDevice):
    id: EventId
    status: ReplyStatus
    error: str | None = Field(default=None, max_length=200)


def telemetry_model(device_type: DeviceType) -> type[Telemetry]:
    return PrinterTelemetry if device_type is DeviceType.PRINTER else Telemetry


P = TypeVar("P", bound=_Payload)


def parse_payload(raw: bytes, model: type[P], max_bytes: int = MAX_PAYLOAD_BYTES) -> P:
    """Decode one MQTT payload, or raise WireError with the reason the hub counts.

    `max_bytes`: MAX_PAYLOAD_BYTES for everything a device sends; KIOSK_MENU_MAX_BYTES for
    the one larger message the hub sends (KioskMenu)."""
    if len(raw) > max_bytes:
        raise WireError(RejectReason.TOO_LARGE, f"{len(raw)} bytes > {max_bytes}")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(RejectReason.BAD_JSON, str(exc)[:120]) from None
    if not isinstance(data, dict):
        raise WireError(RejectReason.BAD_JSON, "payload is not a JSON object")
    version = data.get("v")
    # type() and not ==: true and 1.0 equal 1 in Python but are not schema version 1.
    if type(version) is not int or version != SCHEMA_VERSION:
        raise WireError(RejectReason.BAD_SCHEMA_VERSION, f"v={version!r}")
    try:
        # Strict: "5" is not a number and true is not an integer, whatever Python would coerce.
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise WireError(RejectReason.INVALID_PAYLOAD, f"{where}: {first['msg']}") from None


def encode(payload: _Payload) -> bytes:
    return payload.model_dump_json(exclude_none=True).encode()

"""Turn raw MQTT messages into validated reports, or count and log why not.

Nothing here touches the database: valid reports go to a sink (the StoreWriter), so a flood of
bad input costs parsing only and never a transaction.
"""

import json
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from edge.calls.service import Press
from edge.commands.service import ReplyReport
from edge.devices.service import StateReport, TelemetryReport
from edge.inventory import DeviceSpec, Inventory
from edge.orders.desk import KioskOrder
from smartstore.wire import (
    CallButtonEvent,
    Channel,
    CommandReply,
    DeviceState,
    KioskOrderEvent,
    RejectReason,
    WireError,
    parse_payload,
    parse_topic,
    telemetry_model,
)
from smartstore.wire.const import EVENT_ID_PATTERN, MAX_PAYLOAD_BYTES, PRESS_SENDERS, DeviceType
from smartstore.wire.payloads import FromDevice

log = logging.getLogger(__name__)

Report = Press | StateReport | TelemetryReport | ReplyReport
F = TypeVar("F", bound=FromDevice)

_EVENT_ID = re.compile(EVENT_ID_PATTERN)


@dataclass(frozen=True, slots=True)
class Rejected:
    """An event the hub refused, from a known device, with an id it can answer."""

    device: DeviceSpec
    event_id: str
    reason: RejectReason


class RejectCounter:
    """Counts refused messages by reason; logs each one (throttled per reason)."""

    LOG_EVERY_S = 5.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._reported: Counter[str] = Counter()
        self._last_log: dict[str, float] = {}
        self._suppressed: Counter[str] = Counter()

    def add(self, reason: RejectReason, topic: str, detail: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._counts[reason.value] += 1
            if now - self._last_log.get(reason.value, 0.0) < self.LOG_EVERY_S:
                self._suppressed[reason.value] += 1
                return
            self._last_log[reason.value] = now
            suppressed = self._suppressed.pop(reason.value, 0)
        more = f" (+{suppressed} more since last log)" if suppressed else ""
        log.warning("rejected %s on %r: %s%s", reason.value, topic[:200], detail[:200], more)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def take_delta(self) -> dict[str, int]:
        """Counts since the last call, for InfluxDB."""
        with self._lock:
            delta = self._counts - self._reported
            self._reported = self._counts.copy()
        return dict(delta)


class Ingest:
    def __init__(
        self,
        store: str,
        inventory: Inventory,
        rejects: RejectCounter,
        sink: Callable[[Report | Rejected], None],
        kiosk_sink: Callable[[KioskOrder], None],
    ) -> None:
        self._store = store
        self._devices = inventory.by_id()
        self._rejects = rejects
        self._sink = sink
        self._kiosk_sink = kiosk_sink

    def handle(self, topic: str, payload: bytes) -> None:
        try:
            report = self._parse(topic, payload)
        except WireError as err:
            self._rejects.add(err.reason, topic, err.detail)
            rejected = self._answerable(topic, payload, err.reason)
            if rejected is not None:
                self._sink(rejected)
            return
        if isinstance(report, KioskOrder):
            self._kiosk_sink(report)
        elif report is not None:
            self._sink(report)

    def _parse(self, topic: str, payload: bytes) -> Report | KioskOrder | None:
        now = time.time()
        device = self._device_for(topic)
        channel = topic.rsplit("/", 1)[1]
        report: Report
        if channel == Channel.EVENT and device.type is DeviceType.KIOSK:
            return KioskOrder(
                device, self._checked(device, parse_payload(payload, KioskOrderEvent)), now
            )
        if channel == Channel.EVENT:
            if device.type not in PRESS_SENDERS:
                raise WireError(RejectReason.UNSUPPORTED_CHANNEL, f"no events from {device.type}")
            event = self._checked(device, parse_payload(payload, CallButtonEvent))
            report = Press(device, event, now)
        elif channel == Channel.TELEMETRY:
            telemetry = parse_payload(payload, telemetry_model(device.type))
            report = TelemetryReport(device, self._checked(device, telemetry), now)
        elif channel == Channel.STATE:
            if not payload:  # a retained state being cleared
                return None
            state = self._checked(device, parse_payload(payload, DeviceState))
            report = StateReport(device, state, now)
        elif channel == Channel.REPLY:
            reply = self._checked(device, parse_payload(payload, CommandReply))
            report = ReplyReport(device, reply, now)
        else:
            raise WireError(RejectReason.UNSUPPORTED_CHANNEL, channel)
        return report

    @staticmethod
    def _checked(device: DeviceSpec, payload: F) -> F:
        if payload.device is not None and payload.device != device.id:
            raise WireError(
                RejectReason.DEVICE_MISMATCH,
                f"payload names {payload.device!r}, topic names {device.id!r}",
            )
        return payload

    def _device_for(self, topic: str) -> DeviceSpec:
        parsed = parse_topic(topic)
        if parsed is None:
            raise WireError(RejectReason.BAD_TOPIC, "topic does not follow the grammar")
        if parsed.store != self._store:
            raise WireError(RejectReason.WRONG_STORE, parsed.store)
        device = self._devices.get(parsed.device)
        if device is None:
            raise WireError(RejectReason.UNKNOWN_DEVICE, parsed.device)
        if device.type is not parsed.device_type:
            raise WireError(
                RejectReason.WRONG_DEVICE_TYPE,
                f"{parsed.device} is a {device.type.value}, not a {parsed.device_type.value}",
            )
        return device

    def _answerable(self, topic: str, payload: bytes, reason: RejectReason) -> Rejected | None:
        """A refused event from a known device whose id we can read gets a 'rejected' ack,
        so that the device stops resending something that will never be accepted."""
        if not topic.endswith("/" + Channel.EVENT) or len(payload) > MAX_PAYLOAD_BYTES:
            return None
        try:
            device = self._device_for(topic)
            data = json.loads(payload)
        except (WireError, ValueError):
            return None
        event_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(event_id, str) or not _EVENT_ID.match(event_id):
            return None
        return Rejected(device, event_id, reason)

"""Turn raw MQTT messages into validated items for the domains, or count and log why not.

Nothing here touches the database: valid items go to their domain's sink (most to the store
writer), so a flood of bad input costs parsing only and never a transaction. Which domain
gets what is declared by the domains (`MqttRoute`); this module knows none of them.
"""

import json
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from contract import Channel, RejectReason, WireError, parse_topic
from contract.const import EVENT_ID_PATTERN, MAX_PAYLOAD_BYTES, DeviceType
from contract.inventory import DeviceSpec, Inventory
from contract.payloads import FromDevice
from edge.core.domain import MqttRoute

log = logging.getLogger(__name__)

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


def checked(device: DeviceSpec, payload: F) -> F:
    """A payload that names a device must name the one its topic names."""
    if payload.device is not None and payload.device != device.id:
        raise WireError(
            RejectReason.DEVICE_MISMATCH,
            f"payload names {payload.device!r}, topic names {device.id!r}",
        )
    return payload


class Ingest:
    def __init__(
        self,
        store: str,
        inventory: Inventory,
        rejects: RejectCounter,
        routes: Iterable[MqttRoute],
        writer: Callable[[Any], None],
    ) -> None:
        self._store = store
        self._devices = inventory.by_id()
        self._rejects = rejects
        self._writer = writer
        self._routes: dict[tuple[str, DeviceType], MqttRoute] = {}
        for route in routes:
            for device_type in route.device_types:
                key = (route.channel.value, device_type)
                if key in self._routes:
                    raise ValueError(f"two domains handle {route.channel.value} of {device_type}")
                self._routes[key] = route

    def handle(self, topic: str, payload: bytes) -> None:
        try:
            device = self._device_for(topic)
            channel = topic.rsplit("/", 1)[1]
            route = self._routes.get((channel, device.type))
            if route is None:
                raise WireError(
                    RejectReason.UNSUPPORTED_CHANNEL, f"no {channel} from {device.type.value}"
                )
            item = route.parse(device, payload, time.time())
        except WireError as err:
            self._rejects.add(err.reason, topic, err.detail)
            rejected = self._answerable(topic, payload)
            if rejected is not None:
                self._writer(Rejected(rejected[0], rejected[1], err.reason))
            return
        if item is not None:
            (route.sink or self._writer)(item)

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

    def _answerable(self, topic: str, payload: bytes) -> tuple[DeviceSpec, str] | None:
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
        return device, event_id

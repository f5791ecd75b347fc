"""Recording stand-ins for where the hub publishes: the broker connection and the live feeds.

The fast tier runs no broker and no browser: these keep what the hub would have sent, so a
test asserts the exact acks, topics and board messages.
"""

import json
import threading
from dataclasses import dataclass
from typing import Any

from contract import Channel, DeviceType, device_topic
from contract.const import QOS_ACK
from edge.live import LiveHub
from edge.mqtt import HubMqtt


@dataclass(frozen=True, slots=True)
class Published:
    topic: str
    payload: bytes
    qos: int
    retain: bool

    def json(self) -> Any:
        return json.loads(self.payload)


class RecordingMqtt(HubMqtt):
    """The hub's MQTT connection without a broker: every publish is kept, in order.

    It does not call HubMqtt.__init__ on purpose: that builds a paho client (and its socket
    pair) that a fast test never connects.
    """

    def __init__(self, store: str) -> None:
        self.store = store
        self.connected = threading.Event()
        self._lock = threading.Lock()
        self._published: list[Published] = []

    def start(self) -> None:
        self.connected.set()

    def stop(self) -> None:
        self.connected.clear()

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool = False) -> None:
        with self._lock:
            self._published.append(Published(topic, payload, qos, retain))

    def publish_ack(self, device_type: DeviceType, device: str, payload: bytes) -> None:
        self.publish(device_topic(self.store, device_type, device, Channel.ACK), payload, QOS_ACK)

    @property
    def published(self) -> list[Published]:
        with self._lock:
            return list(self._published)

    def acks(self) -> list[tuple[str, dict[str, Any]]]:
        """(device, ack payload) for every ack sent, in order."""
        suffix = "/" + Channel.ACK.value
        return [
            (p.topic.split("/")[3], p.json()) for p in self.published if p.topic.endswith(suffix)
        ]


class RecordingLive(LiveHub):
    """A live feed (the staff board, the diners' phones) that keeps every message."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._messages: list[tuple[dict[str, Any], str | None]] = []

    def publish(self, message: dict[str, Any], key: str | None = None) -> None:
        # As the real one does, the message must survive JSON (it goes over a WebSocket).
        text = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
        with self._lock:
            self._messages.append((json.loads(text), key))

    @property
    def messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m, _ in self._messages]

    @property
    def keyed(self) -> list[tuple[dict[str, Any], str | None]]:
        """(message, key) in order: a key is who hears it (a table's phones), None is all."""
        with self._lock:
            return list(self._messages)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == kind]

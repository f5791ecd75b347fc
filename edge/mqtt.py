"""The hub's MQTT connection: its Last Will, its subscriptions, and its publishes."""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from contract import (
    Channel,
    DeviceType,
    HubState,
    device_topic,
    encode,
    hub_state_topic,
    subscriptions,
)
from contract.const import QOS_ACK, QOS_EVENT, QOS_STATE, Presence
from contract.mqtt import set_nodelay, use_tls

log = logging.getLogger(__name__)


class HubMqtt:
    def __init__(
        self,
        store: str,
        host: str,
        port: int,
        username: str,
        password: str,
        on_message: Callable[[str, bytes], None],
        ca_pem: str | None = None,
    ) -> None:
        self._store = store
        self._host = host
        self._port = port
        self._on_message = on_message
        self.connected = threading.Event()
        # A fixed client id and a persistent session: while the hub restarts, the broker keeps
        # the QoS 1 events addressed to it and delivers them when it is back.
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"hub-{store}",
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        self._client.username_pw_set(username, password)
        use_tls(self._client, ca_pem)
        self._client.max_inflight_messages_set(200)
        self._client.max_queued_messages_set(0)
        self._client.will_set(
            hub_state_topic(store), encode(HubState(state=Presence.OFFLINE)), QOS_STATE, True
        )
        self._client.on_connect = self._connected
        self._client.on_disconnect = self._disconnected
        self._client.on_message = self._message
        self._client.reconnect_delay_set(1, 10)

    def start(self) -> None:
        self._client.connect_async(self._host, self._port, keepalive=15)
        self._client.loop_start()

    def stop(self) -> None:
        # A clean stop says "offline" itself: the Last Will only fires on an unclean loss.
        info = self._client.publish(
            hub_state_topic(self._store),
            encode(HubState(state=Presence.OFFLINE, ts_ms=int(time.time() * 1000))),
            QOS_STATE,
            retain=True,
        )
        if self.connected.is_set():
            info.wait_for_publish(timeout=2)
        self._client.disconnect()
        self._client.loop_stop()

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool = False) -> None:
        self._client.publish(topic, payload, qos, retain)

    def publish_ack(self, device_type: DeviceType, device: str, payload: bytes) -> None:
        topic = device_topic(self._store, device_type, device, Channel.ACK)
        self._client.publish(topic, payload, QOS_ACK)

    def _connected(self, client: mqtt.Client, _ud: Any, _flags: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            log.error("broker refused the hub: %s", rc)
            return
        set_nodelay(client)
        client.subscribe([(t, QOS_EVENT) for t in subscriptions(self._store)])
        client.publish(
            hub_state_topic(self._store),
            encode(HubState(state=Presence.ONLINE, ts_ms=int(time.time() * 1000))),
            QOS_STATE,
            retain=True,
        )
        log.info("hub connected to the broker at %s:%s", self._host, self._port)
        self.connected.set()

    def _disconnected(self, _c: mqtt.Client, _ud: Any, _f: Any, rc: Any, _p: Any) -> None:
        self.connected.clear()
        if rc != 0:
            log.warning("hub lost the broker (%s); reconnecting", rc)

    def _message(self, _c: mqtt.Client, _ud: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            self._on_message(msg.topic, bytes(msg.payload))
        except Exception:
            # One bad message must never take the ingest thread down.
            log.exception("unexpected error handling an MQTT message")

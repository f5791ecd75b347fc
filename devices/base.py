"""What every device does on the wire: presence with a Last Will, telemetry, commands, and
events that are resent until the hub acknowledges them. Device types add their own messages.

The simulators (`smartstore simulate`, the fleet) and the device apps (devices/apps/: the
kiosk and queue screen a store installs) both run on this class; an app gives its own client
id, keepalive and firmware version from its config and reports real telemetry."""

import logging
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from contract import (
    Channel,
    Command,
    CommandReply,
    DeviceState,
    DeviceType,
    EventAck,
    Telemetry,
    WireError,
    device_topic,
    encode,
    parse_payload,
)
from contract.const import (
    COMMANDS,
    QOS_ACK,
    QOS_CMD,
    QOS_EVENT,
    QOS_REPLY,
    QOS_STATE,
    QOS_TELEMETRY,
    AckStatus,
    CommandName,
    Presence,
    ReplyStatus,
)
from contract.mqtt import set_nodelay, use_tls
from devices.loop import DeviceLoop

log = logging.getLogger(__name__)

FIRMWARE = "sim-0.1.0"
KEEPALIVE_S = 15
RESEND_FIRST_S = 2.0
RESEND_MAX_S = 30.0
RECONNECT_S = 1.0

AckHandler = Callable[["SimDevice", EventAck, float], None]


@dataclass(slots=True)
class Pending:
    payload: bytes
    first_sent: float
    next_send: float
    attempts: int
    qos: int = QOS_EVENT


class SimDevice:
    device_type: ClassVar[DeviceType]
    # Longest wait between two sends of an unacknowledged event (a kiosk, with a diner
    # waiting in front of it, uses a shorter one).
    resend_max_s: ClassVar[float] = RESEND_MAX_S

    def __init__(
        self,
        loop: DeviceLoop,
        store: str,
        device_id: str,
        password: str,
        host: str,
        port: int,
        *,
        telemetry_every_s: float = 30.0,
        on_ack: AckHandler | None = None,
        client_id: str | None = None,
        keepalive_s: int = KEEPALIVE_S,
        firmware: str = FIRMWARE,
        ca_pem: str | None = None,
    ) -> None:
        """`ca_pem`: the store CA; given, the device connects over TLS (to the broker's TLS
        port) and accepts only a broker certificate the store CA signed."""
        self.loop = loop
        self.store = store
        self.id = device_id
        self.telemetry_every_s = telemetry_every_s
        self.on_ack = on_ack
        self.pending: dict[str, Pending] = {}
        self.acked = 0
        self.rejected = 0
        self.resent = 0
        self.connected = False
        self.frozen = False
        self.last_report_at = 0.0  # wall clock of the last heartbeat sent
        self.locating_until = 0.0
        self.display_text = ""
        self.reboots = 0
        self.commands: list[Command] = []
        self.battery_pct = random.uniform(60, 100)
        self.firmware = firmware
        self._host = host
        self._port = port
        self._keepalive_s = keepalive_s
        self._boot = secrets.token_hex(3)
        self._seq = 0
        self._started = time.monotonic()
        self._stopped = False
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"{store}-{device_id}",
            clean_session=True,
        )
        self.client.username_pw_set(device_id, password)
        use_tls(self.client, ca_pem)
        self.client.will_set(
            self.topic(Channel.STATE), encode(DeviceState(state=Presence.OFFLINE)), QOS_STATE, True
        )
        self.client.on_connect = self._connected
        self.client.on_disconnect = self._disconnected
        self.client.on_message = self._message
        loop.attach(self.client)

    def topic(self, channel: Channel) -> str:
        return device_topic(self.store, self.device_type, self.id, channel)

    def next_event_id(self) -> str:
        # Made on the device, unique across its reboots: id, boot nonce, counter.
        self._seq += 1
        return f"{self.id}-{self._boot}-{self._seq}"

    # All of the following run on the loop's thread.
    def start(self) -> None:
        try:
            self.client.connect(self._host, self._port, keepalive=self._keepalive_s)
        except OSError as exc:
            log.warning("%s cannot reach the broker (%s); retrying", self.id, exc)
            self.loop.call_later(RECONNECT_S, self._reconnect)
        self.loop.call_later(random.uniform(0, self.telemetry_every_s), self._telemetry_tick)
        self.loop.call_later(RESEND_FIRST_S / 2, self._resend_tick)

    def stop(self, clean: bool = True) -> None:
        """clean=False drops the connection without a goodbye, so the broker fires the Will."""
        self._stopped = True
        if clean:
            goodbye = DeviceState(state=Presence.OFFLINE, ts_ms=int(time.time() * 1000))
            self.client.publish(self.topic(Channel.STATE), encode(goodbye), QOS_STATE, True)
            self.client.disconnect()
            self.loop.detach(self.client)
        else:
            sock = self.client.socket()
            self.loop.detach(self.client)
            if sock is not None:
                sock.close()

    def send_event(self, payload: bytes, event_id: str, qos: int = QOS_EVENT) -> None:
        now = time.monotonic()
        self.pending[event_id] = Pending(payload, now, now + RESEND_FIRST_S, 1, qos)
        self.client.publish(self.topic(Channel.EVENT), payload, qos)

    def freeze(self) -> None:
        """Hang: send nothing more while keeping the connection (no Will fires)."""
        self.frozen = True

    def thaw(self) -> None:
        self.frozen = False
        self.report_now()

    def restart(self) -> None:
        """Power back on after stop(): a new boot, connect, heartbeat again."""
        self._stopped = False
        self.frozen = False
        self._boot = secrets.token_hex(3)
        self._seq = 0
        self._started = time.monotonic()
        self.loop.attach(self.client)
        self.start()

    def extra_subscriptions(self) -> list[str]:
        """Topics beyond its own ack and cmd that a device type listens to."""
        return []

    def handle_other(self, topic: str, payload: bytes) -> None:
        """A message on one of extra_subscriptions()."""

    def handle_unmatched_ack(self, ack: EventAck) -> None:
        """An ack for an event no longer pending: usually a late ack for a resend that was
        already answered (ignore it); an app that stopped resending may want to know."""

    def connection_changed(self, connected: bool) -> None:
        """Called on the loop's thread after every connect and every loss of the broker."""

    def handle_command(self, command: Command) -> str | None:
        """Carry out a command; return an error text, or None when done. Types add theirs."""
        if command.name not in COMMANDS[self.device_type]:
            return f"unsupported command {command.name.value}"
        if command.name is CommandName.LOCATE:
            self.locating_until = time.monotonic() + int(command.args.get("seconds", 10))
            return None
        if command.name is CommandName.DISPLAY:
            self.display_text = str(command.args.get("text", ""))
            return None
        # REBOOT: answer first (the reply must leave before the connection goes), then restart.
        self.loop.call_later(0.2, self._reboot)
        return None

    def _reboot(self) -> None:
        self.client.disconnect()
        self._boot = secrets.token_hex(3)
        self._seq = 0
        self._started = time.monotonic()
        self.reboots += 1
        self.loop.call_later(RECONNECT_S, self._reconnect)

    def telemetry(self) -> Telemetry:
        self.battery_pct = max(0.0, self.battery_pct - random.uniform(0, 0.05))
        return Telemetry(
            ts_ms=int(time.time() * 1000),
            battery_pct=round(self.battery_pct, 1),
            rssi_dbm=random.randint(-80, -40),
            fw=self.firmware,
            uptime_s=int(time.monotonic() - self._started),
        )

    def report_now(self) -> None:
        """Send a heartbeat now (a state change worth telling), outside the schedule."""
        if self.connected and not self.frozen:
            self.last_report_at = time.time()
            self.client.publish(
                self.topic(Channel.TELEMETRY), encode(self.telemetry()), QOS_TELEMETRY
            )

    def _telemetry_tick(self) -> None:
        if self._stopped:
            return
        self.report_now()
        self.loop.call_later(self.telemetry_every_s, self._telemetry_tick)

    def _resend_tick(self) -> None:
        if self._stopped:
            return
        now = time.monotonic()
        if self.connected:
            for p in self.pending.values():
                if p.next_send <= now:
                    self.client.publish(self.topic(Channel.EVENT), p.payload, p.qos)
                    p.attempts += 1
                    delay = min(RESEND_FIRST_S * 2 ** (p.attempts - 1), self.resend_max_s)
                    p.next_send = now + delay
                    self.resent += 1
        self.loop.call_later(RESEND_FIRST_S / 2, self._resend_tick)

    def _command(self, raw: bytes) -> None:
        try:
            command = parse_payload(raw, Command)
        except WireError as err:
            log.warning("%s got a bad command: %s", self.id, err)
            return
        self.commands.append(command)
        error = self.handle_command(command)
        reply = CommandReply(
            id=command.id,
            status=ReplyStatus.ERROR if error else ReplyStatus.OK,
            error=error,
        )
        self.client.publish(self.topic(Channel.REPLY), encode(reply), QOS_REPLY)

    def _reconnect(self) -> None:
        if self._stopped or self.connected:
            return
        try:
            self.client.reconnect()
        except OSError:
            self.loop.call_later(RECONNECT_S, self._reconnect)

    def _connected(self, client: mqtt.Client, _ud: Any, _f: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            log.error("%s refused by the broker: %s", self.id, rc)
            return
        self.connected = True
        set_nodelay(client)
        client.subscribe(
            [(self.topic(Channel.ACK), QOS_ACK), (self.topic(Channel.CMD), QOS_CMD)]
            + [(t, QOS_ACK) for t in self.extra_subscriptions()]
        )
        client.publish(
            self.topic(Channel.STATE),
            encode(
                DeviceState(state=Presence.ONLINE, fw=self.firmware, ts_ms=int(time.time() * 1000))
            ),
            QOS_STATE,
            retain=True,
        )
        self.report_now()  # the first heartbeat goes with the birth message, as ESPHome does
        # Anything unacknowledged goes again now rather than at its next resend time.
        for p in self.pending.values():
            p.next_send = 0.0
        self.connection_changed(True)

    def _disconnected(self, _c: mqtt.Client, _ud: Any, _f: Any, _rc: Any, _p: Any) -> None:
        self.connected = False
        if not self._stopped:
            self.loop.call_later(RECONNECT_S, self._reconnect)
        self.connection_changed(False)

    def _message(self, _c: mqtt.Client, _ud: Any, msg: mqtt.MQTTMessage) -> None:
        if self.frozen:
            return
        if msg.topic.endswith("/" + Channel.CMD):
            self._command(bytes(msg.payload))
            return
        if not msg.topic.endswith("/" + Channel.ACK):
            self.handle_other(msg.topic, bytes(msg.payload))
            return
        if msg.topic.endswith("/" + Channel.ACK):
            try:
                ack = parse_payload(bytes(msg.payload), EventAck)
            except WireError as err:
                log.warning("%s got a bad ack: %s", self.id, err)
                return
            pending = self.pending.pop(ack.id, None)
            if pending is None:
                self.handle_unmatched_ack(ack)  # usually an ack for a resend already answered
                return
            if ack.status is AckStatus.OK:
                self.acked += 1
            else:
                self.rejected += 1
                log.warning("%s: the hub rejected event %s: %s", self.id, ack.id, ack.error)
            if self.on_ack is not None:
                self.on_ack(self, ack, time.monotonic() - pending.first_sent)

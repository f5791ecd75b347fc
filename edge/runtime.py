"""Everything the running hub holds, started and stopped in one place."""

import logging
import time
from typing import Any

from sqlalchemy.orm import sessionmaker

from edge.auth import RateLimiter, SessionSigner
from edge.calls.models import Call
from edge.calls.schemas import CallPublic
from edge.commands.models import DeviceCommand
from edge.commands.schemas import CommandPublic
from edge.config import Settings
from edge.db import Checkpointer, init_db, make_engine
from edge.devices import service as devices
from edge.devices.models import Alarm, Device
from edge.devices.schemas import AlarmPublic, DevicePublic
from edge.devices.service import DeviceChanges
from edge.ingest import Ingest, RejectCounter
from edge.inventory import load_inventory
from edge.live import LiveHub
from edge.mqtt import HubMqtt
from edge.orders.desk import OrderDesk
from edge.telemetry.sender import InfluxSender
from edge.uplink.config_pull import ConfigPuller
from edge.uplink.sender import CloudSender
from edge.writer import StoreWriter

log = logging.getLogger(__name__)


def devices_message(
    devices: list[tuple[Device, list[str]]],
    raised: list[Alarm] | None = None,
    cleared: list[Alarm] | None = None,
) -> dict[str, Any]:
    return {
        "type": "devices",
        "now": time.time(),
        "devices": [DevicePublic.of(d, alarms).model_dump() for d, alarms in devices],
        "raised": [AlarmPublic.of(a).model_dump() for a in raised or ()],
        "cleared": [AlarmPublic.of(a).model_dump() for a in cleared or ()],
    }


# A heartbeat changes only these; a big store sends a thousand a second, so the boards get
# them as rows of values once a second instead of whole device records.
SEEN_FIELDS = ("id", "last_seen", "battery_pct", "rssi_dbm", "uptime_s", "fw", "paper", "cover")


def seen_message(devices: list[Device]) -> dict[str, Any]:
    return {
        "type": "seen",
        "now": time.time(),
        "fields": list(SEEN_FIELDS),
        "rows": [
            [d.id, d.last_seen, d.battery_pct, d.rssi_dbm, d.uptime_s, d.fw, d.paper, d.cover]
            for d in devices
        ],
    }


def calls_message(calls: list[Call], event_ids: list[str] | None = None) -> dict[str, Any]:
    """The board's one update message: calls as they are now, and the presses behind them."""
    return {
        "type": "calls",
        "now": time.time(),
        "calls": [CallPublic.of(c).model_dump() for c in calls],
        "event_ids": event_ids or [],
    }


class HubRuntime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.inventory = load_inventory(settings.inventory_file)
        if self.inventory.store != settings.store_id:
            raise ValueError(
                f"inventory {settings.inventory_file} is for store {self.inventory.store!r}, "
                f"this hub is store {settings.store_id!r}"
            )
        # Writes take the lock when they begin (see make_engine); reads never wait for it.
        self.engine = make_engine(settings.db_path, for_writes=True)
        self.sessions = init_db(self.engine)
        self.read_engine = make_engine(settings.db_path)
        self.reads = sessionmaker(self.read_engine, expire_on_commit=False)
        self.checkpointer = Checkpointer(settings.db_path)
        with self.sessions.begin() as session:
            devices.sync_inventory(session, self.inventory)
        self.live = LiveHub()
        self.rejects = RejectCounter()
        self.signer = SessionSigner(settings.secret_key.get_secret_value())
        self.login_limiter = RateLimiter(settings.login_attempts_per_minute)
        self.staff = {k: v.get_secret_value() for k, v in settings.staff.items()}
        self.mqtt = HubMqtt(
            settings.store_id,
            settings.mqtt_host,
            settings.mqtt_port,
            settings.mqtt_username,
            settings.mqtt_password.get_secret_value(),
            self._on_mqtt,
        )
        self.writer = StoreWriter(settings, self.sessions, self.mqtt, self.rejects, self)
        self.influx = InfluxSender(
            self.sessions,
            settings.influx_url,
            settings.influx_token.get_secret_value(),
            settings.influx_org,
            settings.influx_bucket,
            settings.influx_batch_size,
            settings.influx_buffer_max_points,
        )

        self.cloud = CloudSender(
            self.sessions,
            settings.store_id,
            settings.cloud_url,
            settings.cloud_token.get_secret_value(),
            settings.cloud_batch_size,
        )
        self.diners = LiveHub()
        self.desk = OrderDesk(
            settings,
            self.inventory,
            self.sessions,
            self.live,
            self.diners,
            self.mqtt,
            self._spooler_devices,
            self.cloud.nudge,
        )
        self.config_puller = ConfigPuller(
            settings.cloud_url,
            settings.cloud_token.get_secret_value(),
            settings.config_poll_s,
            lambda: self.desk.config_version,
            self.desk.apply_config,
        )
        self.ingest = Ingest(
            settings.store_id,
            self.inventory,
            self.rejects,
            self.writer.submit,
            self.desk.submit_kiosk,
        )

    def _on_mqtt(self, topic: str, payload: bytes) -> None:
        self.ingest.handle(topic, payload)

    # The writer's Listener: what changed goes to every board.
    def calls_changed(self, calls: list[Call], event_ids: list[str] | None = None) -> None:
        self.live.publish(calls_message(calls, event_ids))
        self.cloud.nudge()

    def devices_changed(
        self, devices: list[tuple[Device, list[str]]], raised: list[Alarm], cleared: list[Alarm]
    ) -> None:
        self.live.publish(devices_message(devices, raised, cleared))

    def _spooler_devices(self, changes: DeviceChanges) -> None:
        urgent = [(d, sorted(changes.alarms.get(i, ()))) for i, d in changes.devices.items()]
        self.devices_changed(urgent, changes.raised, changes.cleared)
        self.cloud.nudge()

    def devices_seen(self, devices: list[Device]) -> None:
        self.live.publish(seen_message(devices))

    def commands_changed(self, commands: list[DeviceCommand]) -> None:
        self.live.publish(
            {"type": "commands", "commands": [CommandPublic.of(c).model_dump() for c in commands]}
        )

    def start(self) -> None:
        self.checkpointer.start()
        self.writer.start()
        self.influx.start()
        self.cloud.start()
        self.mqtt.start()
        self.desk.start()
        self.config_puller.start()
        log.info(
            "hub for store %s: %d devices, db %s",
            self.settings.store_id,
            len(self.inventory.devices),
            self.settings.db_path,
        )

    def stop(self) -> None:
        self.config_puller.stop()
        self.desk.stop()
        self.mqtt.stop()
        self.writer.stop()
        self.influx.stop()
        self.cloud.stop()
        self.engine.dispose()
        self.read_engine.dispose()
        self.checkpointer.stop()

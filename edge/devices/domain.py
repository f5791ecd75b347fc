"""The devices domain: presence, telemetry and alarms of every device in the inventory."""

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

from contract import DeviceState, parse_payload, telemetry_model
from contract.const import Channel, DeviceType
from contract.inventory import DeviceSpec
from edge.core.domain import AfterCommit, Domain, HubContext, MqttRoute
from edge.core.ingest import checked
from edge.devices import service
from edge.devices.alarms import LABELS, printer_view
from edge.devices.events import DevicesChanged
from edge.devices.models import Alarm, Device
from edge.devices.schemas import AlarmPublic, DevicePublic
from edge.devices.service import DeviceChanges, StateReport, TelemetryReport
from edge.telemetry import points
from edge.telemetry.buffer import buffer_points
from edge.uplink.events import FactsCommitted

# Routine telemetry (battery, rssi, last seen) reaches the boards at most this often;
# presence and alarm changes go at once.
DEVICE_FLUSH_S = 1.0
# A heartbeat changes only these; a big store sends a thousand a second, so the boards get
# them as rows of values once a second instead of whole device records.
SEEN_FIELDS = ("id", "last_seen", "battery_pct", "rssi_dbm", "uptime_s", "fw", "paper", "cover")
ALL_TYPES = frozenset(DeviceType)


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


def seen_message(devices: list[Device]) -> dict[str, Any]:
    return {
        "type": "seen",
        "now": time.time(),
        "fields": list(SEEN_FIELDS),
        "rows": [
            [d.id, d.last_seen, d.battery_pct, d.rssi_dbm, d.uptime_s, d.fw, p.paper, p.cover]
            for d, p in ((d, printer_view(d)) for d in devices)
        ],
    }


def parse_state(device: DeviceSpec, payload: bytes, now: float) -> StateReport | None:
    if not payload:  # a retained state being cleared
        return None
    return StateReport(device, checked(device, parse_payload(payload, DeviceState)), now)


def parse_telemetry(device: DeviceSpec, payload: bytes, now: float) -> TelemetryReport:
    telemetry = parse_payload(payload, telemetry_model(device.type))
    return TelemetryReport(device, checked(device, telemetry), now)


@dataclass
class _Pending:
    """Device rows with routine changes (a heartbeat) since the last flush."""

    devices: dict[str, Device] = field(default_factory=dict)
    next_flush: float = 0.0


class DevicesDomain(Domain):
    name = "devices"
    writes = (StateReport, TelemetryReport)
    routine = (StateReport, TelemetryReport)

    def __init__(self, hub: HubContext) -> None:
        super().__init__(hub)
        with hub.sessions.begin() as session:
            service.sync_inventory(session, hub.inventory)
        self._routine = _Pending()
        hub.bus.subscribe(DevicesChanged, self._changed_elsewhere)

    @classmethod
    def router(cls) -> APIRouter:
        from edge.devices.routes import router

        return router

    def mqtt_routes(self) -> Sequence[MqttRoute]:
        return (
            MqttRoute(Channel.STATE, ALL_TYPES, parse_state),
            MqttRoute(Channel.TELEMETRY, ALL_TYPES, parse_telemetry),
        )

    def write(self, session: Session, items: list[Any], now: float) -> AfterCommit | None:
        s = self.hub.settings
        changes = service.apply_reports(session, items, s.battery_low_pct)
        buffer_points(
            session,
            [
                points.device_telemetry(self.hub.store, r.device, r.telemetry, r.received_at)
                for r in items
                if isinstance(r, TelemetryReport)
            ],
        )
        return self._record(session, changes, now)

    def tick(self, session: Session, now: float) -> AfterCommit | None:
        s = self.hub.settings
        silent = service.mark_silent(
            session, now, s.device_silent_after_s, s.sleepy_silent_after_s, s.battery_low_pct
        )
        return self._record(session, silent, now)

    def _record(self, session: Session, changes: DeviceChanges, now: float) -> AfterCommit:
        store = self.hub.store
        buffer_points(
            session,
            [points.device_alarm(store, a, True) for a in changes.raised]
            + [points.device_alarm(store, a, False) for a in changes.cleared],
        )
        return lambda: self._tell(changes, now)

    def _tell(self, changes: DeviceChanges, now: float) -> None:
        routine = self._routine
        urgent = []
        for device_id, row in changes.devices.items():
            entry = (row, sorted(changes.alarms.get(device_id, ())))
            if device_id in changes.urgent:
                urgent.append(entry)
                routine.devices.pop(device_id, None)
            else:
                routine.devices[device_id] = row
        if urgent or changes.raised or changes.cleared:
            self.hub.board.publish(devices_message(urgent, changes.raised, changes.cleared))
            self.hub.bus.publish(FactsCommitted())  # alarms go to HQ
        if routine.devices and now >= routine.next_flush:
            routine.next_flush = now + DEVICE_FLUSH_S
            self.hub.board.publish(seen_message(list(routine.devices.values())))
            routine.devices = {}

    def _changed_elsewhere(self, event: DevicesChanged) -> None:
        changes = event.changes
        urgent = [(d, sorted(changes.alarms.get(i, ()))) for i, d in changes.devices.items()]
        self.hub.board.publish(devices_message(urgent, changes.raised, changes.cleared))
        self.hub.bus.publish(FactsCommitted())

    def snapshot(self, session: Session) -> dict[str, Any]:
        return {
            "devices": devices_message(service.devices_with_alarms(session))["devices"],
            "alarm_labels": {kind.value: label for kind, label in LABELS.items()},
        }

"""Presence and telemetry. Functions take an open Session; the caller commits."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from edge.devices.models import Device
from edge.inventory import DeviceSpec, Inventory
from smartstore.wire import DeviceState, Telemetry


@dataclass(frozen=True, slots=True)
class StateReport:
    device: DeviceSpec
    state: DeviceState
    received_at: float


@dataclass(frozen=True, slots=True)
class TelemetryReport:
    device: DeviceSpec
    telemetry: Telemetry
    received_at: float


def sync_inventory(session: Session, inventory: Inventory) -> None:
    """Make the devices table list what the inventory lists, keeping what was observed."""
    known = {d.id: d for d in session.scalars(select(Device))}
    for spec in inventory.devices:
        row = known.pop(spec.id, None)
        if row is None:
            row = Device(id=spec.id)
            session.add(row)
        row.type = spec.type.value
        row.zone = spec.zone
        row.table_name = spec.table
    for gone in known.values():
        session.delete(gone)


def apply_state(session: Session, report: StateReport) -> None:
    row = session.get(Device, report.device.id)
    if row is None:
        return
    row.state = report.state.state.value
    row.state_at = report.received_at
    row.last_seen = report.received_at
    if report.state.fw:
        row.fw = report.state.fw


def apply_telemetry(session: Session, report: TelemetryReport) -> None:
    row = session.get(Device, report.device.id)
    if row is None:
        return
    t = report.telemetry
    row.last_seen = report.received_at
    row.battery_pct = t.battery_pct if t.battery_pct is not None else row.battery_pct
    row.rssi_dbm = t.rssi_dbm if t.rssi_dbm is not None else row.rssi_dbm
    row.fw = t.fw or row.fw
    row.uptime_s = t.uptime_s if t.uptime_s is not None else row.uptime_s


def list_devices(session: Session) -> list[Device]:
    return list(session.scalars(select(Device).order_by(Device.type, Device.zone, Device.id)))

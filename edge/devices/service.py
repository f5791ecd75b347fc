"""Presence, telemetry and alarms. Functions take an open Session; the caller commits."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from contract import DeviceState, PrinterTelemetry, Telemetry
from contract.const import DeviceType, Presence
from contract.inventory import DeviceSpec, Inventory
from contract.printer_status import PrinterStatus
from contract.uplink import DeviceAlarm, DeviceAlarmEvent
from edge.devices.alarms import ASLEEP, AlarmKind, wanted_alarms
from edge.devices.models import Alarm, Device
from edge.uplink import service as outbox

REASON_WILL = "will"  # the broker published the device's Last Will: the connection broke
REASON_GOODBYE = "goodbye"  # the device said it was going offline
REASON_SILENT = "silent"  # no heartbeat for longer than the configured time

# Device types that deep-sleep on battery and disconnect between wake-ups.
SLEEPY_TYPES = frozenset({DeviceType.CALL_BUTTON.value})


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


@dataclass(slots=True)
class DeviceChanges:
    """What a batch changed. `urgent` devices changed presence or alarms: show them now."""

    devices: dict[str, Device] = field(default_factory=dict)
    urgent: set[str] = field(default_factory=set)
    raised: list[Alarm] = field(default_factory=list)
    cleared: list[Alarm] = field(default_factory=list)
    alarms: dict[str, set[str]] = field(default_factory=dict)  # device -> active alarm kinds

    def __bool__(self) -> bool:
        return bool(self.devices)


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
        row.station = spec.station
    for gone in known.values():
        session.delete(gone)


def apply_reports(
    session: Session,
    reports: Sequence[StateReport | TelemetryReport],
    battery_low_pct: float,
) -> DeviceChanges:
    changes = DeviceChanges()
    if not reports:
        return changes
    ids = {r.device.id for r in reports}
    rows = {d.id: d for d in session.scalars(select(Device).where(Device.id.in_(ids)))}
    for report in reports:
        row = rows.get(report.device.id)
        if row is None:
            continue
        before = row.state
        if isinstance(report, StateReport):
            _apply_state(row, report)
        else:
            _apply_telemetry(row, report)
        changes.devices[row.id] = row
        if row.state != before:
            changes.urgent.add(row.id)
    _reconcile(session, changes, battery_low_pct, now=max(r.received_at for r in reports))
    return changes


def mark_silent(
    session: Session,
    now: float,
    silent_after_s: float,
    sleepy_silent_after_s: float,
    battery_low_pct: float,
) -> DeviceChanges:
    """Devices not heard from for long enough go offline: mains-powered ones after
    `silent_after_s`, sleeping battery ones (awake or asleep) after `sleepy_silent_after_s`."""
    changes = DeviceChanges()
    awake = Device.type.not_in(SLEEPY_TYPES)
    stale = or_(
        and_(awake, Device.state == Presence.ONLINE, Device.last_seen < now - silent_after_s),
        and_(
            ~awake,
            Device.state.in_([Presence.ONLINE.value, ASLEEP]),
            Device.last_seen < now - sleepy_silent_after_s,
        ),
    )
    for row in session.scalars(select(Device).where(stale)):
        row.state = Presence.OFFLINE.value
        row.state_reason = REASON_SILENT
        row.state_at = now
        changes.devices[row.id] = row
        changes.urgent.add(row.id)
    _reconcile(session, changes, battery_low_pct, now)
    return changes


def set_print_error(
    session: Session, device_id: str, error: str | None, battery_low_pct: float, now: float
) -> DeviceChanges:
    """The spooler's view of a printer: reachable (None) or why not. Raises or clears the
    printer's alarm; a change only when the answer changes."""
    changes = DeviceChanges()
    row = session.get(Device, device_id)
    if row is None or (row.print_error is None) == (error is None):
        return changes
    row.print_error = error[:200] if error else None
    changes.devices[row.id] = row
    _reconcile(session, changes, battery_low_pct, now)
    return changes


def read_printer(
    session: Session,
    device_id: str,
    answer: PrinterStatus | None,
    reachable: bool,
    battery_low_pct: float,
    now: float,
    print_error: str | None = None,
) -> DeviceChanges:
    """What the print spooler (edge/printing) found asking the printer itself: its `answer`;
    or None with `reachable`: it took the connection and did not answer (unknown: only an
    earlier "refused" is over); or None, not reachable: its port refused (powered off). And
    the spooler's `print_error` (None: tickets go out). Raises or clears the printer's alarms;
    a change only when something changed."""
    changes = DeviceChanges()
    row = session.get(Device, device_id)
    if row is None:
        return changes
    new: tuple[str | None, str | None, bool | None]
    if answer is not None:
        # Offline because of its paper or cover is said by those: "offline" is for the rest.
        new = (answer.paper.value, answer.cover.value, not answer.fault)
    elif reachable:
        online = None if row.status_online is False else row.status_online
        new = (row.status_paper, row.status_cover, online)
    else:
        new = (None, None, False)  # off: nothing else can be known
    error = print_error[:200] if print_error else None
    if new == (row.status_paper, row.status_cover, row.status_online) and error == row.print_error:
        return changes
    row.status_paper, row.status_cover, row.status_online = new
    row.print_error = error
    changes.devices[row.id] = row
    _reconcile(session, changes, battery_low_pct, now)
    return changes


def _apply_state(row: Device, report: StateReport) -> None:
    state = report.state
    row.last_seen = report.received_at
    if state.fw:
        row.fw = state.fw
    new_state = state.state.value
    if state.state is Presence.OFFLINE and row.type in SLEEPY_TYPES:
        # Its goodbye before deep sleep and its Will read the same; silence tells them apart.
        new_state = ASLEEP
    if new_state == row.state:
        return
    row.state = new_state
    row.state_at = report.received_at
    if new_state == Presence.OFFLINE:
        # The Will carries no timestamp; a goodbye the device sent itself does.
        row.state_reason = REASON_GOODBYE if state.ts_ms else REASON_WILL
    else:
        row.state_reason = ""


def _apply_telemetry(row: Device, report: TelemetryReport) -> None:
    t = report.telemetry
    row.last_seen = report.received_at
    if row.state != Presence.ONLINE:
        # A heartbeat is proof of life, whatever was last said about the device.
        row.state = Presence.ONLINE.value
        row.state_reason = ""
        row.state_at = report.received_at
    if t.battery_pct is not None:
        row.battery_pct = t.battery_pct
    if t.rssi_dbm is not None:
        row.rssi_dbm = t.rssi_dbm
    if t.fw:
        row.fw = t.fw
    if t.uptime_s is not None:
        row.uptime_s = t.uptime_s
    if isinstance(t, PrinterTelemetry):
        row.paper = t.paper.value if t.paper else row.paper
        row.cover = t.cover.value if t.cover else row.cover
        if t.printer_online is not None:
            row.printer_online = t.printer_online


def _reconcile(
    session: Session, changes: DeviceChanges, battery_low_pct: float, now: float
) -> None:
    if not changes.devices:
        return
    active: dict[str, dict[str, Alarm]] = {}
    for alarm in active_alarms(session, changes.devices):
        active.setdefault(alarm.device_id, {})[alarm.kind] = alarm
    for row in changes.devices.values():
        have = active.get(row.id, {})
        want = {k.value for k in wanted_alarms(row, battery_low_pct)}
        for kind in want - have.keys():
            alarm = Alarm(device_id=row.id, kind=kind, raised_at=now)
            session.add(alarm)
            changes.raised.append(alarm)
            changes.urgent.add(row.id)
        for kind in have.keys() - want:
            have[kind].cleared_at = now
            changes.cleared.append(have[kind])
            changes.urgent.add(row.id)
        changes.alarms[row.id] = want
    if changes.raised:
        session.flush()  # new alarms get their ids, which their InfluxDB points carry
    # HQ's fleet view: every alarm raised and cleared, with the device it concerns.
    outbox.enqueue(
        session,
        [_alarm_event(a, changes.devices[a.device_id], True) for a in changes.raised]
        + [_alarm_event(a, changes.devices[a.device_id], False) for a in changes.cleared],
    )


def _alarm_event(alarm: Alarm, device: Device, raised: bool) -> DeviceAlarmEvent:
    at = alarm.raised_at if raised else (alarm.cleared_at or alarm.raised_at)
    data = DeviceAlarm(
        alarm=alarm.uid,
        device=device.id,
        device_type=device.type,
        zone=device.zone,
        kind=alarm.kind,
        active=raised,
        raised_at=alarm.raised_at,
    )
    event_id = f"da-{alarm.uid}-{'raised' if raised else 'cleared'}"
    return DeviceAlarmEvent(id=event_id, occurred_at=at, data=data)


def active_alarms(session: Session, device_ids: Iterable[str] | None = None) -> list[Alarm]:
    query = select(Alarm).where(Alarm.cleared_at.is_(None))
    if device_ids is not None:
        query = query.where(Alarm.device_id.in_(list(device_ids)))
    return list(session.scalars(query.order_by(Alarm.raised_at)))


def list_devices(session: Session) -> list[Device]:
    return list(session.scalars(select(Device).order_by(Device.type, Device.zone, Device.id)))


def devices_with_alarms(session: Session) -> list[tuple[Device, list[str]]]:
    """Every device with the kinds of its open alarms, as the boards and the API show them."""
    active: dict[str, list[str]] = {}
    for alarm in active_alarms(session):
        active.setdefault(alarm.device_id, []).append(alarm.kind)
    return [(d, active.get(d.id, [])) for d in list_devices(session)]


__all__ = [
    "AlarmKind",
    "DeviceChanges",
    "StateReport",
    "TelemetryReport",
    "active_alarms",
    "apply_reports",
    "devices_with_alarms",
    "list_devices",
    "mark_silent",
    "read_printer",
    "set_print_error",
    "sync_inventory",
]

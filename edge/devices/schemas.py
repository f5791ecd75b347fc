from pydantic import BaseModel

from edge.devices.alarms import LABELS, AlarmKind, printer_view
from edge.devices.models import Alarm, Device


class AlarmPublic(BaseModel):
    id: int
    device: str
    kind: str
    label: str
    raised_at: float
    cleared_at: float | None

    @classmethod
    def of(cls, a: Alarm) -> "AlarmPublic":
        return cls(
            id=a.id,
            device=a.device_id,
            kind=a.kind,
            label=LABELS.get(AlarmKind(a.kind), a.kind),
            raised_at=a.raised_at,
            cleared_at=a.cleared_at,
        )


class DevicePublic(BaseModel):
    id: str
    type: str
    zone: str
    table: str
    station: str
    state: str
    state_reason: str
    state_at: float | None
    last_seen: float | None
    battery_pct: float | None
    rssi_dbm: int | None
    fw: str | None
    uptime_s: int | None
    paper: str | None
    cover: str | None
    printer_online: bool | None
    alarms: list[str]

    @classmethod
    def of(cls, d: Device, alarms: list[str]) -> "DevicePublic":
        # A printer's paper, cover and link: the worse of its bridge's report and its own
        # answer to the hub.
        printer = printer_view(d)
        return cls(
            id=d.id,
            type=d.type,
            zone=d.zone,
            table=d.table_name,
            station=d.station,
            state=d.state,
            state_reason=d.state_reason,
            state_at=d.state_at,
            last_seen=d.last_seen,
            battery_pct=d.battery_pct,
            rssi_dbm=d.rssi_dbm,
            fw=d.fw,
            uptime_s=d.uptime_s,
            paper=printer.paper,
            cover=printer.cover,
            printer_online=printer.online,
            alarms=sorted(alarms),
        )

from pydantic import BaseModel

from edge.devices.models import Device


class DevicePublic(BaseModel):
    id: str
    type: str
    zone: str
    table: str
    state: str
    last_seen: float | None
    battery_pct: float | None
    rssi_dbm: int | None
    fw: str | None
    uptime_s: int | None

    @classmethod
    def of(cls, d: Device) -> "DevicePublic":
        return cls(
            id=d.id,
            type=d.type,
            zone=d.zone,
            table=d.table_name,
            state=d.state,
            last_seen=d.last_seen,
            battery_pct=d.battery_pct,
            rssi_dbm=d.rssi_dbm,
            fw=d.fw,
            uptime_s=d.uptime_s,
        )

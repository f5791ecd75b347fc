"""Line-protocol points, one function per measurement (docs/influxdb-schema.md).

Every point carries an explicit timestamp taken when the fact happened, so a point sent twice
(after a timeout whose write did land) overwrites itself in InfluxDB instead of doubling.
"""

from typing import Final

from influxdb_client.client.write.point import Point
from influxdb_client.domain.write_precision import WritePrecision

from contract import PrinterTelemetry, Telemetry
from contract.inventory import DeviceSpec
from edge.calls.models import Call
from edge.devices.models import Alarm

M_DEVICE_TELEMETRY: Final = "device_telemetry"
M_CALLS: Final = "calls"
M_CALL_RESPONSES: Final = "call_responses"
M_HUB_INGEST: Final = "hub_ingest"
M_DEVICE_ALARMS: Final = "device_alarms"


def _ns(epoch_s: float) -> int:
    return round(epoch_s * 1_000_000) * 1000


def device_telemetry(store: str, device: DeviceSpec, t: Telemetry, received_at: float) -> str:
    p = (
        Point(M_DEVICE_TELEMETRY)
        .tag("store", store)
        .tag("device", device.id)
        .tag("type", device.type.value)
        .tag("zone", device.zone or "-")
        .time(_ns(received_at), WritePrecision.NS)
    )
    if t.battery_pct is not None:
        p.field("battery_pct", float(t.battery_pct))
    if t.rssi_dbm is not None:
        p.field("rssi_dbm", int(t.rssi_dbm))
    if t.uptime_s is not None:
        p.field("uptime_s", int(t.uptime_s))
    if t.fw is not None:
        p.field("fw", t.fw)
    if isinstance(t, PrinterTelemetry):
        if t.paper is not None:
            p.field("paper", t.paper.value)
        if t.cover is not None:
            p.field("cover", t.cover.value)
        if t.printer_online is not None:
            p.field("printer_online", t.printer_online)
    p.field("seen", 1)
    return str(p.to_line_protocol())


def call_opened(store: str, call: Call) -> str:
    return str(
        Point(M_CALLS)
        .tag("store", store)
        .tag("device", call.device_id)
        .tag("zone", call.zone or "-")
        .tag("reason", call.reason)
        .field("count", 1)
        .field("call_id", call.id)
        .time(_ns(call.created_at), WritePrecision.NS)
        .to_line_protocol()
    )


def call_answered(store: str, call: Call) -> str:
    assert call.acked_at is not None and call.response_s is not None
    return str(
        Point(M_CALL_RESPONSES)
        .tag("store", store)
        .tag("device", call.device_id)
        .tag("zone", call.zone or "-")
        .tag("urgent", "true" if call.urgent_at else "false")
        .field("response_s", float(call.response_s))
        .field("staff", call.acked_by or "")
        .field("call_id", call.id)
        .time(_ns(call.acked_at), WritePrecision.NS)
        .to_line_protocol()
    )


def device_alarm(store: str, alarm: Alarm, raised: bool) -> str:
    at = alarm.raised_at if raised else (alarm.cleared_at or alarm.raised_at)
    return str(
        Point(M_DEVICE_ALARMS)
        .tag("store", store)
        .tag("device", alarm.device_id)
        .tag("kind", alarm.kind)
        .field("active", 1 if raised else 0)
        .field("alarm_id", alarm.id)
        .time(_ns(at), WritePrecision.NS)
        .to_line_protocol()
    )


def hub_ingest(store: str, reason: str, count: int, at: float) -> str:
    return str(
        Point(M_HUB_INGEST)
        .tag("store", store)
        .tag("reason", reason)
        .field("rejected", count)
        .time(_ns(at), WritePrecision.NS)
        .to_line_protocol()
    )

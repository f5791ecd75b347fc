"""Which alarms a device's state calls for. Pure functions: the service persists the diff."""

from enum import StrEnum

from contract.const import CoverState, PaperLevel, Presence
from edge.devices.models import Device

# A battery device between wake-ups (edge.devices.service): its last report still stands, so
# its battery alarm stays up while it sleeps instead of clearing and coming back every wake.
ASLEEP = "asleep"


class AlarmKind(StrEnum):
    OFFLINE = "offline"
    BATTERY_LOW = "battery_low"
    PAPER_OUT = "paper_out"
    PAPER_LOW = "paper_low"
    COVER_OPEN = "cover_open"
    PRINTER_OFFLINE = "printer_offline"
    PRINT_FAILED = "print_failed"


# What staff read on the board for each alarm.
LABELS: dict[AlarmKind, str] = {
    AlarmKind.OFFLINE: "离线 Offline",
    AlarmKind.BATTERY_LOW: "电量低 Battery low",
    AlarmKind.PAPER_OUT: "缺纸 Paper out",
    AlarmKind.PAPER_LOW: "纸将用完 Paper low",
    AlarmKind.COVER_OPEN: "打印机盖未关 Cover open",
    AlarmKind.PRINTER_OFFLINE: "打印机离线 Printer offline",
    AlarmKind.PRINT_FAILED: "打印机连不上，小票排队中 Printer unreachable, tickets waiting",
}


def wanted_alarms(device: Device, battery_low_pct: float) -> set[AlarmKind]:
    # The spooler's own finding stands whatever the bridge says: tickets are waiting.
    spooler = {AlarmKind.PRINT_FAILED} if device.print_error else set()
    return spooler | _device_alarms(device, battery_low_pct)


def _device_alarms(device: Device, battery_low_pct: float) -> set[AlarmKind]:
    if device.state == Presence.OFFLINE:
        # What an offline device last said about itself is stale: one alarm says it all.
        return {AlarmKind.OFFLINE}
    if device.state not in (Presence.ONLINE, ASLEEP):
        return set()  # never heard from yet: nothing to say
    kinds = set()
    if device.battery_pct is not None and device.battery_pct < battery_low_pct:
        kinds.add(AlarmKind.BATTERY_LOW)
    if device.paper == PaperLevel.OUT:
        kinds.add(AlarmKind.PAPER_OUT)
    elif device.paper == PaperLevel.LOW:
        kinds.add(AlarmKind.PAPER_LOW)
    if device.cover == CoverState.OPEN:
        kinds.add(AlarmKind.COVER_OPEN)
    if device.printer_online is False:
        kinds.add(AlarmKind.PRINTER_OFFLINE)
    return kinds

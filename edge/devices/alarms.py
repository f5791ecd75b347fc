"""Which alarms a device's state calls for. Pure functions: the service persists the diff."""

from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class PrinterView:
    """What is known of a printer: for each of paper, cover and online, the worse of its
    bridge's last report and the printer's own last answer to the hub (edge/printing)."""

    paper: str | None
    cover: str | None
    online: bool | None


_PAPER_RANK = {PaperLevel.OK.value: 1, PaperLevel.LOW.value: 2, PaperLevel.OUT.value: 3}


def printer_view(device: Device, bridge: bool = True) -> PrinterView:
    """`bridge=False` leaves out what the bridge reported (stale once it went offline)."""
    papers = [device.status_paper] + ([device.paper] if bridge else [])
    covers = [device.status_cover] + ([device.cover] if bridge else [])
    onlines = [device.status_online] + ([device.printer_online] if bridge else [])
    paper = max(papers, key=lambda p: _PAPER_RANK.get(p or "", 0))
    cover = next((c for c in (CoverState.OPEN, CoverState.CLOSED) if c in covers), None)
    online = False if False in onlines else True if True in onlines else None
    return PrinterView(paper, None if cover is None else cover.value, online)


def wanted_alarms(device: Device, battery_low_pct: float) -> set[AlarmKind]:
    # The spooler's own finding stands whatever the bridge says: tickets are waiting.
    if device.print_error:
        # It says "unreachable" and more (tickets wait): one alarm for one fact.
        return {AlarmKind.PRINT_FAILED} | (
            _device_alarms(device, battery_low_pct) - {AlarmKind.PRINTER_OFFLINE}
        )
    return _device_alarms(device, battery_low_pct)


def _device_alarms(device: Device, battery_low_pct: float) -> set[AlarmKind]:
    kinds = set()
    if device.state == Presence.OFFLINE:
        # What an offline device last said about itself is stale: one alarm says it all...
        kinds.add(AlarmKind.OFFLINE)
        bridge = False
    elif device.state in (Presence.ONLINE, ASLEEP):
        bridge = True
        if device.battery_pct is not None and device.battery_pct < battery_low_pct:
            kinds.add(AlarmKind.BATTERY_LOW)
    else:
        bridge = False  # never heard from on MQTT (a network printer has no bridge)
    # ... except what the hub reads from a printer itself, which is never stale.
    printer = printer_view(device, bridge)
    if printer.paper == PaperLevel.OUT:
        kinds.add(AlarmKind.PAPER_OUT)
    elif printer.paper == PaperLevel.LOW:
        kinds.add(AlarmKind.PAPER_LOW)
    if printer.cover == CoverState.OPEN:
        kinds.add(AlarmKind.COVER_OPEN)
    if printer.online is False:
        kinds.add(AlarmKind.PRINTER_OFFLINE)
    return kinds

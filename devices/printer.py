"""A printer bridge on MQTT: a small computer beside an ESC/POS printer that reports the
printer's paper, cover and link along with its own heartbeat. The simulator here makes them
up (`wander`); the real bridge (devices/print_bridge.py) reads them from the printer."""

import random
from typing import ClassVar

from contract import DeviceType, PrinterTelemetry, Telemetry
from contract.const import CoverState, PaperLevel
from devices.base import SimDevice


class PrinterBridge(SimDevice):
    device_type: ClassVar[DeviceType] = DeviceType.PRINTER

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # None: not known (a printer bridge that cannot read its printer leaves them out).
        self.paper: PaperLevel | None = PaperLevel.OK
        self.cover: CoverState | None = CoverState.CLOSED
        self.printer_online: bool | None = True

    def set_printer(
        self,
        paper: PaperLevel | None = None,
        cover: CoverState | None = None,
        online: bool | None = None,
        report_now: bool = True,
    ) -> None:
        """Must run on the loop's thread: change the printer and (by default) say so at once,
        as a real bridge does when the printer's status byte changes."""
        self.paper = paper or self.paper
        self.cover = cover or self.cover
        self.printer_online = self.printer_online if online is None else online
        if report_now:
            self.report_now()

    def printer_changed(
        self, paper: PaperLevel | None, cover: CoverState | None, online: bool | None
    ) -> None:
        """Must run on the loop's thread: what is now known of the printer (None: unknown),
        told at once when it changed."""
        if (paper, cover, online) == (self.paper, self.cover, self.printer_online):
            return
        self.paper, self.cover, self.printer_online = paper, cover, online
        self.report_now()

    def telemetry(self) -> Telemetry:
        base = super().telemetry()
        return PrinterTelemetry(
            **base.model_dump(exclude={"battery_pct"}),  # mains powered
            paper=self.paper,
            cover=self.cover,
            printer_online=self.printer_online,
        )

    def wander(self) -> None:
        """For the demo: paper runs low now and then, and staff refill it."""
        if self.paper is PaperLevel.OK and random.random() < 0.05:
            self.set_printer(paper=PaperLevel.LOW)
        elif self.paper is PaperLevel.LOW and random.random() < 0.3:
            self.set_printer(paper=random.choice([PaperLevel.OUT, PaperLevel.OK]))
        elif self.paper is PaperLevel.OUT and random.random() < 0.3:
            self.set_printer(paper=PaperLevel.OK)
